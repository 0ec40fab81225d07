"""An event source mapping's poller restarted: stopped (running invocations get a few seconds, then
their environments are closed; messages it held come back after the visibility timeout), then a new
poller for the same mapping started, as Lambda's pollers come and go."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Protocol

from .rates import POLLER_RESTART, Counts


class Poller(Protocol):
    @property
    def name(self) -> str: ...
    def start(self) -> None: ...
    def stop(self, timeout: float = ...) -> None: ...


class PollerRestarts:
    """Restarts one poller of `pollers` (a list it updates in place) at each :meth:`__call__`.

    `replace(old)` makes the new poller; the old one is stopped first, because stopping closes the
    function's environments, which a poller started earlier would share.
    """

    def __init__(
        self,
        pollers: list[Poller],
        replace: Callable[[Poller], Poller],
        counts: Counts,
        *,
        rng: random.Random | None = None,
        stop_timeout_s: float = 5.0,
    ) -> None:
        self.pollers, self._replace, self.counts = pollers, replace, counts
        self._rng = rng or random.Random()
        self._stop_timeout_s = stop_timeout_s
        self._lock = threading.Lock()
        self._closed = False

    def close(self) -> None:
        """No restart from now on; a restart under way finishes first (its new poller is in
        `pollers`, so the cloud's stop stops it)."""
        with self._lock:
            self._closed = True

    def __call__(self) -> bool:
        with self._lock:
            if self._closed or not self.pollers:
                return False
            index = self._rng.randrange(len(self.pollers))
            old = self.pollers[index]
            old.stop(self._stop_timeout_s)
            new = self._replace(old)
            new.start()
            self.pollers[index] = new
        self.counts.add(POLLER_RESTART, old.name.rsplit("-", 1)[-1])
        return True
