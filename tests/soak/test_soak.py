"""The 200-upload soak (`make soak ARGS="--uploads 200"`), with faults of every kind, must end with a
clean ledger: nothing lost or duplicated, every upload announced once, no queue holding a message and
each DLQ holding exactly its poison.

It runs as `python -m soak` in a process of its own: a local cloud of its own, and moto's state (one
per process) shared with no other test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(1200)
def test_a_200_upload_soak_under_faults_keeps_an_exact_ledger(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "scripts"), str(ROOT / "shared")])}
    log = tmp_path / "soak.log"
    command = [
        sys.executable,
        "-m",
        "soak",
        "--uploads",
        "200",
        "--concurrency",
        "8",
        "--seed",
        "7",
        "--api-kill-every",
        "4",  # the uploads are sent within a minute: kill API workers while they are
        "--json",
        "--log",
        str(log),
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1100)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0, f"{figures['problems']}\n{done.stdout}\nlog: {log}"
    assert figures["uploads"] == 200 and figures["lost"] == 0
    assert figures["duplicate_records"] == figures["duplicate_thumbnails"] == 0
    assert figures["missing_emails"] == figures["duplicate_emails"] == 0 and figures["emails"] == 200
    assert figures["dlq_messages"] == {"validate": 1, "thumbnail": 1, "index": 1, "notify": 1}
    assert sum(figures["final"].values()) == 200 and set(figures["final"]) <= {"ready", "rejected"}
    # Faults of each kind were injected (the periodic ones need the run to last; at least some did).
    faults = figures["faults"]
    assert faults["poison"] == 4
    for kind in ("throttle", "server_error", "connection_reset", "duplicate_s3_event", "stage_delay"):
        assert faults[kind] > 0, kind
