"""The local cloud's one Lambda invoker: a pool of execution environments per function.

Both callers of functions, the event source mapping pollers (:mod:`localcloud.esm`) and the API front
(:mod:`localcloud.api`), invoke through an :class:`Invoker`. Per function it keeps a
:class:`FunctionPool` with Lambda's semantics:

- an environment serves one invocation at a time; a warm (idle) one is reused, the most recently used
  first; a new one is created only when none is idle (its first invocation is the cold start);
- at most ``limit`` environments per function: a caller beyond that waits for one to come free (the
  pollers never get there, they hold MaximumConcurrency themselves);
- a new function configuration (:meth:`FunctionPool.update`) recycles the environments: idle ones are
  closed at once, busy ones after their invocation, as Lambda does with a new version;
- idle environments past a TTL are closed (:meth:`FunctionPool.reap_idle`), keeping a few warm;
- fault injection: :meth:`FunctionPool.kill_next` kills the environment of the next invocations
  mid-request (its worker process is SIGKILLed), as when a Lambda sandbox dies.

What happens with each result is up to observers (:class:`InvokeObserver`): the runtime's ``REPORT``
log line (:class:`ReportLog`, always on), per-function counters (:class:`InvocationStats`, each pool's
``stats``), the AWS/Lambda metrics (``metrics.MetricsPublisher``), or a test's callback. Register them
on the invoker (every function) or on one pool (that function).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .lambda_runtime import DEFAULT_INIT_TIMEOUT_S, ExecutionEnvironment, FunctionSpec, InvokeResult

__all__ = [
    "DEFAULT_LIMIT",
    "FunctionPool",
    "InvocationStats",
    "InvokeCallback",
    "InvokeObserver",
    "Invoker",
    "Observers",
    "ReportLog",
]

_log = logging.getLogger(__name__)

# Environments per function when a caller asks for no limit of its own; a laptop wants a few processes.
DEFAULT_LIMIT = 4

InvokeCallback = Callable[[str, InvokeResult], None]  # (function name, result), the pollers' on_invoke


class InvokeObserver(Protocol):
    """Told about every finished invocation (also failed inits), on the invoking thread."""

    def invoked(self, spec: FunctionSpec, result: InvokeResult) -> None: ...


@dataclass(frozen=True)
class CallbackObserver:
    """An observer from a plain ``(function name, result)`` callback."""

    callback: InvokeCallback

    def invoked(self, spec: FunctionSpec, result: InvokeResult) -> None:
        self.callback(spec.name, result)


class Observers:
    """A thread-safe list of observers; a pool's list also tells its invoker's."""

    def __init__(self, parent: Observers | None = None) -> None:
        self._parent = parent
        self._items: list[InvokeObserver] = []
        self._lock = threading.Lock()

    def add(self, observer: InvokeObserver) -> None:
        with self._lock:
            self._items.append(observer)

    def remove(self, observer: InvokeObserver) -> None:
        with self._lock:
            if observer in self._items:
                self._items.remove(observer)

    def __iter__(self) -> Iterator[InvokeObserver]:
        with self._lock:
            items = list(self._items)
        yield from items
        if self._parent is not None:
            yield from self._parent

    def notify(self, spec: FunctionSpec, result: InvokeResult) -> None:
        for observer in self:
            try:
                observer.invoked(spec, result)
            except Exception:  # one broken observer must not cost the invocation or the others
                _log.exception("%s: invoke observer %r failed", spec.name, observer)


class ReportLog:
    """The runtime's ``REPORT`` line after each invocation, in the function's log."""

    def invoked(self, spec: FunctionSpec, result: InvokeResult) -> None:
        if not result.request_id:
            return  # the init failed: the runtime logged INIT_REPORT instead
        init = f" Init Duration: {result.init_ms:.2f} ms" if result.init_ms is not None else ""
        memory = f" Max Memory Used: {result.max_memory_used_mb} MB" if result.max_memory_used_mb else ""
        status = " Status: timeout" if result.timed_out else (" Status: error" if not result.ok else "")
        logging.getLogger(f"localcloud.lambda.{spec.name}").info(
            "[%s] REPORT RequestId: %s Duration: %.2f ms Memory Size: %d MB%s%s%s (round trip %.2f ms)",
            spec.name,
            result.request_id,
            result.duration_ms,
            spec.memory_mb,
            memory,
            init,
            status,
            result.round_trip_ms,
        )


@dataclass
class InvocationStats:
    """Counters of one function's invocations (an observer; read them with :meth:`snapshot`)."""

    invocations: int = 0
    errors: int = 0
    timeouts: int = 0
    cold_starts: int = 0
    durations_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1000))
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def invoked(self, spec: FunctionSpec, result: InvokeResult) -> None:
        with self.lock:
            self.invocations += 1
            self.errors += 0 if result.ok else 1
            self.timeouts += 1 if result.timed_out else 0
            self.cold_starts += 1 if result.init_ms is not None else 0
            self.durations_ms.append(result.duration_ms)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "invocations": self.invocations,
                "errors": self.errors,
                "timeouts": self.timeouts,
                "cold_starts": self.cold_starts,
                "durations_ms": list(self.durations_ms),
            }


class FunctionPool:
    """The execution environments of one function: reused when warm, at most ``limit`` at a time."""

    def __init__(self, spec: FunctionSpec, limit: int, init_timeout_s: float, parent: Observers) -> None:
        self._spec = spec
        self.limit = max(1, limit)
        self._init_timeout_s = init_timeout_s
        self.stats = InvocationStats()
        self.observers = Observers(parent)  # this function's; also tells the invoker's (``parent``)
        self.observers.add(self.stats)
        self._envs: dict[ExecutionEnvironment, int] = {}  # environment -> generation of its spec
        self._idle: list[ExecutionEnvironment] = []  # most recently used last
        self._generation = 0
        self._in_flight = 0
        self._closed = False
        self._ready = threading.Condition()
        self._kills: deque[float] = deque()  # armed by kill_next: seconds into the invocation
        self.killed = 0  # environments killed by kill_next so far

    @property
    def spec(self) -> FunctionSpec:
        return self._spec

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def environment_count(self) -> int:
        """Execution environments (worker handles) that exist now, busy or idle."""
        with self._ready:
            return len(self._envs)

    @property
    def environments(self) -> list[ExecutionEnvironment]:
        """The environments that exist now, busy or idle (the soak's fault injection kills busy ones)."""
        with self._ready:
            return list(self._envs)

    @property
    def in_flight(self) -> int:
        """Invocations running or waiting for an environment (Lambda's ConcurrentExecutions)."""
        with self._ready:
            return self._in_flight

    def allow(self, limit: int) -> None:
        """Raise the limit to ``limit`` (never lowers it)."""
        with self._ready:
            if limit > self.limit:
                self.limit = limit
                self._ready.notify_all()

    def invoke(self, event: Mapping[str, Any], timeout_s: float | None = None) -> InvokeResult:
        """Run the function on ``event`` in a free environment; RuntimeError once the pool is closed."""
        with self._ready:
            self._in_flight += 1
        try:
            env = self._checkout()
            try:
                kill_after = self._armed_kill()
                if kill_after is None:
                    result = env.invoke(event, timeout_s)
                else:
                    result = self._invoke_killed(env, event, timeout_s, kill_after)
            finally:
                self._checkin(env)
        finally:
            with self._ready:
                self._in_flight -= 1
        self.observers.notify(env.spec, result)
        return result

    def kill_next(self, *, after_s: float = 0.0, count: int = 1) -> None:
        """Fault injection: each of the next `count` invocations loses its execution environment
        `after_s` seconds in (its worker is SIGKILLed, during the init if that is still running), or as
        the reply comes back if the handler is done sooner, so the kill always lands: the caller gets
        Lambda's `Runtime.ExitError` (the API front answers 502) and the next invocation a cold start.
        Whatever the handler did before it died stays done."""
        with self._ready:
            self._kills.extend([after_s] * count)

    def _armed_kill(self) -> float | None:
        with self._ready:
            return self._kills.popleft() if self._kills else None

    def _invoke_killed(
        self, env: ExecutionEnvironment, event: Mapping[str, Any], timeout_s: float | None, after_s: float
    ) -> InvokeResult:
        # close() from another thread SIGKILLs a busy worker: the invocation sees it die.
        timer = threading.Timer(after_s, env.close)
        timer.daemon = True
        timer.start()
        try:
            result = env.invoke(event, timeout_s)
        except RuntimeError:  # closed before the invocation began
            result = InvokeResult(False, None, None, 0.0, False, None)
        finally:
            timer.cancel()
        env.close()  # done before the kill: the reply is lost with the environment
        with self._ready:
            self.killed += 1
        if result.error is not None and result.error.get("errorType") == "Runtime.ExitError":
            return result
        request_id = result.request_id or str(uuid.uuid4())
        message = f"RequestId: {request_id} Error: Runtime exited with error: signal: killed"
        logging.getLogger(f"localcloud.lambda.{self._spec.name}").error("[%s] %s", self._spec.name, message)
        error = {
            "errorMessage": message,
            "errorType": "Runtime.ExitError",
            "requestId": request_id,
            "stackTrace": [],
        }
        return dataclasses.replace(result, ok=False, payload=None, error=error, request_id=request_id)

    def _checkout(self) -> ExecutionEnvironment:
        stale: list[ExecutionEnvironment] = []
        try:
            with self._ready:
                while True:
                    if self._closed:
                        raise RuntimeError(f"the environments of {self._spec.name} are shut down")
                    while self._idle:
                        env = self._idle.pop()  # the most recently used one is the warmest
                        if self._envs.get(env) == self._generation and not env.closed:
                            return env
                        self._envs.pop(env, None)
                        stale.append(env)
                    if len(self._envs) < self.limit:
                        # Lazily: the process is spawned by the first invoke (the cold start).
                        env = ExecutionEnvironment(self._spec, init_timeout_s=self._init_timeout_s)
                        self._envs[env] = self._generation
                        return env
                    self._ready.wait()
        finally:
            for old in stale:
                old.close()

    def _checkin(self, env: ExecutionEnvironment) -> None:
        with self._ready:
            keep = self._envs.get(env) == self._generation and not self._closed and not env.closed
            if keep:
                self._idle.append(env)
            else:
                self._envs.pop(env, None)
            self._ready.notify()
        if not keep:
            env.close()

    def update(self, spec: FunctionSpec) -> bool:
        """Run ``spec`` from now on; if it differs, recycle the environments. True if it differed."""
        with self._ready:
            if spec == self._spec:
                return False
            self._spec = spec
            self._generation += 1
            stale, self._idle = self._idle, []
            for env in stale:
                del self._envs[env]
            busy = len(self._envs)
            self._ready.notify_all()
        # Busy environments finish their invocation on the old configuration and are closed afterwards.
        _log.info(
            "%s: configuration changed; recycling %d idle and %d busy environment(s)",
            spec.name,
            len(stale),
            busy,
        )
        for env in stale:
            env.close()
        return True

    def reap_idle(self, idle_ttl_s: float, keep_warm: int) -> None:
        """Close environments idle for longer than ``idle_ttl_s``, keeping ``keep_warm`` around."""
        now = time.monotonic()
        reaped: list[ExecutionEnvironment] = []
        with self._ready:
            for env in list(self._idle):  # oldest first
                if len(self._envs) <= keep_warm:
                    break
                if now - env.last_used > idle_ttl_s:
                    self._idle.remove(env)
                    del self._envs[env]
                    reaped.append(env)
        for env in reaped:
            env.close()

    def close(self) -> None:
        """Close every environment; running invocations are killed (they return an error)."""
        with self._ready:
            self._closed = True
            envs = list(self._envs)
            self._envs.clear()
            self._idle.clear()
            self._ready.notify_all()
        for env in envs:
            env.close()


class Invoker:
    """Every function's :class:`FunctionPool`, and the observers of all their invocations."""

    def __init__(self, *, init_timeout_s: float = DEFAULT_INIT_TIMEOUT_S) -> None:
        self._init_timeout_s = init_timeout_s
        self.observers = Observers()
        self.observers.add(ReportLog())
        self._pools: dict[str, FunctionPool] = {}
        self._lock = threading.Lock()

    @property
    def pools(self) -> list[FunctionPool]:
        with self._lock:
            return list(self._pools.values())

    def pool(self, spec: FunctionSpec, *, limit: int = DEFAULT_LIMIT) -> FunctionPool:
        """The pool of ``spec.arn`` (made on first use); a larger ``limit`` than its own raises its own."""
        with self._lock:
            pool = self._pools.get(spec.arn)
            if pool is None or pool.closed:
                pool = FunctionPool(spec, limit, self._init_timeout_s, self.observers)
                self._pools[spec.arn] = pool
        pool.allow(limit)
        return pool

    def invoke(self, function_arn: str, event: Mapping[str, Any]) -> InvokeResult:
        with self._lock:
            pool = self._pools.get(function_arn)
        if pool is None:
            raise KeyError(f"no function {function_arn} in this invoker")
        return pool.invoke(event)

    def close(self) -> None:
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()
