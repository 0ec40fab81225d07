"""One deliberate poison message per consumer queue: a body its consumer cannot read.

The product's rule is that only unexpected failures reach a dead-letter queue. A body that is not
JSON is one for every consumer: the stages' event parser raises ValueError on it
(`intake.events.object_created_events`), and notify's record model (`FinishedRecord`) fails to parse
it. Each receive fails, and SQS moves it to the DLQ after maxReceiveCount receives.
"""

from __future__ import annotations

from typing import Any

from .rates import POISON, Counts

PREFIX = "localcloud.faults poison for "


def body(consumer: str) -> str:
    return f"{PREFIX}{consumer}: this is not JSON"


def is_poison(message_body: str, consumer: str | None = None) -> bool:
    """Whether a message body is a deliberate poison (for `consumer`, if named)."""
    return message_body == body(consumer) if consumer else message_body.startswith(PREFIX)


def send(sqs: Any, queue_url: str, consumer: str, counts: Counts) -> None:
    """Send the poison for `consumer` to its queue (as the administrator: the fault, not a function)."""
    sqs.send_message(QueueUrl=queue_url, MessageBody=body(consumer))
    counts.add(POISON, consumer)
