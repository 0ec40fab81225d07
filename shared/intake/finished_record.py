"""The notify queue's SQS record: an upload.finished message (raw SNS delivery) as its body.

Apart from intake.events because it loads powertools' parser models (every SQS, SNS, S3, ... model
of the package), which only the notify function needs: the stages read their records as powertools'
SQSRecord data class.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json

from intake.events import UploadFinished


class FinishedRecord(SqsRecordModel):
    """An SQS record on the notify queue: the body is an UploadFinished (raw SNS delivery)."""

    body: Json[UploadFinished]
