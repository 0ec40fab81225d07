"""Notify consumer: SQS (upload.finished via SNS) -> one SES email per final outcome."""

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from intake import announce, aws
from intake.events import FinishedRecord, UploadFinished
from intake.settings import settings

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, model=FinishedRecord)
idempotency = IdempotencyConfig(
    event_key_jmespath="[upload_id, version, status]", expires_after_seconds=7 * 24 * 3600
)
# Our process-wide client: no second boto3 session and DynamoDB model to load at a cold start.
persistence = DynamoDBPersistenceLayer(
    table_name=os.environ["IDEMPOTENCY_TABLE"], boto3_client=aws.dynamodb()
)


@idempotent_function(data_keyword_argument="finished", persistence_store=persistence, config=idempotency)  # type: ignore[untyped-decorator]
def announce_once(finished: UploadFinished) -> dict[str, Any]:
    return announce.announce(finished, settings())


def record_handler(record: FinishedRecord) -> None:
    try:
        announce_once(finished=record.body)
    except Exception as exc:
        if int(record.attributes.ApproximateReceiveCount) >= settings().max_receive_count:
            try:
                announce.record_failure(record.body, exc, settings())
            except Exception:  # keep the original error: it is the one that explains the DLQ entry
                logger.exception("could not record the failure")
        raise


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    idempotency.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
