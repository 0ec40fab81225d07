"""moto's request dispatch without re-reading its package folder on every request.

Why: moto's server picks the backend of each request in ``DomainDispatcherApplication.
get_backend_for_host``, which lists moto's package directory (``os.listdir`` plus an ``os.path.isdir``
per entry) and then tries every service's URL regex, under one lock, for every request. Profiled under
the bench's load that was an eighth of the emulator's samples. The answer only depends on the host
string (one of a handful: ``dynamodb.us-east-1.amazonaws.com``...) and on files that do not change
while the process runs, so both are computed once.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto import backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_ORIGINAL_MODULES: Callable[[], Iterable[str]] = backends.list_of_moto_modules
_ORIGINAL_BACKEND_FOR_HOST = DomainDispatcherApplication.get_backend_for_host
_installed = False
_lock = threading.Lock()


@functools.cache
def _moto_modules() -> tuple[str, ...]:
    return tuple(_ORIGINAL_MODULES())


def _backend_for_host(self: DomainDispatcherApplication, host: str | None) -> Any:
    cache: dict[str | None, Any] | None = getattr(self, "_localcloud_backend_for_host", None)
    if cache is None:
        cache = self._localcloud_backend_for_host = {}  # type: ignore[attr-defined]
    try:
        return cache[host]
    except KeyError:
        backend = _ORIGINAL_BACKEND_FOR_HOST(self, host)
        cache[host] = backend
        return backend


def install() -> None:
    """Memoize the module list and the host -> backend answer (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        backends.list_of_moto_modules = _moto_modules
        DomainDispatcherApplication.get_backend_for_host = _backend_for_host  # type: ignore[method-assign]
        _installed = True


def original_backend_for_host(app: DomainDispatcherApplication, host: str | None) -> Any:
    """moto's own answer (for the test that the memo changes nothing)."""
    return _ORIGINAL_BACKEND_FOR_HOST(app, host)


def original_moto_modules() -> list[str]:
    return list(_ORIGINAL_MODULES())
