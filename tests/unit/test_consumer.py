"""The one consumer rule (intake.consumer): the last receive records the failure, then still raises.

The stages and notify are built as they are in their handlers; only their AWS side is replaced: the
stage's store (the record write) and notify's Records.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from intake import announce, consumer, stages
from intake.events import ObjectCreated, UploadFinished
from intake.keys import UploadKey
from intake.records import Settled
from intake.settings import IndexSettings, NotifySettings
from intake.status import Outcome, StageResult, Status
from tests.support.aws import Context, s3_event_body, sqs_event

KEY = "uploads/owner-a/u1/cat.jpg"
STAGE_ENV = {"INDEX_TABLE": "index", "FINISHED_TOPIC_ARN": "arn:topic", "MAX_RECEIVE_COUNT": "3"}
NOTIFY_ENV = {
    "INDEX_TABLE": "index",
    "SENDER_EMAIL": "intake@example.com",
    "IDEMPOTENCY_TABLE": "idem",
    "USER_SETTINGS_TABLE": "settings",
    "MAX_RECEIVE_COUNT": "3",
}


class Broken(Exception):
    """What the work raises: something unexpected, so the message must be retried."""


def stage_record(receive_count: int) -> SQSRecord:
    event = sqs_event(s3_event_body("uploads", KEY), receive_count=receive_count)
    return SQSRecord(event["Records"][0])


def finished_event(receive_count: int) -> dict[str, Any]:
    body = UploadFinished(upload_id="u1", status=Status.READY, version="t1").model_dump_json()
    return sqs_event(body, receive_count=receive_count)


@pytest.fixture
def stored(monkeypatch: pytest.MonkeyPatch) -> list[StageResult]:
    """The stage results the stage writes (instead of DynamoDB)."""
    results: list[StageResult] = []

    def store(key: UploadKey, result: StageResult, attributes: Any, cfg: Any) -> Settled:
        assert key.key == KEY
        results.append(result)
        return Settled(Outcome(Status.PROCESSING, result.version), needs_announcement=False)

    monkeypatch.setattr(stages, "store", store)
    return results


def broken_index() -> stages.StageSpec[IndexSettings]:
    def work(event: ObjectCreated, key: UploadKey, cfg: IndexSettings) -> Any:
        raise Broken("S3 is having a bad day")

    return stages.StageSpec("index", IndexSettings, work)


@pytest.mark.parametrize("receive_count", [1, 2])
def test_a_stage_records_nothing_before_the_last_receive(
    stored: list[StageResult], receive_count: int
) -> None:
    rule = stages.consumer(broken_index(), IndexSettings.from_env(STAGE_ENV))
    with pytest.raises(Broken):
        rule(stage_record(receive_count))
    assert stored == []


@pytest.mark.parametrize("receive_count", [3, 4])  # 4: the queue's maxReceiveCount was lowered meanwhile
def test_a_stage_records_failed_on_the_last_receive_and_still_raises(
    stored: list[StageResult], receive_count: int
) -> None:
    rule = stages.consumer(broken_index(), IndexSettings.from_env(STAGE_ENV))
    with pytest.raises(Broken):
        rule(stage_record(receive_count))
    (failed,) = stored
    assert (failed.stage, failed.state) == ("index", "failed")
    assert failed.reasons == (
        f"index did not complete after {receive_count} attempts because of an error on our side",
    )


def test_a_stage_that_succeeds_on_the_last_receive_records_only_its_result(stored: list[StageResult]) -> None:
    done = StageResult(stage="index", state="done", version="t1", at="now")
    spec = stages.StageSpec("index", IndexSettings, lambda event, key, cfg: (done, {}))
    stages.consumer(spec, IndexSettings.from_env(STAGE_ENV))(stage_record(3))
    assert stored == [done]


class FakeRecords:
    """Records, as far as notify's failure recording uses it; reading the record fails."""

    failures: ClassVar[list[tuple[str, str]]] = []

    def __init__(self, table: str) -> None:
        assert table == "index"

    def get(self, upload_id: str) -> None:
        raise Broken("DynamoDB throttled us")

    def mark_notify_failed(self, upload_id: str, detail: str) -> None:
        self.failures.append((upload_id, detail))


@pytest.fixture
def notify_failures(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    monkeypatch.setattr(announce, "Records", FakeRecords)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Intake")
    monkeypatch.setattr(FakeRecords, "failures", [])
    return FakeRecords.failures


def notify_handler() -> announce.LambdaHandler:
    """Notify as its handler builds it (intake.announce has its own batch rule: it groups the batch)."""

    def send_once(**_: Any) -> dict[str, Any]:
        raise AssertionError("nothing is sent when the record cannot be read")

    return announce.lambda_handler(NotifySettings.from_env(NOTIFY_ENV), send_once, on_invoke=lambda c: None)


@pytest.mark.parametrize("receive_count", [1, 2])
def test_notify_records_nothing_before_the_last_receive(
    notify_failures: list[tuple[str, str]], receive_count: int
) -> None:
    with pytest.raises(BatchProcessingError):  # every record failed: a function error, as BatchProcessor
        notify_handler()(finished_event(receive_count), Context())  # type: ignore[arg-type]
    assert notify_failures == []


def test_notify_records_the_unsent_email_on_the_last_receive_and_still_raises(
    notify_failures: list[tuple[str, str]],
) -> None:
    with pytest.raises(BatchProcessingError):
        notify_handler()(finished_event(3), Context())  # type: ignore[arg-type]
    assert notify_failures == [("u1", "email for ready not sent: Broken")]


def test_a_failure_to_record_keeps_the_original_error() -> None:
    def handle(message: str) -> None:
        raise Broken(message)

    def record_failure(message: str, error: Exception, attempts: int) -> None:
        raise RuntimeError("DynamoDB is down too")

    rule: consumer.Consumer[SQSRecord, str] = consumer.Consumer(
        name="validate",
        messages=lambda record: ["m"],
        handle=handle,
        record_failure=record_failure,
        max_receive_count=1,
    )
    with pytest.raises(Broken):
        rule(stage_record(1))


def test_the_lambda_handler_reports_only_the_failed_record(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Intake")
    handled: list[str] = []
    failures: list[tuple[str, int]] = []

    def handle(message: str) -> None:
        if message == "bad":
            raise Broken(message)
        handled.append(message)

    rule: consumer.Consumer[SQSRecord, str] = consumer.Consumer(
        name="index",
        messages=lambda record: [json.loads(record.body)],
        handle=handle,
        record_failure=lambda message, error, attempts: failures.append((message, attempts)),
        max_receive_count=2,
    )
    invoked: list[Any] = []
    handler = consumer.lambda_handler(
        rule, BatchProcessor(event_type=EventType.SQS), on_invoke=invoked.append
    )
    event = sqs_event(json.dumps("good"), json.dumps("bad"), receive_count=2)
    context = Context()
    response = handler(event, context)  # type: ignore[arg-type]
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert handled == ["good"] and failures == [("bad", 2)] and invoked == [context]
