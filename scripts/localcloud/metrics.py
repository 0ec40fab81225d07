"""The metrics AWS publishes by itself, published locally into moto's CloudWatch (moto publishes none).

- **AWS/SQS**, per queue (dimension ``QueueName``), sampled from the emulator's real queue state:
  ``ApproximateNumberOfMessagesVisible``, ``ApproximateNumberOfMessagesNotVisible``,
  ``ApproximateNumberOfMessagesDelayed`` and ``ApproximateAgeOfOldestMessage``. As the SQS developer
  guide describes, a message received three times or more without being deleted (a poison pill) is
  left out of the age until it is consumed; a dead-letter queue keeps the age its messages bring.
- **AWS/Lambda**, per function (dimension ``FunctionName``), from every invocation of the local
  cloud's :class:`~localcloud.invoker.Invoker` (it observes the pollers' and the API front's alike):
  ``Invocations``, ``Errors`` (function errors and timeouts) and ``Duration`` on each invocation,
  ``ConcurrentExecutions`` sampled. A local poller never invokes beyond its MaximumConcurrency, so it
  is never throttled and ``Throttles`` has no datapoints (as on AWS when nothing is throttled).
- **Embedded metric format**: the consumers' powertools Metrics print EMF JSON to stdout; Lambda's
  log pipeline turns it into metrics, and so does :class:`MetricsPublisher` from the runtime's
  ``localcloud.lambda.<name>`` loggers.

It reads and writes moto's backends in-process: the local cloud runs moto in this process.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localcloud.invoker import Invoker
    from localcloud.lambda_runtime import FunctionSpec, InvokeResult

__all__ = ["EMF_LOGGER", "MetricsPublisher", "emf_metrics", "oldest_message_age"]

log = logging.getLogger("localcloud.metrics")

EMF_LOGGER = "localcloud.lambda"  # the runtime forwards each function's output to EMF_LOGGER.<name>
POISON_PILL_RECEIVES = 3  # SQS leaves messages received this often out of the age metric

Metric = tuple[str, str, float | list[float], Sequence[tuple[str, str]], str | None, float]
# (namespace, name, value(s), dimensions, unit, epoch seconds)


def _naive_utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)  # how moto stores timestamps


def oldest_message_age(
    sent_timestamps_ms: Iterable[tuple[int, int]], now: float, *, dead_letter_queue: bool
) -> float:
    """ApproximateAgeOfOldestMessage in seconds from (SentTimestamp ms, receive count) pairs; 0 if none."""
    oldest = [
        sent for sent, receives in sent_timestamps_ms if dead_letter_queue or receives < POISON_PILL_RECEIVES
    ]
    return max(0.0, now - min(oldest) / 1000) if oldest else 0.0


def emf_metrics(text: str) -> list[Metric]:
    """The metrics of one embedded-metric-format log line; [] for anything else (or invalid EMF)."""
    start = text.find("{")
    if start < 0 or '"_aws"' not in text:
        return []
    try:
        doc = json.loads(text[start:])
        meta = doc["_aws"]
        at = float(meta["Timestamp"]) / 1000
        directives = meta["CloudWatchMetrics"]
    except (ValueError, KeyError, TypeError):
        return []
    metrics: list[Metric] = []
    for directive in directives if isinstance(directives, list) else []:
        try:
            namespace = str(directive["Namespace"])
            dimension_sets = directive.get("Dimensions") or [[]]
            definitions = directive["Metrics"]
        except (KeyError, TypeError, AttributeError):
            continue
        for definition in definitions:
            name = definition.get("Name") if isinstance(definition, dict) else None
            if not isinstance(name, str):
                continue
            raw = doc.get(name)
            values = raw if isinstance(raw, list) else [raw]
            if not values or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                continue
            for dimension_set in dimension_sets:
                if not all(isinstance(doc.get(d), str) for d in dimension_set):
                    continue  # EMF: every dimension key needs a string value at the root
                dimensions = [(d, str(doc[d])) for d in dimension_set]
                metrics.append(
                    (namespace, name, [float(v) for v in values], dimensions, definition.get("Unit"), at)
                )
    return metrics


class _EmfTap(logging.Handler):
    """Reads the functions' forwarded output; everything else passes through untouched."""

    def __init__(self, publisher: MetricsPublisher, logger: logging.Logger, forward: bool) -> None:
        super().__init__(logging.INFO)
        self.publisher, self.logger, self.forward = publisher, logger, forward

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if '"_aws"' in text:
                self.publisher.put(emf_metrics(text))
        except Exception:
            self.handleError(record)
        # Records this tap made visible (the logger's own level was above INFO) go on only as far as
        # they would have gone without it.
        parent = self.logger.parent
        if self.forward and parent is not None and record.levelno >= parent.getEffectiveLevel():
            parent.handle(record)


class MetricsPublisher:
    """Writes the AWS/SQS and AWS/Lambda metrics and the consumers' EMF metrics into moto's CloudWatch."""

    def __init__(self, invoker: Invoker | None = None) -> None:
        self.invoker = invoker
        self._tap: _EmfTap | None = None
        self._saved: tuple[int, bool] | None = None

    # -- wiring ------------------------------------------------------------------------------------

    def attach(self) -> None:
        if self.invoker is not None:
            self.invoker.observers.add(self)
        logger = logging.getLogger(EMF_LOGGER)
        self._saved = (logger.level, logger.propagate)
        forward = logger.getEffectiveLevel() > logging.INFO
        if forward:  # EMF lines are logged at INFO: let them be created, and keep them from the console
            logger.setLevel(logging.INFO)
            logger.propagate = False
        self._tap = _EmfTap(self, logger, forward)
        logger.addHandler(self._tap)

    def detach(self) -> None:
        if self.invoker is not None:
            self.invoker.observers.remove(self)
        logger = logging.getLogger(EMF_LOGGER)
        if self._tap is not None:
            logger.removeHandler(self._tap)
            self._tap = None
        if self._saved is not None:
            logger.setLevel(self._saved[0])
            logger.propagate = self._saved[1]
            self._saved = None

    # -- sources -----------------------------------------------------------------------------------

    def invoked(self, spec: FunctionSpec, result: InvokeResult) -> None:
        """An invoke observer: one invocation's AWS/Lambda metrics."""
        self.record_invocation(spec.name, spec.arn, result)

    def record_invocation(self, function_name: str, arn: str, result: InvokeResult) -> None:
        dims = [("FunctionName", function_name)]
        now = time.time()
        self.put(
            [
                ("AWS/Lambda", "Invocations", 1.0, dims, "Count", now),
                ("AWS/Lambda", "Errors", 0.0 if result.ok else 1.0, dims, "Count", now),
                ("AWS/Lambda", "Duration", float(result.duration_ms), dims, "Milliseconds", now),
            ],
            arn=arn,
        )

    def sample(self, now: float) -> None:
        """The gauges: every queue's depth and age, every function's concurrency."""
        from moto.sqs.models import sqs_backends

        for account_id, regions in list(sqs_backends.items()):
            for region, backend in list(regions.items()):
                queues = list(backend.queues.values())
                dead_letter_queues = {id(q.dead_letter_queue) for q in queues if q.dead_letter_queue}
                metrics: list[Metric] = []
                for queue in queues:
                    metrics += _queue_metrics(queue, now, dead_letter_queue=id(queue) in dead_letter_queues)
                self._put_into(account_id, region, metrics)
        for pool in self.invoker.pools if self.invoker is not None else []:
            dims = [("FunctionName", pool.spec.name)]
            self.put(
                [("AWS/Lambda", "ConcurrentExecutions", float(pool.in_flight), dims, "Count", now)],
                arn=pool.spec.arn,
            )

    # -- the sink ----------------------------------------------------------------------------------

    def put(self, metrics: Sequence[Metric], *, arn: str = "") -> None:
        """Store metrics in the CloudWatch of the ARN's account and region (default: moto's default)."""
        from moto.core.models import DEFAULT_ACCOUNT_ID

        parts = arn.split(":")
        account, region = (parts[4], parts[3]) if len(parts) > 4 else (DEFAULT_ACCOUNT_ID, _default_region())
        self._put_into(account, region, metrics)

    @staticmethod
    def _put_into(account_id: str, region: str, metrics: Sequence[Metric]) -> None:
        if not metrics:
            return
        from moto.cloudwatch.models import cloudwatch_backends

        backend = cloudwatch_backends[account_id][region]
        by_namespace: dict[str, list[dict[str, Any]]] = {}
        for namespace, name, value, dims, unit, at in metrics:
            datum: dict[str, Any] = {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
                "Timestamp": _naive_utc(at),
            }
            if isinstance(value, list):
                datum["Values"] = value
            else:
                datum["Value"] = value
            if unit:
                datum["Unit"] = unit
            by_namespace.setdefault(namespace, []).append(datum)
        for namespace, data in by_namespace.items():
            try:
                backend.put_metric_data(namespace, data)
            except Exception as e:  # an odd EMF value must not stop the loop
                log.warning("PutMetricData into %s failed: %s", namespace, e)

    def prune(self, before: float) -> None:
        """Drop datapoints older than ``before`` (moto keeps every datapoint, in one list)."""
        from moto.cloudwatch.models import cloudwatch_backends

        cutoff = _naive_utc(before)
        for regions in list(cloudwatch_backends.values()):
            for backend in list(regions.values()):
                data = backend.metric_data
                seen = len(data)
                kept = [d for d in data[:seen] if d.timestamp >= cutoff]
                if len(kept) < seen:
                    data[:seen] = kept  # what was appended meanwhile (after `seen`) stays


def _queue_metrics(queue: Any, now: float, *, dead_letter_queue: bool) -> list[Metric]:
    """AWS/SQS gauges of one moto queue."""
    dims = [("QueueName", queue.name)]
    messages: list[Any] = list(queue._messages)
    age = oldest_message_age(
        ((int(m.sent_timestamp), int(m.approximate_receive_count)) for m in messages if m.sent_timestamp),
        now,
        dead_letter_queue=dead_letter_queue,
    )
    visible = sum(1 for m in messages if m.visible and not m.delayed)
    delayed = sum(1 for m in messages if m.delayed)
    in_flight = len(messages) - visible - delayed
    return [
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", float(visible), dims, "Count", now),
        ("AWS/SQS", "ApproximateNumberOfMessagesNotVisible", float(in_flight), dims, "Count", now),
        ("AWS/SQS", "ApproximateNumberOfMessagesDelayed", float(delayed), dims, "Count", now),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage", round(age, 3), dims, "Seconds", now),
    ]


def _default_region() -> str:
    from localcloud.deploy import REGION

    return REGION
