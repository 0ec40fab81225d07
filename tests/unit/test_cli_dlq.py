"""The dead-letter operations of `intake ops dlq` on an in-memory SQS: nothing is lost, files round-trip."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from intake_cli.dlq import (
    decode_dead_letter,
    describe_dead_letters,
    move_messages,
    peek_messages,
    read_saved,
    saved_line,
)
from intake_cli.errors import OpsError
from tests.support.aws import s3_event_body


class FakeSqs:
    """Queues by URL; received messages stay hidden until deleted or released (no timeouts)."""

    def __init__(self, fail_sends: bool = False) -> None:
        self.queues: dict[str, list[dict[str, Any]]] = {}
        self.hidden: dict[str, dict[str, Any]] = {}  # receipt handle -> message
        self.fail_sends = fail_sends

    def put(self, url: str, body: str, **attributes: Any) -> None:
        message = {"MessageId": uuid.uuid4().hex, "Body": body, "Attributes": {}, **attributes}
        self.queues.setdefault(url, []).append(message)

    def receive_message(self, QueueUrl: str, MaxNumberOfMessages: int, **_: Any) -> dict[str, Any]:
        queue = self.queues.setdefault(QueueUrl, [])
        taken, queue[:] = queue[:MaxNumberOfMessages], queue[MaxNumberOfMessages:]
        messages = []
        for message in taken:
            handle = uuid.uuid4().hex
            self.hidden[handle] = {**message, "_url": QueueUrl}
            messages.append({**message, "ReceiptHandle": handle})
        return {"Messages": messages}

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> None:
        for entry in Entries:
            message = self.hidden.pop(entry["ReceiptHandle"])
            message.pop("_url")
            self.queues[QueueUrl].append(message)

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        if self.fail_sends:
            return {"Successful": [], "Failed": [{"Id": e["Id"], "Code": "Boom"} for e in Entries]}
        for entry in Entries:
            self.put(QueueUrl, entry["MessageBody"], MessageAttributes=entry.get("MessageAttributes", {}))
        return {"Successful": [{"Id": e["Id"]} for e in Entries]}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        for entry in Entries:
            del self.hidden[entry["ReceiptHandle"]]
        return {"Successful": [{"Id": e["Id"]} for e in Entries]}

    def bodies(self, url: str) -> list[str]:
        held = [m for m in self.hidden.values() if m["_url"] == url]
        return sorted(m["Body"] for m in [*self.queues.get(url, []), *held])


def test_peek_returns_every_message_and_leaves_them_all_visible() -> None:
    sqs = FakeSqs()
    for n in range(23):
        sqs.put("dlq", f"body {n}")
    peeked = peek_messages(sqs, "dlq", 100)
    assert sorted(m["Body"] for m in peeked) == sqs.bodies("dlq") and len(peeked) == 23
    assert not sqs.hidden and len(sqs.queues["dlq"]) == 23


def test_move_moves_at_most_the_limit_with_attributes() -> None:
    sqs = FakeSqs()
    attributes = {"origin": {"DataType": "String", "StringValue": "x", "StringListValues": []}}
    for n in range(12):
        sqs.put("dlq", f"body {n}", MessageAttributes=attributes)
    result = move_messages(sqs, "dlq", "queue", limit=5)
    assert (result.moved, result.not_deleted) == (5, 0)
    assert len(sqs.bodies("queue")) == 5 and len(sqs.bodies("dlq")) == 7
    assert sqs.queues["queue"][0]["MessageAttributes"] == {
        "origin": {"DataType": "String", "StringValue": "x"}
    }


def test_move_keeps_what_it_could_not_send() -> None:
    sqs = FakeSqs(fail_sends=True)
    sqs.put("dlq", "precious")
    with pytest.raises(OpsError, match="could not be sent and stay in the source queue"):
        move_messages(sqs, "dlq", "queue")
    assert sqs.bodies("dlq") == ["precious"] and not sqs.hidden


def test_saved_lines_read_back_with_binary_attributes(tmp_path: Path) -> None:
    message = {
        "MessageId": "m1",
        "Body": "naïve ☕",
        "MessageAttributes": {
            "blob": {"DataType": "Binary", "BinaryValue": bytes([1, 0, 255])},
            "text": {"DataType": "String", "StringValue": "t"},
        },
    }
    path = tmp_path / "dead.jsonl"
    path.write_text(saved_line("thumbnail", message, "2026-01-01T00:00:00.000Z") + "\n\n", encoding="utf-8")
    (saved,) = read_saved(path)
    assert (saved.line, saved.body) == (1, "naïve ☕")
    assert saved.message_attributes == message["MessageAttributes"]
    assert json.loads(path.read_text().splitlines()[0])["queue"] == "thumbnail"


def test_a_bad_saved_file_names_its_first_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"body": "fine"}) + "\n" + json.dumps({"body": 1}) + "\n")
    with pytest.raises(OpsError, match=r"bad.jsonl:2: not a saved message .*nothing was sent"):
        read_saved(path)


def test_dead_letters_decode_down_to_the_upload_and_take_the_record_status() -> None:
    key = "uploads/alice/0123456789abcdef0123456789abcdef/holiday café.jpg"
    messages = [
        {
            "MessageId": "m1",
            "Body": s3_event_body("intake-uploads", key),
            "Attributes": {"ApproximateReceiveCount": "6", "ApproximateFirstReceiveTimestamp": "0"},
        },
        {"MessageId": "m2", "Body": "not json", "Attributes": {}},
    ]
    records = {
        "0123456789abcdef0123456789abcdef": {
            "key": key,
            "owner": "alice",
            "status": "failed",
            "status_reasons": ["boom"],
        }
    }
    upload, broken = describe_dead_letters("thumbnail", messages, lambda ids: records)
    assert (upload["owner"], upload["key"], upload["receive_count"]) == ("alice", key, 5)
    assert (upload["status"], upload["status_reasons"]) == ("failed", ["boom"])
    assert upload["first_failure_at"] == "1970-01-01T00:00:00.000Z"
    assert broken["error"].startswith("message body is not JSON") and "status" not in broken


def test_a_notify_dead_letter_that_is_not_upload_finished_says_so() -> None:
    (entry,) = decode_dead_letter("notify", "{}")
    assert entry["error"].startswith("not an upload.finished message")
