"""Notify consumer: SQS (upload.finished via SNS) -> SES emails, a burst of one owner's uploads in one.

Importing this module reads and checks the function's settings (intake.settings.NotifySettings).
"""

from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from intake import announce, aws
from intake.settings import NotifySettings

settings = NotifySettings.from_env()
# The key is the digest (one email), not the upload: the outbox puts each upload in exactly one digest
# (intake.announce), and this makes each digest's email go out once.
idempotency = IdempotencyConfig(event_key_jmespath="digest_id", expires_after_seconds=7 * 24 * 3600)
# Our process-wide client: no second boto3 session and DynamoDB model to load at a cold start.
persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=aws.dynamodb())


@idempotent_function(data_keyword_argument="digest", persistence_store=persistence, config=idempotency)  # type: ignore[untyped-decorator]
def send_once(digest: dict[str, Any]) -> dict[str, Any]:
    return announce.send(digest, settings)


handler = announce.lambda_handler(settings, send_once, on_invoke=idempotency.register_lambda_context)
