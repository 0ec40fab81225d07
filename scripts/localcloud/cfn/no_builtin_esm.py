"""moto must never consume an SQS queue itself: the local cloud runs its own event-source pollers.

In moto 5.2.5, CreateEventSourceMapping (API or CloudFormation) on an SQS queue also registers the
mapping in the queue's `lambda_event_source_mappings`; from then on every message added to the
queue (SendMessage, SNS fan-out, S3 notification) is received by moto right away, which tries to run
the function in Docker and so burns one receive per message (and deletes the batch on "success").
The mapping's registration in the Lambda backend is kept: ListEventSourceMappings and
GetEventSourceMapping still show it Enabled with all its properties (BatchSize,
MaximumBatchingWindowInSeconds, FunctionResponseTypes, ScalingConfig, ...), which is what the
local pollers read. Only the queue-side registry is neutralised: reading it always gives an empty
mapping and writes to it are dropped, so `Queue.add_message` never delivers to Lambda.
"""

from __future__ import annotations

from typing import Any

from moto.sqs.models import Queue


class _NoBuiltinPollers:
    """Data descriptor for `Queue.lambda_event_source_mappings`: always empty, ignores assignment."""

    localcloud = True

    def __get__(self, instance: object, owner: type | None = None) -> dict[str, Any]:
        return {}

    def __set__(self, instance: object, value: Any) -> None:
        """Queue.__init__ assigns {}; nothing is kept."""


def install() -> None:
    """Disable moto's own SQS -> Lambda delivery (idempotent; applies to existing queues too)."""
    if not getattr(Queue.__dict__.get("lambda_event_source_mappings"), "localcloud", False):
        # A data descriptor on the class takes precedence over the instance attribute.
        setattr(Queue, "lambda_event_source_mappings", _NoBuiltinPollers())  # noqa: B010
