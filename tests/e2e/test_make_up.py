"""`make up` (`python -m demo up`) as a process of its own, on its own ports (4566, 3000, 3001): it starts
while DescribeStacks is read throughout, and stops on SIGTERM and on Ctrl-C (SIGINT), every time.

The session's local cloud (conftest) runs on free ports; these tests skip if `make up`'s ports are
taken (a developer's `make up`).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo import cycle
from localcloud.server import HOST, PORT, port_free

pytestmark = pytest.mark.e2e

# Generous: each bounds a wait for an event, not how fast it is (a start takes ~10 s on 2 cores).
START_TIMEOUT_S = 300
STOP_TIMEOUT_S = 60


@pytest.fixture(autouse=True)
def make_up_ports() -> Iterator[None]:
    if not cycle.ports_free(5):
        pytest.skip(f"ports {cycle.PORTS} are in use (a running `make up`?)")
    yield


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def test_starts_while_describe_stacks_is_polled_and_stops_on_either_signal(tmp_path: Path) -> None:
    """Three cycles (SIGTERM, SIGINT, SIGTERM): each comes up with exactly the root and its nested
    stacks, all complete, one KMS key, no blank resource row; each exits 0 and frees the ports."""
    log = tmp_path / "up.log"
    with log.open("w") as out:
        results = cycle.run(3, out, start_timeout_s=START_TIMEOUT_S, stop_timeout_s=STOP_TIMEOUT_S)

    assert [r.signal for r in results] == ["SIGTERM", "SIGINT", "SIGTERM"]
    for result in results:
        assert result.polls > 0, "the poller never reached the emulator"
        assert result.ok, f"{result}\n{tail(log)}"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_it_deploys_stops_it(signum: signal.Signals, tmp_path: Path) -> None:
    log = tmp_path / "up.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "demo", "up"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=cycle.environment(),
        )
        try:
            # The emulator listens first; the stack deploys into it for several seconds after.
            deadline = time.monotonic() + START_TIMEOUT_S
            while port_free(HOST, PORT) and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            assert process.poll() is None, tail(log)
            process.send_signal(signum)
            code = process.wait(STOP_TIMEOUT_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    assert code == 0, tail(log)
    assert "Ctrl-C stops it." not in log.read_text()  # stopped during the start, not after it
    assert cycle.ports_free(10), f"ports still held after {signum.name}"
