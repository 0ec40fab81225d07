"""Notify consumer: SQS (upload.finished via SNS) -> one SES email per final outcome.

Importing this module reads and checks the function's settings (intake.settings.NotifySettings).
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from intake import announce, aws, consumer
from intake.events import UploadFinished
from intake.finished_record import FinishedRecord
from intake.settings import NotifySettings

settings = NotifySettings.from_env()
idempotency = IdempotencyConfig(
    event_key_jmespath="[upload_id, version, status]", expires_after_seconds=7 * 24 * 3600
)
# Our process-wide client: no second boto3 session and DynamoDB model to load at a cold start.
persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=aws.dynamodb())


@idempotent_function(data_keyword_argument="finished", persistence_store=persistence, config=idempotency)  # type: ignore[untyped-decorator]
def announce_once(finished: UploadFinished) -> dict[str, Any]:
    return announce.announce(finished, settings)


handler = consumer.lambda_handler(
    announce.consumer(announce_once, settings),
    BatchProcessor(event_type=EventType.SQS, model=FinishedRecord),
    on_invoke=idempotency.register_lambda_context,
)
