"""A function's process killed mid-invocation, as Lambda loses an execution environment (out of
memory, a crashed host). The invoking thread sees the worker die and reports a failed invocation
(`Runtime.ExitError`): an SQS poller then deletes nothing, so the batch comes back after the
visibility timeout; the API front answers 502 as API Gateway does.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from collections.abc import Callable, Iterable

from ..invoker import FunctionPool
from .rates import Counts


def busy_pids(pools: Iterable[FunctionPool]) -> list[tuple[str, int]]:
    """(function name, worker pid) of every environment invoking right now."""
    found = []
    for pool in pools:
        for env in pool.environments:
            pid = env.pid
            if env.busy and pid is not None:
                found.append((env.spec.name, pid))
    return found


def kill_process_group(pid: int) -> None:
    """SIGKILL the worker and what it started (each worker leads its own process group)."""
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


class Killer:
    """Kills one busy environment of the functions `pools()` returns, at each :meth:`__call__`."""

    def __init__(
        self,
        pools: Callable[[], Iterable[FunctionPool]],
        kind: str,
        counts: Counts,
        *,
        rng: random.Random | None = None,
        kill: Callable[[int], None] = kill_process_group,
        patience_s: float = 0.0,
    ) -> None:
        self._pools, self.kind, self.counts = pools, kind, counts
        self._rng = rng or random.Random()
        self._kill = kill
        self._patience_s = patience_s  # how long to wait for an environment to be busy

    def __call__(self) -> bool:
        """Kill one busy environment, waiting up to `patience_s` for one; True if one was killed."""
        deadline = time.monotonic() + self._patience_s
        candidates = busy_pids(self._pools())
        while not candidates and time.monotonic() < deadline:
            time.sleep(0.02)  # invocations are short: look again soon
            candidates = busy_pids(self._pools())
        if not candidates:
            return False
        name, pid = self._rng.choice(candidates)
        self._kill(pid)
        self.counts.add(self.kind, name.rsplit("-", 1)[-1])
        return True
