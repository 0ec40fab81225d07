"""One rule for every queue consumer: the three stages and notify.

A consumer turns each SQS record into its messages (the S3 ObjectCreated events of one notification,
or one upload.finished) and handles them one by one. Rejections are results, not errors; anything
else raises, so SQS delivers the record again. On the last receive (ApproximateReceiveCount has
reached the queue's maxReceiveCount) the consumer first records the failure on the upload, so users
and ops see it before the record goes to the dead-letter queue, and then raises all the same.
powertools' BatchProcessor reports the failed records only (partial batch response), so a bad record
never fails its neighbours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from intake.status import ConsumerName

if TYPE_CHECKING:  # parser models are notify's only (FinishedRecord): the stages need not load them
    from aws_lambda_powertools.utilities.parser.models import SqsRecordModel

logger = Logger(child=True)

RecordT = TypeVar("RecordT", bound="SQSRecord | SqsRecordModel")  # as BatchProcessor hands it over
MessageT = TypeVar("MessageT")

LambdaHandler = Callable[[dict[str, Any], LambdaContext], PartialItemFailureResponse]


def receive_count(record: SQSRecord | SqsRecordModel) -> int:
    """How often SQS has delivered this record, this delivery included."""
    if isinstance(record, SQSRecord):
        return int(record.attributes.approximate_receive_count)
    return int(record.attributes.ApproximateReceiveCount)


@dataclass(frozen=True)
class Consumer(Generic[RecordT, MessageT]):
    """What one consumer does with a record; calling it applies the rule (BatchProcessor's record handler)."""

    name: ConsumerName
    messages: Callable[[RecordT], Iterable[MessageT]]  # what one record holds
    handle: Callable[[MessageT], object]  # the work; raises to have the record delivered again
    record_failure: Callable[
        [MessageT, Exception, int], None
    ]  # (message, error, attempts), last receive only
    max_receive_count: int  # the queue's maxReceiveCount

    def __call__(self, record: RecordT) -> None:
        attempts = receive_count(record)
        for message in self.messages(record):
            try:
                self.handle(message)
            except Exception as exc:
                if attempts >= self.max_receive_count:
                    self._give_up(message, exc, attempts)
                raise

    def _give_up(self, message: MessageT, error: Exception, attempts: int) -> None:
        logger.error(
            "last attempt failed; recording the failure",
            extra={"consumer": self.name, "attempts": attempts, "failed_message": repr(message)},
        )
        try:
            self.record_failure(message, error, attempts)
        except Exception:  # keep the original error: it is the one that explains the DLQ entry
            logger.exception("could not record the failure")


def lambda_handler(
    consumer: Consumer[Any, Any],
    processor: BatchProcessor,
    on_invoke: Callable[[LambdaContext], object] | None = None,
) -> LambdaHandler:
    """A consumer function's entry point: each batch through `consumer`, with powertools' Logger and Metrics.

    `on_invoke` runs first on every invocation (notify registers the context for idempotency there).
    """
    root_logger = Logger()
    metrics = Metrics()

    @root_logger.inject_lambda_context
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        if on_invoke is not None:
            on_invoke(context)
        return process_partial_response(
            event=event, record_handler=consumer, processor=processor, context=context
        )

    return handler
