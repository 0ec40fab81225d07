"""The local event source mapping and Lambda runtime against moto in server mode.

Each test writes a tiny handler into a temp dir (the function's /var/task) and checks one AWS
behaviour: batching and the event shape, partial batch failures and the DLQ, timeouts, the function's
environment and endpoint, MaximumConcurrency, and recycling on a configuration change.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import json
import logging
import socket
import textwrap
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from localcloud.esm import EsmConfig, SqsPoller, build_sqs_event, spec_from_api, successful_message_ids
from localcloud.invoker import Invoker
from localcloud.lambda_runtime import ExecutionEnvironment, FunctionSpec, InvokeResult

REGION = "us-east-1"
ACCOUNT = "123456789012"
VISIBILITY_S = 2
# For the tests not about redelivery: a cold start on a loaded machine can outlast 2 s, and a message
# that comes back before its invocation ends is invoked twice.
CALM_VISIBILITY_S = 60
MAX_RECEIVE = 2
# How long a wait may take before it counts as a failure: cold starts and redeliveries run much slower
# on a loaded 2-core machine; a passing wait returns as soon as its condition holds.
WAIT_S = 30.0

RECORDER = """
import json, os, time

def handler(event, context):
    with open(os.environ["RECORD_FILE"], "a") as f:
        f.write(json.dumps({"t": time.time(), "pid": os.getpid(), "event": event}) + "\\n")
"""

PARTIAL = """
import json, os

def handler(event, context):
    with open(os.environ["RECORD_FILE"], "a") as f:
        f.write(json.dumps({"event": event}) + "\\n")
    failed = [r["messageId"] for r in event["Records"] if r["body"] == "fail"]
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}
"""

SLOW_FIRST_TIME = """
import json, os, time

def handler(event, context):
    count = event["Records"][0]["attributes"]["ApproximateReceiveCount"]
    with open(os.environ["RECORD_FILE"], "a") as f:
        f.write(json.dumps({"pid": os.getpid(), "count": count}) + "\\n")
    if count == "1":
        time.sleep(5)  # past the 1 s timeout
    return {"pid": os.getpid()}
"""

CONCURRENT = """
import json, os, time

def handler(event, context):
    start = time.time()
    time.sleep(0.4)
    with open(os.environ["RECORD_FILE"], "a") as f:
        f.write(json.dumps({"start": start, "end": time.time(), "pid": os.getpid()}) + "\\n")
"""

# Uses what our functions use: boto3 without an endpoint, Powertools Logger and idempotency config,
# and a module from a layer.
ENVIRONMENT = """
import json, os, sys
import boto3
import greeting  # from the layer
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency.config import IdempotencyConfig

logger = Logger()
idempotency = IdempotencyConfig()
sqs = boto3.client("sqs")

@logger.inject_lambda_context
def handler(event, context):
    idempotency.register_lambda_context(context)
    logger.info("structured hello")
    print("plain print from the function")
    report = {
        "greeting": greeting.greet(os.environ["GREETING"]),
        "env": {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "LAMBDA_", "_HANDLER"))},
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "sys_path": sys.path,
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
        },
    }
    sqs.send_message(QueueUrl=os.environ["OUT_QUEUE_URL"], MessageBody=json.dumps(report))
    return report["greeting"]
"""

FAULTS = """
import os

def handler(event, context):
    if event.get("raise"):
        raise ValueError("bad input")
    if event.get("exit"):
        os._exit(3)
    return {"pid": os.getpid(), "echo": event}
"""


# --------------------------------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.fixture(scope="module")
def sqs(endpoint: str) -> Any:
    return _client("sqs", endpoint)


class Queue:
    def __init__(self, sqs: Any, prefix: str, visibility_s: int = VISIBILITY_S) -> None:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.sqs, self.visibility_s = sqs, visibility_s
        self.dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = self.attributes("QueueArn", url=self.dlq_url)["QueueArn"]
        self.url = sqs.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": str(visibility_s),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE}),
            },
        )["QueueUrl"]
        self.arn = self.attributes("QueueArn")["QueueArn"]

    def attributes(self, *names: str, url: str | None = None) -> dict[str, str]:
        response = self.sqs.get_queue_attributes(QueueUrl=url or self.url, AttributeNames=list(names))
        return dict(response["Attributes"])

    def depth(self) -> tuple[int, int]:
        """(visible, in flight)"""
        a = self.attributes("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
        return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])

    def send(self, body: str, **attributes: Any) -> str:
        return str(self.sqs.send_message(QueueUrl=self.url, MessageBody=body, **attributes)["MessageId"])

    def config(self, **overrides: Any) -> EsmConfig:
        fields: dict[str, Any] = {
            "uuid": str(uuid.uuid4()),
            "queue_arn": self.arn,
            "queue_url": self.url,
            "function_arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn",
            "batch_size": 10,
            "batching_window_s": 0.0,
            "report_batch_item_failures": False,
            "maximum_concurrency": 2,
            "enabled": True,
        }
        fields.update(overrides)
        return EsmConfig(**fields)


def write_function(root: Path, source: str, **modules: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "handler.py").write_text(textwrap.dedent(source))
    for name, text in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(text))
    return root


def make_spec(
    code_dir: Path, endpoint: str, *, name: str = "fn", timeout_s: float = 5.0, **env: str
) -> FunctionSpec:
    return FunctionSpec(
        name=name,
        arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        handler="handler.handler",
        code_dir=code_dir,
        layer_dirs=(),
        environment=dict(env),
        timeout_s=timeout_s,
        memory_mb=128,
        region=REGION,
        endpoint_url=endpoint,
    )


def records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def pollers() -> Iterator[list[SqsPoller]]:
    started: list[SqsPoller] = []
    yield started
    for poller in started:
        poller.stop(timeout=2.0)


# --------------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------------


def test_batch_size_event_shape_and_delete_on_success(
    sqs: Any, endpoint: str, tmp_path: Path, pollers: list[SqsPoller]
) -> None:
    queue = Queue(sqs, "batch", visibility_s=6)  # 2 s could pass before the cold start ends
    first = queue.send(
        "with attributes",
        MessageAttributes={
            "color": {"DataType": "String", "StringValue": "blue"},
            "count": {"DataType": "Number", "StringValue": "42"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\x02"},
        },
    )
    sent = [first] + [queue.send(f"message {i}") for i in range(4)]
    out = tmp_path / "records.jsonl"
    spec = make_spec(write_function(tmp_path / "code", RECORDER), endpoint, RECORD_FILE=str(out))
    poller = SqsPoller(queue.config(batch_size=2, batching_window_s=0.3), spec, watch_function=False)
    pollers.append(poller)
    poller.start()

    wait_until(lambda: sum(len(r["event"]["Records"]) for r in records(out)) >= 5, WAIT_S, "5 records")
    wait_until(lambda: queue.depth() == (0, 0), WAIT_S, "the queue to be empty (batches deleted)")
    time.sleep(queue.visibility_s + 0.5)  # nothing may come back after the visibility timeout
    batches = [r["event"]["Records"] for r in records(out)]
    assert sorted(len(b) for b in batches) == [1, 2, 2]  # two environments: order may vary
    assert sorted(r["messageId"] for b in batches for r in b) == sorted(sent)
    assert queue.depth() == (0, 0)

    record = next(r for b in batches for r in b if r["messageId"] == first)
    assert list(record) == [
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfMessageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    ]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue.arn
    assert record["awsRegion"] == REGION
    assert record["md5OfBody"] == hashlib.md5(b"with attributes").hexdigest()
    attributes = record["attributes"]
    assert attributes["ApproximateReceiveCount"] == "1"
    for name in ("SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"):
        assert attributes[name], name
    assert record["messageAttributes"] == {
        "color": {
            "stringValue": "blue",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "count": {"stringValue": "42", "stringListValues": [], "binaryListValues": [], "dataType": "Number"},
        "blob": {
            "binaryValue": base64.b64encode(b"\x00\x01\x02").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    # The shape Powertools' parser (what our handlers use) accepts.
    from aws_lambda_powertools.utilities.parser.models import SqsModel

    parsed = SqsModel.model_validate({"Records": [r for b in batches for r in b]})
    assert len(parsed.Records) == 5
    snapshot = poller.snapshot()
    assert snapshot["invocations"] == 3
    assert snapshot["messages_deleted"] == 5
    assert snapshot["errors"] == 0


def test_batching_window_gathers_late_messages(
    sqs: Any, endpoint: str, tmp_path: Path, pollers: list[SqsPoller]
) -> None:
    queue = Queue(sqs, "window", visibility_s=CALM_VISIBILITY_S)  # longer than window + cold start
    out = tmp_path / "records.jsonl"
    spec = make_spec(write_function(tmp_path / "code", RECORDER), endpoint, RECORD_FILE=str(out))
    # The late messages are sent once the window is open (not after a fixed sleep) and the window is
    # wide: a 0.9 s margin after a 0.6 s sleep was too tight for a loaded machine.
    poller = SqsPoller(queue.config(batch_size=10, batching_window_s=3.0), spec, watch_function=False)
    pollers.append(poller)
    queue.send("early")
    poller.start()
    wait_until(lambda: poller.snapshot()["messages_received"] >= 1, WAIT_S, "the first message")
    queue.send("late 1")
    queue.send("late 2")
    wait_until(lambda: records(out), WAIT_S, "an invocation")
    time.sleep(0.5)
    batches = [r["event"]["Records"] for r in records(out)]
    assert [sorted(r["body"] for r in b) for b in batches] == [["early", "late 1", "late 2"]]


def test_partial_batch_failure_redelivers_only_failures_then_dlq(
    sqs: Any, endpoint: str, tmp_path: Path, pollers: list[SqsPoller]
) -> None:
    queue = Queue(sqs, "partial")
    for body in ("ok 1", "fail", "ok 2"):
        queue.send(body)
    out = tmp_path / "records.jsonl"
    spec = make_spec(write_function(tmp_path / "code", PARTIAL), endpoint, RECORD_FILE=str(out))
    config = queue.config(batching_window_s=0.3, report_batch_item_failures=True)
    poller = SqsPoller(config, spec, watch_function=False)
    pollers.append(poller)
    poller.start()

    dlq = wait_until(
        lambda: sqs.receive_message(QueueUrl=queue.dlq_url, WaitTimeSeconds=1).get("Messages"),
        WAIT_S,  # two visibility timeouts and two cold starts: more on a loaded machine
        "the failed message in the DLQ",
    )
    assert [m["Body"] for m in dlq] == ["fail"]
    batches = [r["event"]["Records"] for r in records(out)]
    assert [sorted(r["body"] for r in b) for b in batches] == [["fail", "ok 1", "ok 2"], ["fail"]]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in batches[0]] == ["1", "1", "1"]
    assert batches[1][0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert queue.depth() == (0, 0)
    assert poller.snapshot()["messages_deleted"] == 2


def test_partial_batch_response_validation() -> None:
    ids = ["a", "b", "c"]
    assert successful_message_ids(None, ids, True) == (ids, None)
    assert successful_message_ids({}, ids, True) == (ids, None)
    assert successful_message_ids({"batchItemFailures": []}, ids, True) == (ids, None)
    assert successful_message_ids({"batchItemFailures": None}, ids, True) == (ids, None)
    assert successful_message_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, ids, True)[0] == [
        "a",
        "c",
    ]
    # Without ReportBatchItemFailures the response is not read: all succeeded.
    assert successful_message_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, ids, False)[0] == ids
    for invalid in (
        {"batchItemFailures": [{"itemIdentifier": "zzz"}]},  # not in the batch
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"id": "b"}]},  # bad key
        {"batchItemFailures": "b"},
        "not an object",
    ):
        assert successful_message_ids(invalid, ids, True)[0] == [], invalid


def test_timeout_kills_the_worker_and_deletes_nothing(
    sqs: Any, endpoint: str, tmp_path: Path, pollers: list[SqsPoller]
) -> None:
    queue = Queue(sqs, "timeout")
    out = tmp_path / "records.jsonl"
    spec = make_spec(
        write_function(tmp_path / "code", SLOW_FIRST_TIME), endpoint, timeout_s=1.0, RECORD_FILE=str(out)
    )
    results: list[InvokeResult] = []
    poller = SqsPoller(queue.config(), spec, watch_function=False, on_invoke=lambda _, r: results.append(r))
    pollers.append(poller)
    queue.send("slow")
    poller.start()

    wait_until(lambda: results, WAIT_S, "the first invocation to end")
    first = results[0]
    assert first.timed_out and not first.ok
    assert first.error is not None and first.error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in first.error["errorMessage"]
    assert 900 < first.duration_ms < 4900, "killed at the timeout, not after the handler's 5 s sleep"
    first_pid = records(out)[0]["pid"]
    assert not Path(f"/proc/{first_pid}").exists(), "the timed-out worker must be killed"

    wait_until(lambda: len(results) >= 2, WAIT_S, "the redelivery")
    second = results[1]
    assert second.ok and second.init_ms is not None, "a fresh environment means a cold start"
    assert second.payload["pid"] != first_pid
    assert [r["count"] for r in records(out)] == ["1", "2"], "redelivered, so it was not deleted"
    wait_until(lambda: queue.depth() == (0, 0), WAIT_S, "the delete after success")
    assert poller.snapshot()["timeouts"] == 1


def test_runtime_errors_crashes_and_init_errors(endpoint: str, tmp_path: Path) -> None:
    spec = make_spec(write_function(tmp_path / "code", FAULTS), endpoint)
    with ExecutionEnvironment(spec) as env:
        cold = env.invoke({"n": 1})
        assert cold.ok and cold.init_ms is not None and cold.payload["echo"] == {"n": 1}
        warm = env.invoke({"n": 2})
        assert warm.ok and warm.init_ms is None and warm.payload["pid"] == cold.payload["pid"]

        failed = env.invoke({"raise": True})
        assert not failed.ok and not failed.timed_out and failed.error is not None
        assert failed.error["errorType"] == "ValueError"
        assert failed.error["errorMessage"] == "bad input"
        assert failed.error["requestId"] == failed.request_id
        assert any("handler.py" in frame for frame in failed.error["stackTrace"])
        assert env.invoke({}).payload["pid"] == cold.payload["pid"], "a handler error keeps the worker"

        crashed = env.invoke({"exit": True})
        assert not crashed.ok and crashed.error is not None
        assert crashed.error["errorType"] == "Runtime.ExitError"
        assert "exit status 3" in crashed.error["errorMessage"]
        after = env.invoke({})
        assert after.ok and after.init_ms is not None and after.payload["pid"] != cold.payload["pid"]

    broken = make_spec(write_function(tmp_path / "broken", "import not_a_module\n"), endpoint)
    with ExecutionEnvironment(broken) as env:
        result = env.invoke({})
        assert not result.ok and result.error is not None
        assert result.error["errorType"] == "Runtime.ImportModuleError"
        assert "No module named 'not_a_module'" in result.error["errorMessage"]


def test_environment_endpoint_context_logs_and_recycle_on_config_change(
    sqs: Any, endpoint: str, tmp_path: Path, pollers: list[SqsPoller], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="localcloud.lambda")
    queue = Queue(sqs, "env", visibility_s=CALM_VISIBILITY_S)  # a second "one" would be read as "two"
    out_url = sqs.create_queue(QueueName=f"out-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    code_dir = write_function(tmp_path / "code", ENVIRONMENT)
    layer = tmp_path / "layer"
    (layer / "python").mkdir(parents=True)
    (layer / "python" / "greeting.py").write_text("def greet(word):\n    return word + ', world'\n")

    iam = _client("iam", endpoint)
    lambda_ = _client("lambda", endpoint)
    name = f"envfn-{uuid.uuid4().hex[:6]}"
    role = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("handler.py", ENVIRONMENT)
    variables = {"GREETING": "hello", "OUT_QUEUE_URL": out_url, "POWERTOOLS_SERVICE_NAME": "envfn"}
    lambda_.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": archive.getvalue()},
        Timeout=7,
        MemorySize=256,
        Environment={"Variables": variables},
    )
    spec = spec_from_api(lambda_.get_function_configuration(FunctionName=name), code_dir, [layer], endpoint)
    assert (spec.timeout_s, spec.memory_mb, spec.environment) == (7.0, 256, variables)

    results: list[InvokeResult] = []
    poller = SqsPoller(
        queue.config(function_arn=spec.arn),
        spec,
        reload_interval_s=0.3,
        on_invoke=lambda _, r: results.append(r),
    )
    pollers.append(poller)
    poller.start()

    def report() -> dict[str, Any]:
        messages = wait_until(
            lambda: sqs.receive_message(QueueUrl=out_url, WaitTimeSeconds=1).get("Messages"),
            WAIT_S,
            "the function's own SQS message",
        )
        sqs.delete_message(QueueUrl=out_url, ReceiptHandle=messages[0]["ReceiptHandle"])
        return dict(json.loads(messages[0]["Body"]))

    queue.send("one")
    first = report()  # it arrived: boto3 in the function found the endpoint on its own
    assert first["greeting"] == "hello, world"
    env = first["env"]
    assert env["AWS_ENDPOINT_URL"] == endpoint
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == REGION
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == first["context"]["log_stream_name"]
    assert env["LAMBDA_TASK_ROOT"] == str(code_dir) == first["cwd"]
    assert first["sys_path"][0] == str(code_dir)
    assert str(layer / "python") in first["sys_path"][1:3]
    assert not any("tests" in Path(p).parts for p in first["sys_path"]), "nothing of the parent's path"
    context = first["context"]
    assert context["function_name"] == name
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == spec.arn
    assert context["memory_limit_in_mb"] == "256"
    assert 0 < context["remaining"] <= 7000
    wait_until(lambda: results, WAIT_S, "the invocation result")  # the message may arrive before it
    assert context["aws_request_id"] == results[0].request_id
    assert results[0].payload == "hello, world"

    # Function output reaches the local cloud's log, prefixed with the function's name.
    wait_until(lambda: "plain print from the function" in caplog.text, WAIT_S, "the forwarded print")
    lines = [r.getMessage() for r in caplog.records if r.name == f"localcloud.lambda.{name}"]
    assert f"[{name}] plain print from the function" in lines
    structured = [json.loads(m.split("] ", 1)[1]) for m in lines if "structured hello" in m]
    assert structured and structured[0]["function_request_id"] == results[0].request_id

    # A configuration update reaches new invocations: the environments are recycled.
    recycles = poller.snapshot()["recycles"]
    lambda_.update_function_configuration(
        FunctionName=name, Environment={"Variables": {**variables, "GREETING": "bonjour"}}
    )
    wait_until(lambda: poller.snapshot()["recycles"] > recycles, WAIT_S, "the poller to notice the update")
    assert poller.spec.environment["GREETING"] == "bonjour"
    queue.send("two")
    second = report()
    assert second["greeting"] == "bonjour, world"
    assert second["pid"] != first["pid"]
    wait_until(lambda: len(results) >= 2, WAIT_S, "the second invocation result")
    assert results[1].init_ms is not None, "recycled means a cold start"


def test_maximum_concurrency_bounds_parallel_invocations(
    sqs: Any, endpoint: str, tmp_path: Path, pollers: list[SqsPoller]
) -> None:
    queue = Queue(sqs, "concurrency", visibility_s=CALM_VISIBILITY_S)
    out = tmp_path / "records.jsonl"
    spec = make_spec(write_function(tmp_path / "code", CONCURRENT), endpoint, RECORD_FILE=str(out))
    poller = SqsPoller(queue.config(batch_size=1, maximum_concurrency=2), spec, watch_function=False)
    pollers.append(poller)
    poller.start()
    time.sleep(0.5)
    assert poller.environment_count == 0, "no worker process before there is work"

    for i in range(6):
        queue.send(f"m{i}")
    done = wait_until(lambda: len(records(out)) >= 6 and records(out), WAIT_S, "6 invocations")
    overlap = max(sum(1 for o in done if o["start"] <= r["start"] < o["end"]) for r in done)
    assert overlap == 2, f"at most (and, with 6 queued, exactly) 2 at a time; saw {overlap}"
    assert len({r["pid"] for r in done}) == 2
    assert poller.environment_count == 2


def test_stop_is_quick_and_endpoint_errors_do_not_kill_the_poller(
    sqs: Any, endpoint: str, tmp_path: Path
) -> None:
    code_dir = write_function(tmp_path / "code", RECORDER)
    queue = Queue(sqs, "stop")
    poller = SqsPoller(queue.config(), make_spec(code_dir, endpoint), watch_function=False, poll_wait_s=8)
    poller.start()
    time.sleep(0.5)  # inside a long poll
    t0 = time.monotonic()
    poller.stop(timeout=3.0)
    # Not a speed target: waiting out the 8 s long poll would take over 7 s; a busy machine adds far less.
    assert time.monotonic() - t0 < 4.0, "stop must not wait for the long poll"
    assert not poller.running
    queue.send("after stop")
    time.sleep(8.5)  # the abandoned long poll has returned by now
    assert queue.depth() == (1, 0), "a stopped poller receives nothing (or gives it back at once)"

    dead = f"http://127.0.0.1:{_free_port()}"
    broken = SqsPoller(queue.config(queue_url=queue.url), make_spec(code_dir, dead), watch_function=False)
    broken.start()
    try:
        wait_until(lambda: broken.snapshot()["receive_errors"] >= 1, WAIT_S, "a logged receive error")
        assert broken.running
    finally:
        t0 = time.monotonic()
        broken.stop(timeout=3.0)
        assert time.monotonic() - t0 < 3.5


def test_config_from_api_and_event_builder(sqs: Any, endpoint: str) -> None:
    queue = Queue(sqs, "api")
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn"
    mapping: dict[str, Any] = {
        "UUID": "u-1",
        "EventSourceArn": queue.arn,
        "FunctionArn": function_arn,
        "BatchSize": 25,
        "MaximumBatchingWindowInSeconds": 2,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": 3},
        "State": "Enabled",
    }
    config = EsmConfig.from_api(mapping, queue.url)
    assert config == EsmConfig("u-1", queue.arn, queue.url, function_arn, 25, 2.0, True, 3, True)
    defaults = EsmConfig.from_api(
        {**mapping, "FunctionResponseTypes": [], "ScalingConfig": {}, "BatchSize": 10, "State": "Disabled"},
        queue.url,
    )
    assert not defaults.report_batch_item_failures and not defaults.enabled
    assert 1 <= defaults.maximum_concurrency <= 4, "a small local default instead of AWS's 1000"

    message = {"MessageId": "m", "ReceiptHandle": "r", "Body": "b", "MD5OfBody": "x", "Attributes": {}}
    event = build_sqs_event([message], queue.arn, REGION)
    assert event["Records"][0]["eventSourceARN"] == queue.arn
    assert "md5OfMessageAttributes" not in event["Records"][0]


def test_concurrent_invokes_on_one_environment_are_serialised(endpoint: str, tmp_path: Path) -> None:
    spec = make_spec(write_function(tmp_path / "code", CONCURRENT), endpoint, RECORD_FILE=str(tmp_path / "o"))
    with ExecutionEnvironment(spec) as env:
        threads = [threading.Thread(target=env.invoke, args=({},)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    a, b = sorted(records(tmp_path / "o"), key=lambda r: r["start"])
    assert a["end"] <= b["start"], "one environment runs one invocation at a time"


class Seen:
    """An invoke observer that keeps what it is told."""

    def __init__(self) -> None:
        self.results: list[tuple[str, InvokeResult]] = []

    def invoked(self, spec: FunctionSpec, result: InvokeResult) -> None:
        self.results.append((spec.name, result))


def test_one_invoker_serves_a_poller_and_direct_calls_and_tells_its_observers(
    sqs: Any, endpoint: str, tmp_path: Path, pollers: list[SqsPoller]
) -> None:
    invoker = Invoker()
    seen = Seen()
    invoker.observers.add(seen)
    spec = make_spec(write_function(tmp_path / "code", FAULTS), endpoint, name="shared")
    pool = invoker.pool(spec, limit=1)
    direct = pool.invoke({"n": 1})
    assert direct.ok and direct.init_ms is not None

    queue = Queue(sqs, "shared", visibility_s=CALM_VISIBILITY_S)
    poller = SqsPoller(
        queue.config(function_arn=spec.arn, maximum_concurrency=1),
        spec,
        invoker=invoker,
        watch_function=False,
    )
    pollers.append(poller)
    queue.send("via the queue")
    poller.start()
    wait_until(lambda: len(seen.results) >= 2, WAIT_S, "the poller's invocation")
    name, polled = seen.results[1]
    assert name == "shared" and polled.ok
    assert polled.init_ms is None, "the poller reused the warm environment of the direct call"
    assert polled.payload["pid"] == direct.payload["pid"]
    assert polled.payload["echo"]["Records"][0]["body"] == "via the queue"
    assert poller.snapshot()["invocations"] == 2 and pool.stats.snapshot()["cold_starts"] == 1
    assert poller.environment_count == pool.environment_count == 1
    invoker.close()
    with pytest.raises(RuntimeError):
        pool.invoke({})


def test_a_pool_at_its_limit_makes_callers_wait_and_an_update_recycles(endpoint: str, tmp_path: Path) -> None:
    out = tmp_path / "o"
    spec = make_spec(write_function(tmp_path / "code", CONCURRENT), endpoint, RECORD_FILE=str(out))
    invoker = Invoker()
    try:
        pool = invoker.pool(spec, limit=1)
        threads = [threading.Thread(target=pool.invoke, args=({},)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done = sorted(records(out), key=lambda r: r["start"])
        assert len(done) == 3 and len({r["pid"] for r in done}) == 1
        assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(done))
        assert pool.environment_count == 1 and pool.in_flight == 0

        assert not pool.update(spec), "the same configuration keeps the environments"
        assert pool.update(make_spec(spec.code_dir, endpoint, RECORD_FILE=str(out), OTHER="1"))
        assert pool.environment_count == 0
        assert pool.invoke({}).init_ms is not None, "a new configuration means a cold start"
    finally:
        invoker.close()
