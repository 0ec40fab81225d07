"""Dead-letter safety of `intake ops dlq` against moto in server mode: nothing is ever lost.

The redrive runs as a real process that stops itself at the worst moments (right after it received a
batch, right after it sent the copies and before it deleted the originals, right after a delete) and
is then SIGKILLed. Every message must still be in the DLQ or in the queue: duplicates are allowed,
losses are not. Then a second redrive finishes the job with bodies and attributes intact.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from moto.sqs.models import sqs_backends
from typer.testing import CliRunner

from intake_cli.app import app
from localcloud.server import free_port
from tests.support.aws import s3_event_body

ACCOUNT, REGION = "123456789012", "us-east-1"
MESSAGES = 25  # three receive batches; moto gets slow with deep queues

# A stack with the outputs the ops CLI reads for one consumer.
TEMPLATE = {
    "Resources": {
        "ThumbnailDLQ": {"Type": "AWS::SQS::Queue"},
        "ThumbnailQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["ThumbnailDLQ", "Arn"]},
                    "maxReceiveCount": 5,
                }
            },
        },
    },
    "Outputs": {
        "ThumbnailQueueUrl": {"Value": {"Ref": "ThumbnailQueue"}},
        "ThumbnailDLQUrl": {"Value": {"Ref": "ThumbnailDLQ"}},
    },
}

# Runs the CLI and stops itself (SIGSTOP) right after the Nth call of one SQS operation.
STOP_AFTER = """
import os, signal, sys
import botocore.client

operation, nth = sys.argv[1], int(sys.argv[2])
original = botocore.client.BaseClient._make_api_call
calls = 0

def make_api_call(self, name, params):
    global calls
    result = original(self, name, params)
    if name == operation:
        calls += 1
        if calls == nth:
            os.kill(os.getpid(), signal.SIGSTOP)
    return result

botocore.client.BaseClient._make_api_call = make_api_call
from intake_cli.app import app
app(sys.argv[3:], prog_name="intake")
"""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def client(service: str, endpoint: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )


class Dlq:
    """A fresh stack: its queue and DLQ, and the messages put into the DLQ."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.stack = f"redrive-{uuid.uuid4().hex[:8]}"
        cloudformation = client("cloudformation", endpoint)
        cloudformation.create_stack(StackName=self.stack, TemplateBody=json.dumps(TEMPLATE))
        outputs = cloudformation.describe_stacks(StackName=self.stack)["Stacks"][0]["Outputs"]
        urls = {o["OutputKey"]: o["OutputValue"] for o in outputs}
        self.queue_url, self.dlq_url = urls["ThumbnailQueueUrl"], urls["ThumbnailDLQUrl"]
        self.sqs = client("sqs", endpoint)
        self.bodies: set[str] = set()

    def fill(self, n: int) -> None:
        for start in range(0, n, 10):
            entries = []
            for i in range(start, min(n, start + 10)):
                body = json.dumps({"n": i, "id": uuid.uuid4().hex, "text": "naïve ☕"})
                self.bodies.add(body)
                entries.append(
                    {
                        "Id": str(i),
                        "MessageBody": body,
                        "MessageAttributes": {
                            "origin": {"DataType": "String", "StringValue": f"test-{i}"},
                            "blob": {"DataType": "Binary", "BinaryValue": bytes([i, 0, 255])},
                        },
                    }
                )
            self.sqs.send_message_batch(QueueUrl=self.dlq_url, Entries=entries)

    @staticmethod
    def _held(url: str) -> list[Any]:
        """Every message in the queue, visible or in flight, straight from moto's backend."""
        return list(sqs_backends[ACCOUNT][REGION].queues[url.rsplit("/", 1)[-1]]._messages)

    def dlq_bodies(self) -> list[str]:
        return [m.body for m in self._held(self.dlq_url)]

    def queue_messages(self) -> list[Any]:
        return self._held(self.queue_url)

    def all_visible(self) -> bool:
        return all(m.visible for m in self._held(self.dlq_url))

    def cli(self, *args: str) -> list[str]:
        return [*args, "--endpoint", self.endpoint, "--stack", self.stack]


def wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def dlq(endpoint: str) -> Dlq:
    return Dlq(endpoint)


def invoke(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize(
    ("operation", "nth"),
    [
        ("SendMessageBatch", 2),  # copies sent, originals not yet deleted: the worst moment
        ("ReceiveMessage", 3),  # a batch held, nothing sent yet
        ("DeleteMessageBatch", 1),  # one batch fully moved
    ],
)
def test_a_redrive_killed_midway_loses_nothing(dlq: Dlq, operation: str, nth: int) -> None:
    dlq.fill(MESSAGES)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    args = dlq.cli("ops", "dlq", "redrive", "thumbnail", "--visibility-timeout", "2")
    process = subprocess.Popen([sys.executable, "-c", STOP_AFTER, operation, str(nth), *args], env=env)
    try:
        _, status = os.waitpid(process.pid, os.WUNTRACED)  # returns once it stopped itself
        assert os.WIFSTOPPED(status), f"the redrive ended before the kill point (status {status})"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()

    in_queue = [m.body for m in dlq.queue_messages()]
    in_dlq = dlq.dlq_bodies()
    assert dlq.bodies <= set(in_queue) | set(in_dlq), "messages were lost"
    assert in_dlq, "the kill came too late to test anything"
    if operation != "ReceiveMessage":
        assert in_queue, "the kill came too early to test anything"

    # The messages the killed process held come back after its visibility timeout; a new redrive
    # then moves everything, bodies and attributes as they were.
    wait_for(dlq.all_visible, 10, "the held messages to be visible again")
    result = invoke(*dlq.cli("ops", "dlq", "redrive", "thumbnail", "--json"))
    report = json.loads(result.stdout)
    assert report["method"] == "copy" and report["moved"] == len(in_dlq)
    assert dlq.dlq_bodies() == []
    moved = dlq.queue_messages()
    assert {m.body for m in moved} == dlq.bodies
    for message in moved:
        n = json.loads(message.body)["n"]
        assert message.message_attributes["origin"]["StringValue"] == f"test-{n}"
        assert message.message_attributes["blob"]["BinaryValue"] == bytes([n, 0, 255])
        assert message.approximate_receive_count == 0  # a fresh message: a full set of retries


def test_redrive_max_moves_at_most_that_many(dlq: Dlq) -> None:
    dlq.fill(12)
    report = json.loads(invoke(*dlq.cli("ops", "dlq", "redrive", "thumbnail", "--max", "5", "--json")).stdout)
    assert report["moved"] == 5
    assert len(dlq.queue_messages()) == 5 and len(dlq.dlq_bodies()) == 7


def test_peek_decodes_down_to_the_upload_and_leaves_every_message_in_the_dlq(dlq: Dlq) -> None:
    keys = [f"uploads/alice/{uuid.uuid4().hex}/holiday +{i} café.jpg" for i in range(3)]
    for key in keys:
        dlq.sqs.send_message(QueueUrl=dlq.dlq_url, MessageBody=s3_event_body("intake-uploads", key))
    dlq.sqs.send_message(QueueUrl=dlq.dlq_url, MessageBody="not json")
    report = json.loads(invoke(*dlq.cli("ops", "dlq", "peek", "thumbnail", "--json")).stdout)
    letters = report["dead_letters"]
    assert sorted(letter["key"] for letter in letters if "key" in letter) == sorted(keys)
    for letter in letters:
        if "key" in letter:
            assert letter["owner"] == "alice" and letter["upload_id"] == letter["key"].split("/")[2]
            assert letter["receive_count"] == 0 and letter["first_failure_at"]
    assert [letter["error"] for letter in letters if "error" in letter] == [
        "message body is not JSON: Expecting value: line 1 column 1 (char 0)"
    ]
    assert len(dlq.dlq_bodies()) == 4 and dlq.all_visible()
    assert dlq.queue_messages() == []


def test_purge_saves_first_and_replay_sends_the_same_messages_back(dlq: Dlq, tmp_path: Path) -> None:
    dlq.fill(13)
    saved = tmp_path / "dead.jsonl"
    invoke(*dlq.cli("ops", "dlq", "purge", "thumbnail", "--save", str(saved), "--yes"))
    assert dlq.dlq_bodies() == []
    assert len(saved.read_text().splitlines()) == 13
    # A second purge refuses to overwrite the file.
    refused = CliRunner().invoke(
        app, dlq.cli("ops", "dlq", "purge", "thumbnail", "--save", str(saved), "--yes")
    )
    assert refused.exit_code == 1 and "exists" in refused.output

    report = json.loads(
        invoke(*dlq.cli("ops", "dlq", "replay", str(saved), "--to", "thumbnail", "--json")).stdout
    )
    assert report["sent"] == 13
    replayed = dlq.queue_messages()
    assert {m.body for m in replayed} == dlq.bodies
    assert all(m.message_attributes["blob"]["DataType"] == "Binary" for m in replayed)


def test_replay_refuses_a_bad_file_before_sending_anything(dlq: Dlq, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"body": "fine"}) + "\n" + "{not json\n")
    result = CliRunner().invoke(app, dlq.cli("ops", "dlq", "replay", str(bad), "--to", "thumbnail"))
    assert result.exit_code == 1 and "bad.jsonl:2" in result.output
    assert dlq.queue_messages() == []


def test_purge_without_confirmation_deletes_nothing(dlq: Dlq) -> None:
    dlq.fill(2)
    result = CliRunner().invoke(app, dlq.cli("ops", "dlq", "purge", "thumbnail"), input="n\nn\n")
    assert result.exit_code == 1  # aborted
    assert len(dlq.dlq_bodies()) == 2
