"""The emulator's state, read once the pipeline is quiet: the soak's ledger is made from this, never
from logs. The local cloud runs in this process, so moto's backends are read directly where the API
would disturb what it reports (receiving a DLQ message to read it would count a receive); the index
and the thumbnail bucket are read with the administrator's API calls.

Only the soak's own stack is read: its table, its bucket, its queues (by the stack's outputs), and
the emails sent to the soak's user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from localcloud.authz.identity import DEFAULT_ACCOUNT
from localcloud.deploy import REGION

_UPLOAD_ID = re.compile(r"\(id ([A-Za-z0-9_.-]+)\)")  # how an outcome or digest email names each upload
_deserializer = TypeDeserializer()


@dataclass(frozen=True)
class Email:
    to: tuple[str, ...]
    body: str

    @property
    def upload_ids(self) -> tuple[str, ...]:
        """Every upload the email announces: one, or each line of a digest."""
        return tuple(_UPLOAD_ID.findall(self.body))


@dataclass(frozen=True)
class QueueState:
    visible: int
    in_flight: int
    delayed: int
    bodies: tuple[str, ...]  # every message's, visible or not

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed


@dataclass(frozen=True)
class State:
    records: tuple[dict[str, Any], ...]  # every index record of the soak's user
    thumbnails: tuple[str, ...]  # every key under the user's thumbnails/ prefix
    emails: tuple[Email, ...]  # every email sent to the user
    queues: dict[str, QueueState]  # consumer -> its queue
    dlqs: dict[str, QueueState]  # consumer -> its dead-letter queue


CONSUMERS = ("validate", "thumbnail", "index", "notify")


def sent_emails(to: str) -> list[Email]:
    """Emails SES accepted for `to` (moto's SES backend keeps every sent message)."""
    from moto.ses.models import ses_backends

    sent = list(ses_backends[DEFAULT_ACCOUNT][REGION].sent_messages)
    out = []
    for message in sent:
        destinations = getattr(message, "destinations", None) or {}
        addresses = tuple(destinations.get("ToAddresses", []))
        if to in addresses:
            out.append(Email(addresses, str(getattr(message, "body", ""))))
    return out


def queue_state(queue_url: str) -> QueueState:
    """A queue's messages as moto holds them, without receiving any."""
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[DEFAULT_ACCOUNT][REGION].queues[queue_url.rsplit("/", 1)[-1]]
    messages = list(queue._messages)
    delayed = sum(1 for m in messages if m.delayed)
    visible = sum(1 for m in messages if m.visible and not m.delayed)
    return QueueState(visible, len(messages) - visible - delayed, delayed, tuple(m.body for m in messages))


def queues(outputs: dict[str, str]) -> tuple[dict[str, QueueState], dict[str, QueueState]]:
    """(consumer -> queue, consumer -> DLQ) of the stack."""
    main = {c: queue_state(outputs[f"{c.capitalize()}QueueUrl"]) for c in CONSUMERS}
    dead = {c: queue_state(outputs[f"{c.capitalize()}DLQUrl"]) for c in CONSUMERS}
    return main, dead


def records(dynamodb: Any, table: str, owner: str) -> list[dict[str, Any]]:
    items = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for raw in page.get("Items", []):
            item = {k: _deserializer.deserialize(v) for k, v in raw.items()}
            if item.get("owner") == owner:
                items.append(item)
    return items


def thumbnail_keys(s3: Any, bucket: str, owner: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"thumbnails/{owner}/"):
        keys.extend(str(o["Key"]) for o in page.get("Contents", []))
    return keys


def read(outputs: dict[str, str], dynamodb: Any, s3: Any, owner: str, email: str) -> State:
    main, dead = queues(outputs)
    return State(
        records=tuple(records(dynamodb, outputs["IndexTableName"], owner)),
        thumbnails=tuple(thumbnail_keys(s3, outputs["ThumbnailBucketName"], owner)),
        emails=tuple(sent_emails(email)),
        queues=main,
        dlqs=dead,
    )
