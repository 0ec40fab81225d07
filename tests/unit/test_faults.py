"""The soak's fault injectors (localcloud.faults), each on its own: what botocore makes of each
injected error (a real client against a stand-in emulator), the SQS faults, the duplicate S3 events,
a process killed mid-invocation, a poller restart, and the poison every consumer must fail on."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pydantic
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError
from werkzeug.test import Client

from intake.events import object_created_events
from intake.finished_record import FinishedRecord
from localcloud.authz.identity import Caller
from localcloud.faults import Counts, Rates, poison
from localcloud.faults.kills import Killer
from localcloud.faults.middleware import FaultInjection
from localcloud.faults.pollers import PollerRestarts
from localcloud.faults.rates import API_KILL, POLLER_RESTART, SQS_REDELIVERY, STAGE_DELAY, THROTTLE
from localcloud.faults.s3_events import DuplicateS3Events
from localcloud.invoker import Invoker
from localcloud.lambda_runtime import FunctionSpec
from localcloud.server import ServerThread, free_port

FUNCTION = "intake-thumbnail"
ROLE_KEY, POLLER_KEY = "ASIAFUNCTION", "ASIAPOLLER"
NONE = Rates.none()


def resolve(access_key: str) -> Caller | None:
    """The stand-in STS: one key for the function's session, one for its poller's."""
    sessions = {ROLE_KEY: FUNCTION, POLLER_KEY: f"esm-{FUNCTION}"}
    if access_key not in sessions:
        return None
    arn = f"arn:aws:sts::123456789012:assumed-role/thumbnail-role/{sessions[access_key]}"
    return Caller(arn, "arn:aws:iam::123456789012:role/thumbnail-role", "123456789012", "secret", "token")


class Emulator:
    """Stands for moto: answers 200 with an empty JSON/XML body, and counts what reached it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.calls.append(str(environ.get("HTTP_X_AMZ_TARGET") or environ["PATH_INFO"]))
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0")])
        return [b"{}"]


def injection(rates: Rates, **kwargs: Any) -> tuple[FaultInjection, Emulator, Counts]:
    emulator, counts = Emulator(), Counts()
    faults = FaultInjection(emulator, rates, counts, rng=random.Random(1), resolve=resolve, **kwargs)
    faults.arm([FUNCTION], [FUNCTION])
    return faults, emulator, counts


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, FaultInjection, Emulator]]:
    """Every call of a function's role fails (throttling); the tests change the rates as they need.
    botocore's backoff is skipped: its retries, not its waits, are what is tested."""
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0)
    faults, emulator, _ = injection(Rates(throttle=1.0, server_error=0.0, connection_reset=0.0))
    port = free_port()
    server = ServerThread("127.0.0.1", port, faults, name="faults-test").start()
    try:
        yield f"http://127.0.0.1:{port}", faults, emulator
    finally:
        server.stop()


def client(service: str, endpoint: str, key: str = ROLE_KEY) -> Any:
    config = Config(retries={"mode": "standard", "max_attempts": 3}, signature_version="s3v4")
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key="secret",
        aws_session_token="token",
        config=config,
    )


CALLS: dict[str, Any] = {
    "s3": lambda c: c.put_object(Bucket="b", Key="thumbnails/k.jpg", Body=b"jpeg"),
    "dynamodb": lambda c: c.get_item(TableName="t", Key={"upload_id": {"S": "u"}}),
    "sns": lambda c: c.publish(TopicArn="arn:aws:sns:us-east-1:123456789012:t", Message="m"),
    "ses": lambda c: c.send_email(
        Source="a@example.com",
        Destination={"ToAddresses": ["b@example.com"]},
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}},
    ),
}
THROTTLING = {
    "s3": {"SlowDown"},
    "dynamodb": {"ProvisionedThroughputExceededException", "ThrottlingException"},
    "sns": {"Throttling"},
    "ses": {"Throttling"},
}
SERVER_ERRORS = {
    "s3": {"InternalError", "ServiceUnavailable"},
    "dynamodb": {"InternalServerError"},
    "sns": {"InternalError"},
    "ses": {"ServiceUnavailable"},
}


@pytest.mark.parametrize("service", sorted(CALLS))
def test_throttling_is_the_services_own_and_botocore_retries_it(
    service: str, served: tuple[str, FaultInjection, Emulator]
) -> None:
    endpoint, faults, emulator = served
    faults.rates = Rates(throttle=1.0, server_error=0.0, connection_reset=0.0)
    with pytest.raises(ClientError) as raised:
        CALLS[service](client(service, endpoint))
    error = raised.value.response
    assert error["Error"]["Code"] in THROTTLING[service]
    # retried as the functions' clients retry (intake.aws: standard mode, max_attempts 3 = 3 retries)
    assert error["ResponseMetadata"]["RetryAttempts"] == 3
    assert emulator.calls == []  # never performed
    assert faults.counts.snapshot()[THROTTLE] == 4


@pytest.mark.parametrize("service", sorted(CALLS))
def test_server_errors_are_the_services_own_and_retried(
    service: str, served: tuple[str, FaultInjection, Emulator]
) -> None:
    endpoint, faults, emulator = served
    faults.rates = Rates(throttle=0.0, server_error=1.0, connection_reset=0.0)
    with pytest.raises(ClientError) as raised:
        CALLS[service](client(service, endpoint))
    assert raised.value.response["Error"]["Code"] in SERVER_ERRORS[service]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] >= 500
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 3
    assert emulator.calls == []


def test_a_connection_reset_is_retried_as_a_connection_error(
    served: tuple[str, FaultInjection, Emulator],
) -> None:
    endpoint, faults, emulator = served
    faults.rates = Rates(throttle=0.0, server_error=0.0, connection_reset=1.0)
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        CALLS["dynamodb"](client("dynamodb", endpoint))
    assert faults.counts.snapshot()["connection_reset"] == 4  # the first try and botocore's three retries
    assert emulator.calls == []
    faults.rates = Rates.none()
    CALLS["dynamodb"](client("dynamodb", endpoint))  # the server still serves
    assert len(emulator.calls) == 1


def test_only_the_functions_own_calls_get_faults(served: tuple[str, FaultInjection, Emulator]) -> None:
    endpoint, faults, emulator = served
    CALLS["dynamodb"](client("dynamodb", endpoint, key="test"))  # the administrator (the soak itself)
    CALLS["dynamodb"](client("dynamodb", endpoint, key="ASIASOMEONEELSE"))  # another role's session
    faults.disarm()
    CALLS["dynamodb"](client("dynamodb", endpoint))  # the function, before arming or after disarming
    assert len(emulator.calls) == 3 and faults.counts.snapshot()[THROTTLE] == 0


def test_a_presigned_request_is_never_a_fault() -> None:
    faults, emulator, _counts = injection(Rates(throttle=1.0, server_error=0.0, connection_reset=0.0))
    query = f"X-Amz-Credential={ROLE_KEY}/20260101/us-east-1/s3/aws4_request&X-Amz-Signature=x"
    response = Client(faults).get(f"/bucket/key?{query}")
    assert response.status_code == 200 and emulator.calls == ["/bucket/key"]


def _signed(key: str, service: str) -> dict[str, str]:
    credential = f"{key}/20260101/us-east-1/{service}/aws4_request"
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=x"}


def test_a_dropped_delete_is_acknowledged_but_not_performed() -> None:
    faults, emulator, counts = injection(Rates(sqs_redelivery=1.0))
    entries = [{"Id": "0", "ReceiptHandle": "r0"}, {"Id": "1", "ReceiptHandle": "r1"}]
    headers = {**_signed(POLLER_KEY, "sqs"), "X-Amz-Target": "AmazonSQS.DeleteMessageBatch"}
    response = Client(faults).post(
        "/", headers=headers, data=json.dumps({"QueueUrl": "q", "Entries": entries})
    )
    assert response.status_code == 200
    assert json.loads(response.data) == {"Successful": [{"Id": "0"}, {"Id": "1"}], "Failed": []}
    assert emulator.calls == [] and counts.snapshot()[SQS_REDELIVERY] == 1
    # The function's own calls to SQS (none today) and the poller's receives are not dropped.
    receive = {**_signed(POLLER_KEY, "sqs"), "X-Amz-Target": "AmazonSQS.ReceiveMessage"}
    assert Client(faults).post("/", headers=receive, data="{}").status_code == 200


def test_a_stage_receive_is_held_back_then_performed() -> None:
    slept: list[float] = []
    faults, emulator, counts = injection(Rates(stage_delay=1.0, max_delay_s=2.0), sleep=slept.append)
    headers = {**_signed(POLLER_KEY, "sqs"), "X-Amz-Target": "AmazonSQS.ReceiveMessage"}
    assert Client(faults).post("/", headers=headers, data="{}").status_code == 200
    assert emulator.calls == ["AmazonSQS.ReceiveMessage"] and counts.snapshot()[STAGE_DELAY] == 1
    assert len(slept) == 1 and 0 <= slept[0] <= 2.0
    faults.arm([FUNCTION], stages=[])  # not a stage (notify): never delayed
    Client(faults).post("/", headers=headers, data="{}")
    assert len(slept) == 1


# --- duplicate S3 events ---------------------------------------------------------------------------


def test_some_s3_events_are_published_twice_and_test_events_never() -> None:
    sent: list[Any] = []
    counts = Counts()
    send = DuplicateS3Events(1.0, counts).wrap(lambda *args: sent.append(args))
    event = {"Records": [{"eventName": "ObjectCreated:Post"}]}
    send("123456789012", event, "arn:aws:sns:us-east-1:123456789012:intake-upload-events", "us-east-1")
    send("123456789012", {"Event": "s3:TestEvent"}, "arn:aws:sns:us-east-1:123456789012:t", "us-east-1")
    assert [args[1] for args in sent] == [event, event, {"Event": "s3:TestEvent"}]
    assert counts.details() == {"duplicate_s3_event": {"intake-upload-events": 1}}
    never = DuplicateS3Events(0.0, counts).wrap(lambda *args: sent.append(args))
    never("123456789012", event, "arn:aws:sns:us-east-1:123456789012:t", "us-east-1")
    assert len(sent) == 4


def test_the_s3_event_hook_restores_motos_own() -> None:
    from moto.s3 import notifications

    original = notifications._send_sns_message
    duplicates = DuplicateS3Events(1.0, Counts())
    duplicates.install()
    duplicates.install()  # idempotent
    assert notifications._send_sns_message is not original
    duplicates.uninstall()
    assert notifications._send_sns_message is original


# --- a process killed mid-invocation, a poller restarted ---------------------------------------------


def test_a_busy_environment_killed_mid_invocation_is_a_failed_invocation(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text(
        "import time\n\ndef handler(event, context):\n    time.sleep(30)\n    return 'finished'\n"
    )
    spec = FunctionSpec(
        name="intake-api",
        arn="arn:aws:lambda:us-east-1:123456789012:function:intake-api",
        handler="handler.handler",
        code_dir=tmp_path,
        layer_dirs=(),
        environment={},
        timeout_s=60,
        memory_mb=128,
        region="us-east-1",
        endpoint_url="http://127.0.0.1:1",
    )
    invoker = Invoker()
    pool = invoker.pool(spec)
    counts = Counts()
    killer = Killer(lambda: [pool], API_KILL, counts)
    assert killer() is False  # nothing busy: nothing killed
    results: list[Any] = []
    invoking = threading.Thread(target=lambda: results.append(pool.invoke({})))
    invoking.start()
    try:
        while not killer():  # until the environment exists and is invoking
            invoking.join(0.05)
        invoking.join(30)
    finally:
        invoker.close()
    (result,) = results
    assert not result.ok and result.error["errorType"] == "Runtime.ExitError"
    assert "killed" in result.error["errorMessage"]
    assert counts.details() == {API_KILL: {"api": 1}}


class FakePoller:
    def __init__(self, name: str, log: list[str]) -> None:
        self._name, self.log = name, log

    @property
    def name(self) -> str:
        return self._name

    def start(self) -> None:
        self.log.append(f"start {id(self)}")

    def stop(self, timeout: float = 5.0) -> None:
        self.log.append(f"stop {id(self)}")


def test_a_poller_is_stopped_before_its_replacement_starts() -> None:
    log: list[str] = []
    old = FakePoller("intake-index", log)
    pollers: list[Any] = [FakePoller("intake-validate", log), old]
    made: list[FakePoller] = []

    def replace(poller: Any) -> Any:
        made.append(FakePoller(poller.name, log))
        return made[-1]

    counts = Counts()
    restarts = PollerRestarts(pollers, replace, counts, rng=random.Random(0))
    while not made or made[-1].name != "intake-index":
        restarts()
    assert pollers[1] is made[-1] and pollers[1] is not old
    assert log.index(f"stop {id(old)}") < log.index(f"start {id(made[-1])}")
    assert counts.snapshot()[POLLER_RESTART] == len(made)


# --- poison, rates, counts ---------------------------------------------------------------------------


@pytest.mark.parametrize("consumer", ["validate", "thumbnail", "index"])
def test_each_stage_fails_on_its_poison(consumer: str) -> None:
    with pytest.raises(ValueError, match="not JSON"):
        object_created_events(poison.body(consumer))
    assert poison.is_poison(poison.body(consumer), consumer) and not poison.is_poison("{}")


def test_notify_fails_on_its_poison() -> None:
    record = {
        "messageId": "m",
        "receiptHandle": "r",
        "body": poison.body("notify"),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1",
            "SenderId": "s",
            "ApproximateFirstReceiveTimestamp": "1",
        },
        "messageAttributes": {},
        "md5OfBody": "x",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
        "awsRegion": "us-east-1",
    }
    with pytest.raises(pydantic.ValidationError):
        FinishedRecord.model_validate(record)


def test_rates_are_checked_and_none_means_none() -> None:
    with pytest.raises(ValueError):
        Rates(throttle=-0.1)
    with pytest.raises(ValueError):
        Rates(throttle=0.6, server_error=0.6)  # more than every call
    none = Rates.none()
    assert none.throttle == none.sqs_redelivery == none.function_kill_every_s == 0 and not none.poison


def test_counts_by_kind_and_detail() -> None:
    counts = Counts()
    counts.add(THROTTLE, "notify -> ses")
    counts.add(THROTTLE, "notify -> ses")
    counts.add(STAGE_DELAY)
    assert counts.snapshot()[THROTTLE] == 2 and counts.snapshot()[STAGE_DELAY] == 1
    assert counts.snapshot()[SQS_REDELIVERY] == 0  # every kind is listed
    assert counts.details() == {THROTTLE: {"notify -> ses": 2}}


def test_once_closed_no_restart_happens_and_close_waits_for_one_under_way() -> None:
    """The fault plan closes its restarts before the cloud stops: a restart that outlived the ticker's
    join must have put its new poller in the list (which the cloud stops), and none may start after."""
    log: list[str] = []
    pollers: list[Any] = [FakePoller("intake-index", log)]
    replacing, release = threading.Event(), threading.Event()

    def replace(poller: Any) -> Any:
        replacing.set()
        release.wait(30)
        return FakePoller(poller.name, log)

    restarts = PollerRestarts(pollers, replace, Counts(), rng=random.Random(0))
    under_way = threading.Thread(target=restarts)
    under_way.start()
    assert replacing.wait(30)
    closing = threading.Thread(target=restarts.close)
    closing.start()
    closing.join(0.2)
    assert closing.is_alive()  # held by the restart under way
    release.set()
    under_way.join(30)
    closing.join(30)
    assert not closing.is_alive() and log[-1] == f"start {id(pollers[0])}"  # the new one is in the list
    assert restarts() is False and log[-1] == f"start {id(pollers[0])}"  # nothing more
