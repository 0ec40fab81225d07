"""What arrives on the queues: S3 ObjectCreated events (raw SNS delivery) and upload.finished messages.

The notify queue's SQS record model (FinishedRecord) is in intake.finished_record: it loads powertools'
parser models, which only notify needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event
from pydantic import BaseModel, ConfigDict, field_validator

from intake.status import FINAL_STATUSES, Status

TEST_EVENT = "s3:TestEvent"


@dataclass(frozen=True)
class ObjectCreated:
    bucket: str
    key: str  # decoded: S3 sends keys quote_plus-encoded
    size: int
    etag: str
    event_time: str
    sequencer: str | None  # AWS always sends it; moto does not

    @property
    def version(self) -> str:
        """Orders events for one key: S3's sequencer where there is one, else the event time."""
        if self.sequencer:
            return "s" + self.sequencer.rjust(32, "0")
        return "t" + self.event_time


def object_created_events(body: str) -> list[ObjectCreated]:
    """The ObjectCreated records in one SQS message body; [] for s3:TestEvent.

    Raises ValueError on a body that is not an S3 event: that is unexpected and belongs in the DLQ.
    """
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"message body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise ValueError("message body is not a JSON object")
    if payload.get("Event") == TEST_EVENT:
        return []
    if "Records" not in payload:
        raise ValueError("message body is not an S3 event notification")
    created = []
    for record in S3Event(payload).records:
        if not record.event_name.startswith("ObjectCreated:"):
            continue
        obj = record.s3.get_object
        created.append(
            ObjectCreated(
                bucket=record.s3.bucket.name,
                key=unquote_plus(obj.key),
                size=int(obj.get("size") or 0),
                etag=obj.etag.strip('"'),
                event_time=record.event_time,
                sequencer=obj.get("sequencer"),
            )
        )
    return created


class UploadFinished(BaseModel):
    """Published once an upload reaches a final state; the notify queue consumes it."""

    model_config = ConfigDict(frozen=True)

    type: Literal["upload.finished"] = "upload.finished"
    upload_id: str
    status: Status  # a final one
    version: str

    @field_validator("status")
    @classmethod
    def _final(cls, status: Status) -> Status:
        if status not in FINAL_STATUSES:
            raise ValueError(f"{status} is not a final status")
        return status
