"""The functions' logs in CloudWatch Logs, written as Lambda writes them: into the function's log group
(``/aws/lambda/<function>``, the name the runtime gives AWS_LAMBDA_LOG_GROUP_NAME), one log stream per
execution environment, with the execution role's credentials. So the role's ``logs:CreateLogStream``
and ``logs:PutLogEvents`` are evaluated by the local cloud's IAM like any other request; a write that is
denied (or fails) drops its lines, as Lambda drops them, and is logged here once per stream.

What goes in: each line the function prints (its stdout and stderr, the runtime's error records) and
the platform's START, END and REPORT lines. The lines are queued by the threads that see them and sent
by one background thread in batches (at most every ``FLUSH_S``), so invocations never wait for it.

Environments without a role (tests of the runtime alone) write nothing.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Protocol

from .authz.identity import role_session

__all__ = ["FunctionLog", "open_log"]

log = logging.getLogger("localcloud.lambda.logs")
FLUSH_S = 1.0  # CloudWatch shows Lambda's lines within seconds too; fewer requests to the emulator
_BATCH = 1000  # events per PutLogEvents (CloudWatch allows 10,000 and 1 MB)


class Function(Protocol):
    """What this module reads of a lambda_runtime.FunctionSpec (which imports this module)."""

    @property
    def name(self) -> str: ...
    @property
    def role_arn(self) -> str: ...
    @property
    def endpoint_url(self) -> str: ...
    @property
    def region(self) -> str: ...


class Invocation(Protocol):
    """What this module reads of a lambda_runtime.InvokeResult."""

    @property
    def request_id(self) -> str: ...
    @property
    def timed_out(self) -> bool: ...
    @property
    def error(self) -> dict[str, Any] | None: ...
    @property
    def duration_ms(self) -> float: ...
    @property
    def max_memory_used_mb(self) -> int | None: ...
    @property
    def init_ms(self) -> float | None: ...


@dataclass(frozen=True)
class _Stream:
    role_arn: str
    endpoint_url: str
    region: str
    group: str
    name: str


class _Shipper:
    """The process's one sender: a queue of (stream, epoch ms, message) and the thread that drains it."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[_Stream, int, str]] = queue.SimpleQueue()
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._created: set[_Stream] = set()
        self._failed: set[_Stream] = set()  # streams whose failure was logged already
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, stream: _Stream, message: str) -> None:
        self._queue.put((stream, int(time.time() * 1000), message))
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="lambda-logs", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            batches: dict[_Stream, list[dict[str, Any]]] = defaultdict(list)
            stream, at, message = self._queue.get()  # blocks until there is something to send
            batches[stream].append({"timestamp": at, "message": message})
            time.sleep(FLUSH_S)  # gather what follows, so one request carries many lines
            with contextlib.suppress(queue.Empty):
                while True:
                    stream, at, message = self._queue.get_nowait()
                    batches[stream].append({"timestamp": at, "message": message})
            for stream, events in batches.items():
                self._send(stream, events)

    def _client(self, stream: _Stream) -> Any:
        key = (stream.role_arn, stream.endpoint_url, stream.region)
        if key not in self._clients:
            session = role_session(stream.role_arn, "lambda-logs", stream.endpoint_url, stream.region)
            self._clients[key] = session.client(
                "logs", endpoint_url=stream.endpoint_url, region_name=stream.region
            )
        return self._clients[key]

    def _send(self, stream: _Stream, events: list[dict[str, Any]]) -> None:
        # Imported here: the Lambda worker imports this module too, and must load only its layer's botocore.
        from botocore.exceptions import EndpointConnectionError

        try:
            logs = self._client(stream)
            if stream not in self._created:
                with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                    logs.create_log_stream(logGroupName=stream.group, logStreamName=stream.name)
                self._created.add(stream)
            events.sort(key=lambda e: e["timestamp"])  # PutLogEvents wants them in order
            for start in range(0, len(events), _BATCH):
                logs.put_log_events(
                    logGroupName=stream.group,
                    logStreamName=stream.name,
                    logEvents=events[start : start + _BATCH],
                )
        except EndpointConnectionError:  # the emulator stopped: the lines are lost, nothing to report
            log.debug("%s: emulator gone, %d log lines dropped", stream.name, len(events))
        except Exception as exc:  # denied, no such group: the lines are lost
            if stream not in self._failed:
                self._failed.add(stream)
                log.warning("%s: log lines not written to %s: %s", stream.name, stream.group, exc)


_SHIPPER = _Shipper()


class FunctionLog:
    """One execution environment's log stream."""

    def __init__(self, stream: _Stream) -> None:
        self._stream = stream

    def write(self, message: str) -> None:
        """One line the function wrote (any thread; returns at once)."""
        _SHIPPER.put(self._stream, message)

    def started(self, request_id: str) -> None:
        self.write(f"START RequestId: {request_id} Version: $LATEST")

    def ended(self, result: Invocation, memory_mb: int) -> None:
        """END and REPORT of one invocation, as the platform writes them."""
        if not result.request_id:
            return  # the init failed before an invocation began
        if result.timed_out and result.error:
            self.write(str(result.error.get("errorMessage", "")))
        self.write(f"END RequestId: {result.request_id}")
        report = f"REPORT RequestId: {result.request_id}\tDuration: {result.duration_ms:.2f} ms\t"
        report += f"Memory Size: {memory_mb} MB"
        if result.max_memory_used_mb:
            report += f"\tMax Memory Used: {result.max_memory_used_mb} MB"
        if result.init_ms is not None:
            report += f"\tInit Duration: {result.init_ms:.2f} ms"
        self.write(report)


def open_log(spec: Function, log_stream: str) -> FunctionLog | None:
    """The log stream of a new execution environment of ``spec``; None without an execution role."""
    if not spec.role_arn:
        return None
    group = f"/aws/lambda/{spec.name}"
    return FunctionLog(_Stream(spec.role_arn, spec.endpoint_url, spec.region, group, log_stream))
