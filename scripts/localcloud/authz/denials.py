"""Every denial is logged (principal, action, resource, the deciding statement) and counted; the
count and the latest denials are served at /_localcloud/denials and printed when `make up` stops."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger("localcloud.authz")


@dataclass(frozen=True)
class Denial:
    principal: str
    action: str
    resource: str
    statement: str
    reason: str
    at: float


class Denials:
    """A thread-safe count of denials and the last ``keep`` of them."""

    def __init__(self, keep: int = 200) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._recent: deque[Denial] = deque(maxlen=keep)

    def record(self, principal: str, action: str, resource: str, statement: str, reason: str) -> Denial:
        denial = Denial(principal, action, resource, statement, reason, time.time())
        with self._lock:
            self._count += 1
            self._recent.append(denial)
        log.warning(
            "AccessDenied: %s -> %s on %s (%s%s)",
            principal,
            action,
            resource,
            reason,
            f"; statement {statement}" if statement else "",
        )
        return denial

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"count": self._count, "recent": [asdict(d) for d in self._recent]}

    def clear(self) -> None:
        with self._lock:
            self._count = 0
            self._recent.clear()


DENIALS = Denials()  # the emulator's (one per process)
