"""Lambda's SQS event source mapping, run locally: one :class:`SqsPoller` per mapping.

moto stores event source mappings but cannot run functions without Docker, so the local cloud polls
the queues itself with the semantics described in "Using Lambda with Amazon SQS":

- long-poll ReceiveMessage (at most 10 per call, all system and message attributes) and gather up to
  ``BatchSize`` records within ``MaximumBatchingWindowInSeconds``;
- invoke the function with the SQS event exactly as Lambda shapes it;
- on success delete the batch; with ``ReportBatchItemFailures`` delete all but the reported failures
  (an invalid report fails the whole batch); on a function error or timeout delete nothing, so the
  messages come back after the queue's visibility timeout and SQS moves them to the DLQ after
  ``maxReceiveCount`` receives;
- at most ``ScalingConfig.MaximumConcurrency`` concurrent invocations, each in its own execution
  environment (worker process), created only when there is work;
- a change of the function's configuration recycles the environments, as Lambda does.

The environments are the function's pool in the local cloud's one invoker (:mod:`localcloud.invoker`),
which the API front uses too.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.config import Config

from intake_tools.session import Target

from .authz.identity import role_session
from .invoker import CallbackObserver, InvokeCallback, Invoker
from .lambda_runtime import DEFAULT_INIT_TIMEOUT_S, FunctionSpec

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import (
        ChangeMessageVisibilityBatchRequestEntryTypeDef,
        DeleteMessageBatchRequestEntryTypeDef,
    )

__all__ = [
    "LOCAL_DEFAULT_MAX_CONCURRENCY",
    "EsmConfig",
    "LambdaSpecLoader",
    "PollerStats",
    "SqsPoller",
    "build_sqs_event",
    "spec_from_api",
    "sqs_record",
    "successful_message_ids",
]

_log = logging.getLogger(__name__)

# AWS defaults MaximumConcurrency to the account's concurrency (1000); a laptop wants a few processes.
LOCAL_DEFAULT_MAX_CONCURRENCY = 4
_RECEIVE_MAX = 10  # SQS ReceiveMessage limit per call
_DELETE_MAX = 10  # SQS batch entry limit
_ACTIVE_STATES = frozenset({"Enabled", "Enabling", "Creating", "Updating"})


# --------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EsmConfig:
    """One SQS event source mapping, as the Lambda API describes it."""

    uuid: str
    queue_arn: str
    queue_url: str
    function_arn: str
    batch_size: int = 10
    batching_window_s: float = 0.0
    report_batch_item_failures: bool = False
    maximum_concurrency: int = LOCAL_DEFAULT_MAX_CONCURRENCY
    enabled: bool = True

    @property
    def region(self) -> str:
        return self.queue_arn.split(":")[3]

    @classmethod
    def from_api(cls, mapping: Mapping[str, Any], queue_url: str) -> EsmConfig:
        """Build from a ``lambda.get_event_source_mapping`` response."""
        scaling = mapping.get("ScalingConfig") or {}
        concurrency = scaling.get("MaximumConcurrency")
        return cls(
            uuid=mapping["UUID"],
            queue_arn=mapping["EventSourceArn"],
            queue_url=queue_url,
            function_arn=mapping["FunctionArn"],
            batch_size=int(mapping.get("BatchSize") or 10),
            batching_window_s=float(mapping.get("MaximumBatchingWindowInSeconds") or 0),
            report_batch_item_failures="ReportBatchItemFailures"
            in (mapping.get("FunctionResponseTypes") or []),
            maximum_concurrency=int(concurrency) if concurrency else LOCAL_DEFAULT_MAX_CONCURRENCY,
            enabled=mapping.get("State", "Enabled") in _ACTIVE_STATES,
        )


def spec_from_api(
    config: Mapping[str, Any],
    code_dir: Path | str,
    layer_dirs: Sequence[Path | str] = (),
    endpoint_url: str = "http://127.0.0.1:4566",
) -> FunctionSpec:
    """Build a FunctionSpec from ``lambda.get_function_configuration``; code and layers are local dirs."""
    arn = config["FunctionArn"]
    # The revision marks a new function version: code (CodeSha256) or configuration (LastModified,
    # RevisionId). moto keeps LastModified on configuration updates; the spec's fields catch those.
    revision = "|".join(str(config.get(k, "")) for k in ("CodeSha256", "LastModified", "RevisionId"))
    return FunctionSpec(
        name=config["FunctionName"],
        arn=arn,
        handler=config.get("Handler") or "handler.handler",
        code_dir=Path(code_dir),
        layer_dirs=tuple(Path(p) for p in layer_dirs),
        environment=dict((config.get("Environment") or {}).get("Variables") or {}),
        timeout_s=float(config.get("Timeout") or 3),
        memory_mb=int(config.get("MemorySize") or 128),
        region=arn.split(":")[3],
        endpoint_url=endpoint_url,
        revision=revision,
        role_arn=str(config.get("Role") or ""),
    )


def _session_client(service: str, region: str, endpoint_url: str, config: Config | None = None) -> Any:
    return Target(endpoint_url=endpoint_url, region=region).client(service, config=config)


class LambdaSpecLoader:
    """Reads a function's current configuration from the Lambda API (used to detect updates)."""

    def __init__(
        self,
        function: str,
        code_dir: Path | str,
        layer_dirs: Sequence[Path | str] = (),
        endpoint_url: str = "http://127.0.0.1:4566",
        *,
        client: LambdaClient | None = None,
    ) -> None:
        self.function = function
        self.code_dir = Path(code_dir)
        self.layer_dirs = tuple(Path(p) for p in layer_dirs)
        self.endpoint_url = endpoint_url
        region = function.split(":")[3] if function.startswith("arn:") else "us-east-1"
        self._client: LambdaClient = client or _session_client("lambda", region, endpoint_url)

    def __call__(self) -> FunctionSpec:
        config = self._client.get_function_configuration(FunctionName=self.function)
        return spec_from_api(config, self.code_dir, self.layer_dirs, self.endpoint_url)


# --------------------------------------------------------------------------------------------------
# Event shape and batch results
# --------------------------------------------------------------------------------------------------


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    # Lambda's spelling: camelCase keys, binary as base64, the (unused) list fields always present.
    attr: dict[str, Any] = {}
    if "StringValue" in value:
        attr["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attr["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    attr["stringListValues"] = list(value.get("StringListValues") or [])
    attr["binaryListValues"] = [
        base64.b64encode(v).decode("ascii") for v in value.get("BinaryListValues") or []
    ]
    attr["dataType"] = value["DataType"]
    return attr


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One ``Records[]`` entry of the SQS event, from one ReceiveMessage message."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            k: _message_attribute(v) for k, v in (message.get("MessageAttributes") or {}).items()
        },
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record["md5OfBody"] = message["MD5OfBody"]
    record["eventSource"] = "aws:sqs"
    record["eventSourceARN"] = queue_arn
    record["awsRegion"] = region
    return record


def build_sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    return {"Records": [sqs_record(m, queue_arn, region) for m in messages]}


def successful_message_ids(
    response: Any, message_ids: Sequence[str], report_batch_item_failures: bool
) -> tuple[list[str], str | None]:
    """Which messages of a successfully invoked batch to delete, and why not all (None if all).

    Per the AWS docs: an empty/null ``batchItemFailures`` or an empty/null response is a complete
    success; an invalid response (not an object, not a list, an empty/null/unknown ``itemIdentifier``,
    a bad key) is a complete failure.
    """
    ids = list(message_ids)
    if not report_batch_item_failures or response is None:
        return ids, None
    if not isinstance(response, dict):
        return [], f"invalid partial batch response (not an object): {response!r:.200}"
    failures = response.get("batchItemFailures")
    if not failures:
        return ids, None
    if not isinstance(failures, list):
        return [], "invalid partial batch response: batchItemFailures is not a list"
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in ids:
            return [], f"invalid partial batch response: bad item {item!r:.200}"
        failed.add(identifier)
    return [i for i in ids if i not in failed], f"{len(failed)} item(s) reported as failed"


# --------------------------------------------------------------------------------------------------
# The poller
# --------------------------------------------------------------------------------------------------


@dataclass
class PollerStats:
    """The mapping's own counters (read under ``SqsPoller.lock`` or via ``snapshot()``); the function's
    invocations are counted by its pool (``FunctionPool.stats``)."""

    throttles: int = 0  # a local poller never invokes beyond MaximumConcurrency, so never throttled
    messages_received: int = 0
    messages_deleted: int = 0
    receive_errors: int = 0
    recycles: int = 0


class SqsPoller:
    """Polls one queue and invokes one function, like one Lambda event source mapping.

    It invokes through ``invoker`` (the local cloud's one :class:`~localcloud.invoker.Invoker`), or
    through one of its own when none is given.
    """

    def __init__(
        self,
        config: EsmConfig,
        spec: FunctionSpec,
        *,
        invoker: Invoker | None = None,
        endpoint_url: str | None = None,
        spec_loader: Callable[[], FunctionSpec] | None = None,
        watch_function: bool = True,
        on_invoke: InvokeCallback | None = None,
        sqs_client: SQSClient | None = None,
        poll_wait_s: int = 1,
        reload_interval_s: float = 1.0,
        idle_ttl_s: float = 60.0,
        keep_warm: int = 1,
        init_timeout_s: float = DEFAULT_INIT_TIMEOUT_S,
    ) -> None:
        if not 1 <= poll_wait_s <= 20:
            raise ValueError("poll_wait_s must be within 1..20 (SQS WaitTimeSeconds)")
        self.config = config
        self.endpoint_url = endpoint_url or spec.endpoint_url
        if spec_loader is None and watch_function:
            # Lambda recycles environments when the function changes: watch it through the API.
            spec_loader = LambdaSpecLoader(spec.arn, spec.code_dir, spec.layer_dirs, spec.endpoint_url)
        self._spec_loader = spec_loader
        self._last_reload_error = ""
        self._owns_invoker = invoker is None
        self._invoker = invoker or Invoker(init_timeout_s=init_timeout_s)
        self._pool = self._invoker.pool(spec, limit=max(1, config.maximum_concurrency))
        self._pool.update(spec)
        if on_invoke is not None:
            self._pool.observers.add(CallbackObserver(on_invoke))
        self._poll_wait_s = poll_wait_s
        self._reload_interval_s = reload_interval_s
        self._idle_ttl_s = idle_ttl_s
        self._keep_warm = keep_warm
        # Our loop retries with backoff; a long read timeout covers the long poll.
        client_config = Config(
            retries={"mode": "standard", "total_max_attempts": 2},
            connect_timeout=2,
            read_timeout=poll_wait_s + 10,
        )
        # The local administrator's client: only for giving messages back when stopping (_release),
        # which Lambda never does; the mapping itself polls as the function's role.
        self._admin_sqs: SQSClient = sqs_client or _session_client(
            "sqs", config.region, self.endpoint_url, client_config
        )
        self._sqs: SQSClient = sqs_client or self._role_client(spec, client_config)

        self.lock = threading.Lock()
        self.stats = PollerStats()
        self._stop = threading.Event()
        self._slots = threading.BoundedSemaphore(max(1, config.maximum_concurrency))
        self._in_flight = 0
        self._futures: set[concurrent.futures.Future[None]] = set()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._next_reload_check = 0.0

    def _role_client(self, spec: FunctionSpec, client_config: Config) -> SQSClient:
        """As Lambda's event source mapping does: SQS is called with the function's execution role
        (credentials from the emulator's STS, refreshed before they expire); without a role (tests of
        the poller alone), as the local administrator."""
        if not spec.role_arn:
            return _session_client("sqs", self.config.region, self.endpoint_url, client_config)  # type: ignore[no-any-return]
        session = role_session(spec.role_arn, f"esm-{spec.name}", self.endpoint_url, self.config.region)
        return session.client(  # type: ignore[no-any-return]
            "sqs", endpoint_url=self.endpoint_url, region_name=self.config.region, config=client_config
        )

    # -- public face -------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._pool.spec.name

    @property
    def spec(self) -> FunctionSpec:
        return self._pool.spec

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    @property
    def environment_count(self) -> int:
        """Execution environments of the function that currently exist, busy or idle."""
        return self._pool.environment_count

    @property
    def in_flight(self) -> int:
        """Batches being processed now (Lambda's ConcurrentExecutions for this mapping)."""
        with self.lock:
            return self._in_flight

    def snapshot(self) -> dict[str, Any]:
        function = self._pool.stats.snapshot()
        with self.lock:
            s = self.stats
            return {
                "function": self.name,
                "uuid": self.config.uuid,
                "invocations": function["invocations"],
                "errors": function["errors"],
                "timeouts": function["timeouts"],
                "throttles": s.throttles,
                "cold_starts": function["cold_starts"],
                "messages_received": s.messages_received,
                "messages_deleted": s.messages_deleted,
                "receive_errors": s.receive_errors,
                "recycles": s.recycles,
                "durations_ms": function["durations_ms"],
                "in_flight": self._in_flight,
                "environments": self._pool.environment_count,
            }

    def start(self) -> None:
        """Start polling (once per poller: after ``stop()`` create a new one)."""
        if self._thread is not None or self._stop.is_set():
            raise RuntimeError("a poller starts once")
        if not self.config.enabled:
            _log.info("event source mapping %s for %s is disabled; not polling", self.config.uuid, self.name)
            return
        n = max(1, self.config.maximum_concurrency)
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=n, thread_name_prefix=f"esm-{self.name}"
        )
        self._thread = threading.Thread(target=self._run, name=f"esm-poll-{self.name}", daemon=True)
        self._thread.start()
        _log.info(
            "polling %s -> %s (batch %d, window %.1fs, concurrency %d, partial failures %s)",
            self.config.queue_arn.rsplit(":", 1)[-1],
            self.name,
            self.config.batch_size,
            self.config.batching_window_s,
            n,
            self.config.report_batch_item_failures,
        )

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling, let running invocations finish within ``timeout``, then kill what is left.

        What is left is killed by closing the function's environments. Killed invocations delete
        nothing: their messages come back after the visibility timeout. Does not wait for a long poll
        in progress: the poll thread exits when it returns, and makes any messages it still received
        visible again at once.
        """
        deadline = time.monotonic() + timeout
        self._stop.set()
        with self.lock:
            futures = set(self._futures)
        if futures:
            concurrent.futures.wait(futures, timeout=max(0.0, deadline - time.monotonic()))
        if self._owns_invoker:
            self._invoker.close()
        else:
            self._pool.close()
        if futures:
            concurrent.futures.wait(futures, timeout=2.0)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        if self._thread is not None:
            self._thread.join(min(0.1, max(0.0, deadline - time.monotonic())))

    def __enter__(self) -> SqsPoller:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- dispatcher thread -------------------------------------------------------------------------

    def _check_queue(self) -> None:
        """Lambda reads the queue's attributes with the execution role when the mapping is created
        (it refuses a role without sqs:GetQueueAttributes, ReceiveMessage and DeleteMessage)."""
        try:
            self._sqs.get_queue_attributes(
                QueueUrl=self.config.queue_url, AttributeNames=["VisibilityTimeout"]
            )
        except Exception as e:
            _log.error("%s: the execution role cannot read the queue's attributes (%s)", self.name, e)

    def _run(self) -> None:
        self._check_queue()
        backoff = 0.0
        while not self._stop.is_set():
            try:
                self._maybe_reload()
                self._pool.reap_idle(self._idle_ttl_s, self._keep_warm)
                if not self._acquire_slot():
                    break
                try:
                    batch = self._collect_batch()
                except Exception as e:  # endpoint down, throttled, queue deleted... keep going
                    self._slots.release()
                    backoff = min(max(backoff * 2, 0.5), 10.0)
                    self._receive_failed(e, backoff)
                    continue
                backoff = 0.0
                if not self._dispatch(batch):
                    break
            except Exception:
                _log.exception("%s: poller loop error", self.name)
                self._stop.wait(1.0)

    def _receive_failed(self, error: Exception, backoff: float) -> None:
        if self._stop.is_set():
            return  # e.g. the emulator stopped right after us
        with self.lock:
            self.stats.receive_errors += 1
        _log.warning(
            "%s: receiving from %s failed (%s); retrying in %.1fs",
            self.name,
            self.config.queue_url,
            error,
            backoff,
        )
        self._stop.wait(backoff)

    def _dispatch(self, batch: list[Mapping[str, Any]]) -> bool:
        """Hand a batch (holding a slot) to a worker thread; False when stopping."""
        if not batch:
            self._slots.release()
            return True
        if self._stop.is_set() or not self._submit(batch):
            self._release(batch)
            self._slots.release()
            return False
        return True

    def _acquire_slot(self) -> bool:
        # Taking the slot before receiving means we never hold messages we cannot run yet.
        while not self._stop.is_set():
            if self._slots.acquire(timeout=0.2):
                return True
            self._maybe_reload()
        return False

    def _receive(self, max_messages: int, wait_s: int) -> list[Mapping[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self.config.queue_url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def _collect_batch(self) -> list[Mapping[str, Any]]:
        """Gather up to BatchSize messages; the batching window starts with the first message."""
        cfg = self.config
        batch: list[Mapping[str, Any]] = []
        window_end: float | None = None
        while len(batch) < cfg.batch_size and not self._stop.is_set():
            remaining = None if window_end is None else window_end - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            # Long-poll for the first message; inside the window never wait past its end.
            wait = self._poll_wait_s if remaining is None else min(self._poll_wait_s, int(remaining))
            try:
                messages = self._receive(min(_RECEIVE_MAX, cfg.batch_size - len(batch)), wait)
            except Exception:
                if batch:  # run what we hold rather than letting it time out
                    _log.warning(
                        "%s: receive failed mid-batch; invoking with %d message(s)", self.name, len(batch)
                    )
                    break
                raise
            if messages:
                batch.extend(messages)
                with self.lock:
                    self.stats.messages_received += len(messages)
                if window_end is None:
                    window_end = time.monotonic() + cfg.batching_window_s
                if cfg.batching_window_s <= 0:
                    break
            elif remaining is None:
                break  # nothing to do this round
            elif wait == 0:
                self._stop.wait(min(0.1, max(remaining, 0.0)))  # short polls: don't spin
        return batch

    def _release(self, batch: Sequence[Mapping[str, Any]]) -> None:
        """Stopping with messages in hand: make them visible again at once."""
        entries: list[ChangeMessageVisibilityBatchRequestEntryTypeDef] = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for i, m in enumerate(batch)
        ]
        for chunk in range(0, len(entries), _DELETE_MAX):
            with contextlib.suppress(Exception):
                self._admin_sqs.change_message_visibility_batch(
                    QueueUrl=self.config.queue_url,
                    Entries=entries[chunk : chunk + _DELETE_MAX],
                )

    def _submit(self, batch: list[Mapping[str, Any]]) -> bool:
        executor = self._executor
        if executor is None:
            return False
        with self.lock:
            self._in_flight += 1
            try:
                future = executor.submit(self._process, batch)
            except RuntimeError:  # shut down by stop() in the meantime
                self._in_flight -= 1
                return False
            self._futures.add(future)
        future.add_done_callback(self._forget)
        return True

    def _forget(self, future: concurrent.futures.Future[None]) -> None:
        with self.lock:
            self._futures.discard(future)

    # -- one invocation ----------------------------------------------------------------------------

    def _process(self, batch: list[Mapping[str, Any]]) -> None:
        try:
            event = build_sqs_event(batch, self.config.queue_arn, self.config.region)
            try:
                result = self._pool.invoke(event)
            except RuntimeError:
                if not self._stop.is_set():
                    raise
                return  # closed by stop() before it ran: the messages come back after the timeout
            if self._stop.is_set() and not result.ok:
                _log.info(
                    "%s: invocation aborted by shutdown; its messages return after the visibility timeout",
                    self.name,
                )
                return
            if result.ok:
                self._delete_succeeded(batch, result.payload)
            # On error or timeout nothing is deleted: SQS redelivers after the visibility timeout.
        except Exception:
            _log.exception("%s: processing a batch failed", self.name)
        finally:
            with self.lock:
                self._in_flight -= 1
            self._slots.release()

    def _delete_succeeded(self, batch: Sequence[Mapping[str, Any]], response: Any) -> None:
        ids = [m["MessageId"] for m in batch]
        keep, why = successful_message_ids(response, ids, self.config.report_batch_item_failures)
        if why:
            _log.warning("%s: %s; deleting %d of %d message(s)", self.name, why, len(keep), len(ids))
        by_id = {m["MessageId"]: m for m in batch}
        self._delete([by_id[i] for i in keep])

    def _delete(self, messages: Sequence[Mapping[str, Any]]) -> None:
        for chunk in range(0, len(messages), _DELETE_MAX):
            part = messages[chunk : chunk + _DELETE_MAX]
            entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(part)
            ]
            try:
                response = self._sqs.delete_message_batch(
                    QueueUrl=self.config.queue_url,
                    Entries=entries,
                )
            except Exception as e:
                _log.warning("%s: DeleteMessageBatch failed (%s); messages will be redelivered", self.name, e)
                continue
            failed = response.get("Failed") or []
            if failed:
                _log.warning("%s: %d message(s) could not be deleted: %s", self.name, len(failed), failed)
            with self.lock:
                self.stats.messages_deleted += len(part) - len(failed)

    # -- the function's configuration -----------------------------------------------------------------

    def _maybe_reload(self) -> None:
        if self._spec_loader is None or time.monotonic() < self._next_reload_check:
            return
        self._next_reload_check = time.monotonic() + self._reload_interval_s
        try:
            spec = self._spec_loader()
        except Exception as e:
            if str(e) != self._last_reload_error:  # once per distinct error, not every second
                _log.warning("%s: reading the function configuration failed (%s)", self.name, e)
            self._last_reload_error = str(e)
            return
        self._last_reload_error = ""
        if self._pool.update(spec):
            with self.lock:
                self.stats.recycles += 1
