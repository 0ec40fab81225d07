"""A Lambda execution environment without Docker: one long-lived worker process per environment.

The parent keeps an :class:`ExecutionEnvironment` handle. The worker is a fresh interpreter
(``python -u -c <bootstrap>``, the "spawn" model) that shares no modules or state with the local cloud.
It is started with the function's environment already in place (parent env + function env vars + the
variables Lambda reserves + ``AWS_ENDPOINT_URL``), puts ``/var/task`` and the layers' ``python/`` first on
``sys.path``, imports the handler once (the cold start) and then serves invocations sent over a socket.

Why not ``multiprocessing``'s spawn context: it re-imports the parent's ``__main__`` in every worker
(pytest, or any unguarded script, which then crashes with "bootstrapping phase") and copies the parent's
``sys.path``. A plain subprocess leaks nothing, receives its environment before the interpreter starts,
and still talks :mod:`multiprocessing.connection`.

The parent enforces the timeout: a handler that runs past it gets its process killed, like Lambda's
"Task timed out", and the next invocation starts a new process (a new cold start).
"""

from __future__ import annotations

import contextlib
import dataclasses
import decimal
import faulthandler
import importlib
import json
import logging
import os
import re
import resource
import secrets
import signal
import site
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

from .authz.identity import role_credentials
from .function_logs import FunctionLog, open_log

__all__ = [
    "ExecutionEnvironment",
    "FunctionSpec",
    "InvokeResult",
    "LambdaContext",
    "lambda_environment",
]

# Lambda's init phase may take up to 10 s and is not counted against the function timeout.
DEFAULT_INIT_TIMEOUT_S = 10.0
_RUNTIME = "python3.12"  # what the template deploys; only used for AWS_EXECUTION_ENV


@dataclass(frozen=True)
class FunctionSpec:
    """Everything needed to run one function version, as deployed."""

    name: str
    arn: str
    handler: str  # "module.attr", module may use "/" or "." as Lambda allows
    code_dir: Path  # plays /var/task
    layer_dirs: tuple[Path, ...]  # each plays /opt, importable code under python/
    environment: dict[str, str]
    timeout_s: float
    memory_mb: int
    region: str
    endpoint_url: str
    # Opaque version marker (CodeSha256/LastModified/RevisionId); a new value means "recycle environments".
    revision: str = ""
    # The execution role: each environment gets credentials for it from the emulator's STS.
    role_arn: str = ""


@dataclass(frozen=True)
class InvokeResult:
    """The outcome of one invocation, as the Invoke API would report it."""

    ok: bool
    payload: Any  # the handler's return value after a JSON round trip (None on error)
    error: dict[str, Any] | None  # {"errorType", "errorMessage", "stackTrace", "requestId"}
    duration_ms: float  # handler time (Lambda's "Duration"); wall time for timeouts and crashes
    timed_out: bool
    init_ms: float | None  # cold start duration if this invocation had one, else None
    request_id: str = ""
    max_memory_used_mb: int | None = None
    round_trip_ms: float = 0.0  # send to reply as the parent saw it, cold start excluded


class LambdaContext:
    """The context object the Python runtime passes to the handler (awslambdaric's shape)."""

    def __init__(
        self,
        *,
        aws_request_id: str,
        deadline_epoch_ms: int,
        invoked_function_arn: str,
        log_group_name: str,
        log_stream_name: str,
        function_name: str,
        function_version: str,
        memory_limit_in_mb: str,
    ) -> None:
        self.aws_request_id = aws_request_id
        self.invoked_function_arn = invoked_function_arn
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        self.function_name = function_name
        self.function_version = function_version
        # A string, as in the real runtime (it is read from AWS_LAMBDA_FUNCTION_MEMORY_SIZE).
        self.memory_limit_in_mb = memory_limit_in_mb
        self.identity: Any = None
        self.client_context: Any = None
        self.tenant_id: str | None = None
        self._deadline_epoch_ms = deadline_epoch_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_epoch_ms - int(time.time() * 1000), 0)

    def log(self, msg: str) -> None:
        sys.stdout.write(msg)

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


# --------------------------------------------------------------------------------------------------
# What the worker process gets
# --------------------------------------------------------------------------------------------------


def lambda_environment(
    spec: FunctionSpec, log_stream: str, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The worker's os.environ: ``base`` (the parent's env) + function env vars + Lambda's reserved vars."""
    env = dict(os.environ if base is None else base)
    env.update(spec.environment)
    # Lambda refuses reserved keys in the function configuration, so these always win.
    env.update(
        {
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{_RUNTIME}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "TZ": ":UTC",
            # boto3 sends every client to AWS_ENDPOINT_URL: function code needs no local switch.
            "AWS_ENDPOINT_URL": spec.endpoint_url,
        }
    )
    if spec.role_arn:
        # As Lambda does: the role's credentials, never the parent's (the local administrator's).
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            env.pop(name, None)
        env.update(role_credentials(spec.role_arn, spec.name, spec.endpoint_url, spec.region))
    # Without a role (unit tests of the runtime): the local administrator's key; any value does for moto.
    env.setdefault("AWS_ACCESS_KEY_ID", "test")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    return env


# --------------------------------------------------------------------------------------------------
# Worker side (runs in the worker process)
# --------------------------------------------------------------------------------------------------

# argv[1]: fd of the control socket, argv[2]: the directory that holds the localcloud package.
_BOOTSTRAP = (
    "import sys; sys.path.insert(0, sys.argv[2]); "
    "from localcloud.lambda_runtime import _worker_main; _worker_main(int(sys.argv[1]))"
)


def _spec_to_wire(spec: FunctionSpec) -> dict[str, Any]:
    # Plain data, so the worker needs no class of ours under the same module name to unpickle it.
    wire = dataclasses.asdict(spec)
    wire["code_dir"] = str(spec.code_dir)
    wire["layer_dirs"] = [str(p) for p in spec.layer_dirs]
    return wire


def _spec_from_wire(wire: Mapping[str, Any]) -> FunctionSpec:
    fields = dict(wire)
    fields["code_dir"] = Path(fields["code_dir"])
    fields["layer_dirs"] = tuple(Path(p) for p in fields["layer_dirs"])
    return FunctionSpec(**fields)


class _InitError(Exception):
    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.error = _make_error(message, error_type, stack or [])


def _make_error(message: str, error_type: str, stack: list[str], request_id: str = "") -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack}


def _log_error(error: Mapping[str, Any]) -> None:
    # The runtime writes "[ERROR] Type: message" plus the trace to the function's log.
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}"]
    if error.get("stackTrace"):
        lines.append("Traceback (most recent call last):")
        lines.extend(line for frame in error["stackTrace"] for line in str(frame).splitlines())
    # One record, lines joined by "\r" as awslambdaric's log sink does; the parent splits them again.
    sys.stdout.write("\r".join(lines) + "\n")


def _trace_id() -> str:
    # Sampled=0: Powertools Tracer / X-Ray SDK see a Lambda trace header but send nothing.
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


def _json_default(o: object) -> object:
    # Same rule as awslambdaric's marshaller: Decimal (DynamoDB) becomes a number.
    if isinstance(o, decimal.Decimal):
        return float(o)
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def _clean_sys_path(spec: FunctionSpec) -> list[str]:
    """Lambda's order: /var/task, the layers, then the runtime; nothing from the parent's cwd or tests."""
    prefixes = (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)
    roots = {os.path.realpath(p) for p in prefixes}
    user_site = site.getusersitepackages() if site.ENABLE_USER_SITE else None

    def from_runtime(entry: str) -> bool:
        real = os.path.realpath(entry)
        return entry == user_site or any(real == r or real.startswith(r + os.sep) for r in roots)

    front = [str(spec.code_dir)]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for layer in spec.layer_dirs:
        front.append(str(layer / "python" / "lib" / version / "site-packages"))
        front.append(str(layer / "python"))
    return front + [p for p in sys.path if p and from_runtime(p) and p not in front]


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def _setup_root_logging() -> _RequestIdFilter:
    # What awslambdaric installs on the root logger (text format); the level stays Python's default.
    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    request_filter = _RequestIdFilter()
    handler.addFilter(request_filter)
    logging.getLogger().addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging.getLevelNamesMapping():
        logging.getLogger().setLevel(level)
    return request_filter


def _exit_when_orphaned() -> None:
    # If the local cloud dies hard (SIGKILL), its workers must not linger, even mid-invocation.
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="orphan-watchdog", daemon=True).start()


def _user_stack(exc: BaseException) -> list[str]:
    frames = traceback.extract_tb(exc.__traceback__)
    # Drop the runtime's own frames, as awslambdaric drops bootstrap.py's.
    user = [f for f in frames if f.filename != __file__ and "importlib" not in f.filename]
    return traceback.format_list(user or frames)


def _load_handler(handler: str) -> Callable[[Any, LambdaContext], Any]:
    # Mirrors awslambdaric's _get_handler, including its error types and messages.
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise _InitError("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {e}") from e
    if modname.split(".")[0] in sys.builtin_module_names:
        raise _InitError(
            "Runtime.BuiltInModuleConflict", f"Cannot use built-in module {modname} as a handler module"
        )
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise _InitError("Runtime.ImportModuleError", f"Unable to import module '{modname}': {e}") from e
    except SyntaxError as e:
        trace = [f'  File "{e.filename}" Line {e.lineno}\n    {e.text}']
        raise _InitError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{modname}': {e}", trace
        ) from e
    except Exception as e:
        raise _InitError(type(e).__name__, str(e), _user_stack(e)) from e
    try:
        fn: Callable[[Any, LambdaContext], Any] = getattr(module, fname)
    except AttributeError as e:
        raise _InitError("Runtime.HandlerNotFound", f"Handler '{fname}' missing on module '{modname}'") from e
    return fn


def _worker_main(fd: int) -> None:
    """Entry point of the worker process: init once, then serve invocations until told to stop."""
    conn = Connection(fd)
    spec = _spec_from_wire(conn.recv())
    del sys.argv[1:]
    faulthandler.enable()  # a segfault prints a trace into the function's log
    _exit_when_orphaned()
    sys.path[:] = _clean_sys_path(spec)
    importlib.invalidate_caches()
    request_filter = _setup_root_logging()

    t0 = time.perf_counter()
    try:
        handler = _load_handler(spec.handler)
    except _InitError as e:
        _log_error(e.error)
        conn.send(("init_error", e.error, (time.perf_counter() - t0) * 1000))
        return
    conn.send(("ready", (time.perf_counter() - t0) * 1000))

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] != "invoke":
            return  # "shutdown"
        _, request_id, event_json, deadline_ms = message
        request_filter.request_id = request_id
        os.environ["_X_AMZN_TRACE_ID"] = _trace_id()
        context = _context(spec, request_id, deadline_ms)
        start = time.perf_counter()
        body, error = _run_handler(handler, event_json, context)
        duration_ms = (time.perf_counter() - start) * 1000
        if error is not None:
            _log_error(error)
        max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        conn.send(("result", request_id, body, error, duration_ms, max_rss_mb))


def _context(spec: FunctionSpec, request_id: str, deadline_ms: int) -> LambdaContext:
    return LambdaContext(
        aws_request_id=request_id,
        deadline_epoch_ms=deadline_ms,
        invoked_function_arn=spec.arn,
        log_group_name=os.environ["AWS_LAMBDA_LOG_GROUP_NAME"],
        log_stream_name=os.environ["AWS_LAMBDA_LOG_STREAM_NAME"],
        function_name=spec.name,
        function_version="$LATEST",
        memory_limit_in_mb=str(spec.memory_mb),
    )


def _run_handler(
    handler: Callable[[Any, LambdaContext], Any], event_json: str, context: LambdaContext
) -> tuple[str | None, dict[str, Any] | None]:
    """(the JSON response, None) or (None, the error) of one invocation."""
    request_id = context.aws_request_id
    try:
        result = handler(json.loads(event_json), context)
    except Exception as e:
        return None, _make_error(str(e), type(e).__name__, _user_stack(e), request_id)
    try:
        return json.dumps(result, default=_json_default), None
    except (TypeError, ValueError) as e:
        return None, _make_error(f"Unable to marshal response: {e}", "Runtime.MarshalError", [], request_id)


# --------------------------------------------------------------------------------------------------
# Parent side
# --------------------------------------------------------------------------------------------------

_LEVEL_PREFIX = re.compile(r"^\[(DEBUG|INFO|WARNING|ERROR|CRITICAL)\]")
_SIGNAL_TEXT = {signal.SIGSEGV: "segmentation fault", signal.SIGKILL: "killed", signal.SIGABRT: "aborted"}
_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)


def _line_level(text: str) -> int:
    """Pick a log level for a function log line: runtime text format or Powertools JSON."""
    m = _LEVEL_PREFIX.match(text)
    if m:
        return logging.getLevelNamesMapping()[m.group(1)]
    if text.startswith("{"):
        with contextlib.suppress(ValueError):
            obj = json.loads(text)
            if isinstance(obj, dict):
                level = logging.getLevelNamesMapping().get(str(obj.get("level", "")).upper())
                if level is not None:
                    return level
    return logging.INFO


def _pump_output(
    stream: IO[bytes], logger: logging.Logger, name: str, cloudwatch: FunctionLog | None = None
) -> None:
    """Forward the worker's stdout/stderr, line by line, to the local cloud's logging (and CloudWatch)."""
    fd = stream.fileno()
    pending = b""

    def emit(raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").strip("\r").replace("\r", "\n")
        if text.strip():
            logger.log(_line_level(text), "[%s] %s", name, text)
            if cloudwatch is not None:
                cloudwatch.write(text)

    try:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                emit(line)
        if pending:
            emit(pending)
    finally:
        stream.close()


def _exit_reason(returncode: int | None) -> str:
    if returncode is None:
        return "unknown"
    if returncode < 0:
        with contextlib.suppress(ValueError):
            sig = signal.Signals(-returncode)
            return f"signal: {_SIGNAL_TEXT.get(sig, sig.name)}"
    return f"exit status {returncode}"


def _kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and everything it started (its own process group)."""
    if process.returncode is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        with contextlib.suppress(OSError):
            process.kill()


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection
    pump: threading.Thread
    invocations: int = 0


class ExecutionEnvironment:
    """Parent-side handle of one Lambda execution environment (serves one invocation at a time).

    The worker process is started lazily by the first :meth:`invoke` and replaced after a timeout or a
    crash. Thread-safe: concurrent :meth:`invoke` calls queue up; :meth:`close` may be called from any
    thread and kills a running invocation.
    """

    def __init__(self, spec: FunctionSpec, *, init_timeout_s: float = DEFAULT_INIT_TIMEOUT_S) -> None:
        self._spec = spec
        self._init_timeout_s = init_timeout_s
        self._lock = threading.Lock()  # one invocation at a time, like Lambda
        self._worker: _Worker | None = None
        self._closed = False
        self._logger = logging.getLogger(f"localcloud.lambda.{spec.name}")
        self._cloudwatch: FunctionLog | None = None  # the current worker's log stream (function_logs)
        self.cold_starts = 0
        self.last_used = time.monotonic()

    @property
    def spec(self) -> FunctionSpec:
        return self._spec

    @property
    def pid(self) -> int | None:
        """The worker's pid, or None when no worker is running (not started yet, or discarded)."""
        worker = self._worker
        return worker.process.pid if worker is not None else None

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> ExecutionEnvironment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- lifecycle ---------------------------------------------------------------------------------

    def _spawn(self) -> tuple[float, InvokeResult | None]:
        """Cold start. Returns (init_ms, the error result if init failed)."""
        t0 = time.perf_counter()
        try:
            worker = self._start_worker()
        except OSError as e:  # e.g. the code dir is missing
            init_ms = (time.perf_counter() - t0) * 1000
            error = _make_error(f"Cannot start the runtime: {e}", "Runtime.StartError", [])
            self._logger.error("[%s] %s", self._spec.name, error["errorMessage"])
            return init_ms, InvokeResult(False, None, error, 0.0, False, init_ms)
        self._worker = worker
        self.cold_starts += 1
        reply = self._await_init(worker)
        init_ms = (time.perf_counter() - t0) * 1000
        if reply[0] != "ready":
            _, error, timed_out = reply
            self._discard_worker()
            self._logger.error(
                "[%s] INIT_REPORT Init Duration: %.2f ms Phase: init Status: error Error Type: %s",
                self._spec.name,
                init_ms,
                error["errorType"],
            )
            return init_ms, InvokeResult(False, None, error, 0.0, timed_out, init_ms)
        self._logger.debug(
            "[%s] cold start %.1f ms (handler import %.1f ms), pid %s",
            self._spec.name,
            init_ms,
            reply[1],
            worker.process.pid,
        )
        return init_ms, None

    def _start_worker(self) -> _Worker:
        """Start the worker process with the function's environment, and the thread that reads its log."""
        spec = self._spec
        log_stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[$LATEST]{uuid.uuid4().hex}"
        self._cloudwatch = open_log(spec, log_stream)  # as Lambda: one stream per environment
        ours, theirs = socket.socketpair()
        with ours, theirs:
            process = subprocess.Popen(
                [sys.executable, "-u", "-c", _BOOTSTRAP, str(theirs.fileno()), _PACKAGE_PARENT],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,  # one stream keeps print() and logging in order
                pass_fds=(theirs.fileno(),),
                env=lambda_environment(spec, log_stream),
                cwd=spec.code_dir,  # the runtime's cwd is /var/task
                # Own process group: Ctrl-C in `make up` is for the local cloud (which then stops
                # us), and a kill takes the handler's own subprocesses down too, like a sandbox.
                start_new_session=True,
            )
            conn = Connection(ours.detach())
        assert process.stdout is not None
        pump = threading.Thread(
            target=_pump_output,
            args=(process.stdout, self._logger, spec.name, self._cloudwatch),
            name="lambda-log",
            daemon=True,
        )
        pump.start()
        return _Worker(process, conn, pump)

    def _await_init(self, worker: _Worker) -> tuple[Any, ...]:
        """The init phase: ("ready", import ms) or ("failed", error, timed out)."""
        try:
            worker.conn.send(_spec_to_wire(self._spec))
            if not worker.conn.poll(self._init_timeout_s):
                message = f"Init phase timed out after {self._init_timeout_s:.2f} seconds"
                return "failed", _make_error(message, "Sandbox.Timedout", []), True
            reply = worker.conn.recv()
        except (EOFError, OSError):
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(1.0)
            reason = _exit_reason(worker.process.returncode)
            return (
                "failed",
                _make_error(f"Runtime exited with error: {reason}", "Runtime.ExitError", []),
                False,
            )
        if reply[0] == "init_error":
            return "failed", reply[1], False
        return "ready", reply[1]

    def _discard_worker(self, graceful: bool = False) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        process = worker.process
        if graceful and process.poll() is None:
            with contextlib.suppress(OSError):
                worker.conn.send(("shutdown",))
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(1.0)
        _kill(process)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(2.0)
        worker.conn.close()
        worker.pump.join(1.0)  # flush the last log lines before we report

    def close(self) -> None:
        """Stop the worker for good. A running invocation is killed and returns an error."""
        self._closed = True
        if self._lock.acquire(blocking=False):
            try:
                self._discard_worker(graceful=True)
            finally:
                self._lock.release()
        else:
            worker = self._worker
            if worker is not None:
                _kill(worker.process)  # the invoking thread sees EOF and cleans up

    # -- invoke ------------------------------------------------------------------------------------

    def invoke(self, event: Mapping[str, Any], timeout_s: float | None = None) -> InvokeResult:
        """Run the handler on ``event`` (JSON-serialisable) with Lambda's timeout semantics."""
        timeout = self._spec.timeout_s if timeout_s is None else timeout_s
        event_json = json.dumps(event)
        with self._lock:
            if self._closed:
                raise RuntimeError(f"execution environment of {self._spec.name} is closed")
            init_ms: float | None = None
            if self._worker is None:
                init_ms, init_failure = self._spawn()
                if init_failure is not None:
                    self.last_used = time.monotonic()
                    return init_failure
            worker = self._worker
            assert worker is not None
            result = self._invoke_worker(worker, event_json, timeout, init_ms)
            if self._cloudwatch is not None:
                self._cloudwatch.ended(result, self._spec.memory_mb)
            if self._closed:
                self._discard_worker()
            self.last_used = time.monotonic()
            return result

    def _invoke_worker(
        self, worker: _Worker, event_json: str, timeout: float, init_ms: float | None
    ) -> InvokeResult:
        request_id = str(uuid.uuid4())
        if self._cloudwatch is not None:
            self._cloudwatch.started(request_id)
        deadline_ms = int((time.time() + timeout) * 1000)
        t0 = time.perf_counter()
        worker.invocations += 1
        message: Any = None
        try:
            worker.conn.send(("invoke", request_id, event_json, deadline_ms))
            replied = worker.conn.poll(timeout)
            if replied:
                message = worker.conn.recv()
        except (EOFError, OSError):
            replied = True
        wall_ms = (time.perf_counter() - t0) * 1000
        if not replied:
            error = self._timed_out(request_id, timeout)
            return InvokeResult(False, None, error, wall_ms, True, init_ms, request_id, None, wall_ms)
        if message is None:
            error = self._crashed(worker, request_id)
            return InvokeResult(False, None, error, wall_ms, False, init_ms, request_id, None, wall_ms)
        _, _, body, error, duration_ms, max_rss_mb = message
        payload = json.loads(body) if body is not None else None
        return InvokeResult(
            error is None, payload, error, duration_ms, False, init_ms, request_id, max_rss_mb, wall_ms
        )

    def _timed_out(self, request_id: str, timeout: float) -> dict[str, Any]:
        # Lambda stops the whole sandbox; the next request gets a fresh one.
        self._discard_worker()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        what = f"Task timed out after {timeout:.2f} seconds"
        self._logger.error("[%s] %sZ %s %s", self._spec.name, stamp, request_id, what)
        return _make_error(f"RequestId: {request_id} Error: {what}", "Sandbox.Timedout", [], request_id)

    def _crashed(self, worker: _Worker, request_id: str) -> dict[str, Any]:
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.process.wait(1.0)
        reason = _exit_reason(worker.process.returncode)
        self._discard_worker()
        text = f"RequestId: {request_id} Error: Runtime exited with error: {reason}"
        self._logger.error("[%s] %s", self._spec.name, text)
        return _make_error(text, "Runtime.ExitError", [], request_id)
