"""The notify handler under mock_aws: digests per owner, exactly once per upload under duplicates,
redelivered batches, a process killed mid-batch and SES failing after some sends; a multipart upload
refused at completion announced as any rejection."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from intake import mailer
from intake.keys import UploadKey
from intake.notifications import Email, Finished, compose_digest_email
from intake.outbox import Announcement, Claim, Digest, Outbox
from intake.preferences import EmailPreference, Preferences, UserSettings
from intake.records import Multipart, Records
from intake.status import StageResult, Status
from intake.uploads import refusal
from tests.integration.conftest import Cloud
from tests.support.aws import Context, load_handler, sqs_event

ALICE, BOB = "alice-sub", "bob-sub"
EMAIL = {ALICE: "alice@example.com", BOB: "bob@example.com"}
VERSION = "t2026-11-21T10:00:00.000Z"
_serializer = TypeSerializer()


def put_final(cloud: Cloud, upload_id: str, owner: str = ALICE, status: str = "ready") -> None:
    """A record whose three stages are done (ready) or whose validation rejected it."""
    states = {
        "validate": "rejected" if status == "rejected" else "done",
        "thumbnail": "done",
        "index": "done",
    }
    item: dict[str, Any] = {
        "upload_id": upload_id,
        "owner": owner,
        "owner_email": EMAIL[owner],
        "filename": f"{upload_id}.jpg",
        "key": f"uploads/{owner}/{upload_id}/{upload_id}.jpg",
        "created_at": "2026-11-21T10:00:00.000Z",
        "updated_at": "2026-11-21T10:00:00.000Z",
        "status": status,
    }
    for stage, state in states.items():
        reasons = ("not an image",) if state == "rejected" else ()
        item[f"stage_{stage}"] = StageResult(stage, state, VERSION, "now", reasons).to_item()  # type: ignore[arg-type]
    cloud.dynamodb.put_item(
        TableName="intake-index", Item={k: _serializer.serialize(v) for k, v in item.items()}
    )


def message(upload_id: str, status: str = "ready") -> str:
    return json.dumps(
        {"type": "upload.finished", "upload_id": upload_id, "status": status, "version": VERSION}
    )


def burst(cloud: Cloud, owner: str, n: int, prefix: str) -> list[str]:
    ids = [f"{prefix}{i:02d}" for i in range(n)]
    for upload_id in ids:
        put_final(cloud, upload_id, owner)
    return ids


class Notify:
    """The notify function, imported once (one warm environment), invoked with SQS batches."""

    def __init__(self) -> None:
        self.module = load_handler("notify")

    def __call__(self, *bodies: str, receive_count: int = 1) -> set[str]:
        """Run one batch; the bodies of the records it reports as failed."""
        event = sqs_event(*bodies, receive_count=receive_count)
        try:
            response = self.module.handler(event, Context())
        except Exception as exc:  # every record failed: a function error
            if type(exc).__name__ != "BatchProcessingError":
                raise
            return {r["body"] for r in event["Records"]}
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        return {r["body"] for r in event["Records"] if r["messageId"] in failed}


@pytest.fixture
def notify(cloud: Cloud) -> Notify:
    return Notify()


def listed(cloud: Cloud) -> Counter[str]:
    """How many emails each upload id appears in (ids are listed as '(id <upload_id>)')."""
    return Counter(i for m in cloud.sent_emails() for i in re.findall(r"\(id ([^)]+)\)", m.body))


def notified(cloud: Cloud, upload_id: str) -> str:
    record = cloud.record(upload_id)
    assert record is not None and record.notified is not None, upload_id
    return record.notified.detail


def test_a_burst_in_one_batch_is_one_email_per_owner_and_duplicates_change_nothing(
    cloud: Cloud, notify: Notify
) -> None:
    alice, bob = burst(cloud, ALICE, 12, "a"), burst(cloud, BOB, 2, "b")
    bodies = [message(u) for u in alice + bob]
    assert notify(*bodies, *bodies) == set()  # every message twice in one batch
    emails = cloud.sent_emails()
    assert sorted(m.destinations["ToAddresses"][0] for m in emails) == [EMAIL[ALICE], EMAIL[BOB]]
    assert listed(cloud) == Counter({u: 1 for u in alice + bob})
    to_alice = next(m for m in emails if m.destinations["ToAddresses"] == [EMAIL[ALICE]])
    assert to_alice.subject == "Your 12 uploads have finished: 12 ready"
    assert "In all: 12 ready." in to_alice.body
    assert len({notified(cloud, u) for u in alice}) == 1  # one digest, one SES message id

    assert notify(*bodies) == set()  # the batch redelivered: everything is announced already
    assert notify(*reversed(bodies[:5])) == set()  # and again, regrouped
    assert len(cloud.sent_emails()) == 2 and listed(cloud) == Counter({u: 1 for u in alice + bob})


def test_overlapping_batches_put_each_upload_in_one_email(cloud: Cloud, notify: Notify) -> None:
    ids = burst(cloud, ALICE, 10, "o")
    assert notify(*[message(u) for u in ids[:6]]) == set()
    assert notify(*[message(u) for u in ids[3:]]) == set()
    assert len(cloud.sent_emails()) == 2 and listed(cloud) == Counter({u: 1 for u in ids})


def test_outcomes_are_listed_with_their_reasons(cloud: Cloud, notify: Notify) -> None:
    put_final(cloud, "ok1")
    put_final(cloud, "bad1", status="rejected")
    assert notify(message("ok1"), message("bad1", "rejected")) == set()
    (email,) = cloud.sent_emails()
    assert email.subject == "Your 2 uploads have finished: 1 ready, 1 rejected"
    assert '"bad1.jpg" (id bad1) was rejected:\n    not an image' in email.body


def refused(upload_id: str, reason: str) -> str:
    """A multipart upload refused at completion, as the API records it; the message it publishes."""
    records = Records("intake-index")
    key = UploadKey(owner=ALICE, upload_id=upload_id, filename=f"{upload_id}.jpg")
    records.create_pending(
        key,
        owner_email=EMAIL[ALICE],
        content_type="image/jpeg",
        size=11 * 1024 * 1024,
        multipart=Multipart(s3_upload_id=f"s3-{upload_id}", part_size=5 * 1024 * 1024, part_count=3),
    )
    verdict = refusal(f"s3-{upload_id}", reason, "2026-11-21T10:00:00.000Z")
    assert records.reject_multipart(upload_id, f"s3-{upload_id}", verdict)
    finished = {"type": "upload.finished", "upload_id": upload_id, "status": "rejected"}
    return json.dumps(finished | {"version": verdict.version})


def test_a_refused_multipart_upload_is_announced_as_any_rejection_once(cloud: Cloud, notify: Notify) -> None:
    reason = "the parts add up to 12 MiB (12582912 bytes), more than the 11 MiB declared"
    refusal_message = refused("mp1", reason)
    put_final(cloud, "ok2")
    assert notify(refusal_message, message("ok2"), refusal_message) == set()  # a duplicate in the batch
    (email,) = cloud.sent_emails()
    assert email.subject == "Your 2 uploads have finished: 1 ready, 1 rejected"
    assert f'"mp1.jpg" (id mp1) was rejected:\n    {reason}' in email.body
    assert notified(cloud, "mp1") == notified(cloud, "ok2")  # one digest
    assert notify(refusal_message) == set()  # published again: announced already
    assert len(cloud.sent_emails()) == 1 and listed(cloud) == Counter({"mp1": 1, "ok2": 1})


def test_the_each_and_none_preferences(cloud: Cloud, notify: Notify) -> None:
    settings = UserSettings("intake-user-settings")
    settings.put(ALICE, Preferences(EmailPreference.EACH))
    settings.put(BOB, Preferences(EmailPreference.NONE))
    alice, bob = burst(cloud, ALICE, 3, "e"), burst(cloud, BOB, 3, "n")
    assert notify(*[message(u) for u in alice + bob]) == set()
    emails = cloud.sent_emails()
    assert [m.destinations["ToAddresses"] for m in emails] == [[EMAIL[ALICE]]] * 3
    assert {m.subject for m in emails} == {f'Your upload "{u}.jpg" is ready' for u in alice}
    assert all(notified(cloud, u) == "not sent: the owner's email preference is none" for u in bob)


# --- crashes and failures --------------------------------------------------------------------------


def stored_digest(owner: str, ids: list[str], digest_id: str, until: float = 0.0) -> Digest:
    """What a notify killed right after storing its digest (before sending) leaves behind."""
    outbox = Outbox("intake-idempotency")
    members = tuple(Announcement(u, VERSION, Status.READY) for u in ids)
    for member in members:
        assert outbox.claim(member, Claim(digest_id, until)) is None
    email = compose_digest_email([Finished(u, f"{u}.jpg", "ready") for u in ids], EMAIL[owner])
    digest = Digest(digest_id, owner, members, email)
    outbox.put_digest(digest)
    return digest


def test_a_digest_left_by_a_killed_process_is_sent_whole_by_whichever_delivery_comes(
    cloud: Cloud, notify: Notify
) -> None:
    ids = burst(cloud, ALICE, 6, "k")
    stored_digest(ALICE, ids[:4], "d-killed")  # killed after storing it: nothing was sent
    # The redelivery regroups: only two of its members come back in this batch, with two new uploads.
    assert notify(*[message(u) for u in ids[2:]]) == set()
    assert len(cloud.sent_emails()) == 2  # the stored digest, whole, and one for the new uploads
    assert listed(cloud) == Counter({u: 1 for u in ids})
    assert all("digest d-killed of 4" in notified(cloud, u) for u in ids[:4])
    assert notify(*[message(u) for u in ids[:2]]) == set()  # its other members' messages come later
    assert len(cloud.sent_emails()) == 2


def test_a_claim_whose_holder_died_before_storing_a_digest_is_taken_over(
    cloud: Cloud, notify: Notify
) -> None:
    ids = burst(cloud, ALICE, 3, "s")
    Outbox("intake-idempotency").claim(Announcement(ids[0], VERSION, Status.READY), Claim("d-dead", 1.0))
    assert notify(*[message(u) for u in ids]) == set()
    assert len(cloud.sent_emails()) == 1 and listed(cloud) == Counter({u: 1 for u in ids})


def test_a_claim_still_being_composed_elsewhere_is_retried_not_dropped(cloud: Cloud, notify: Notify) -> None:
    ids = burst(cloud, ALICE, 3, "c")
    busy = Announcement(ids[0], VERSION, Status.READY)
    Outbox("intake-idempotency").claim(busy, Claim("d-alive", 4_000_000_000.0))  # its holder is running
    assert notify(*[message(u) for u in ids]) == {message(ids[0])}  # only that one comes back
    assert listed(cloud) == Counter({u: 1 for u in ids[1:]})
    # The holder stores its digest (and dies); the retried message finishes it.
    email = compose_digest_email([Finished(ids[0], f"{ids[0]}.jpg", "ready")], EMAIL[ALICE])
    Outbox("intake-idempotency").put_digest(Digest("d-alive", ALICE, (busy,), email))
    assert notify(message(ids[0]), receive_count=2) == set()
    assert listed(cloud) == Counter({u: 1 for u in ids})


def test_ses_failing_after_some_sends_retries_only_the_unsent(
    cloud: Cloud, notify: Notify, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = burst(cloud, ALICE, 3, "x"), burst(cloud, BOB, 3, "y")
    real_send = mailer.send

    def bob_fails(sender: str, email: Email) -> str:
        if email.to == EMAIL[BOB]:
            raise RuntimeError("SES: Throttling")
        return real_send(sender, email)

    monkeypatch.setattr(mailer, "send", bob_fails)
    bodies = [message(u) for u in alice + bob]
    assert notify(*bodies) == {message(u) for u in bob}
    assert listed(cloud) == Counter({u: 1 for u in alice})
    monkeypatch.setattr(mailer, "send", real_send)
    assert notify(*[message(u) for u in reversed(bob)], receive_count=2) == set()
    assert listed(cloud) == Counter({u: 1 for u in alice + bob})
    assert len(cloud.sent_emails()) == 2


def test_killed_after_the_send_and_before_the_marks_sends_nothing_again(
    cloud: Cloud, notify: Notify, monkeypatch: pytest.MonkeyPatch
) -> None:
    from intake.records import Records

    ids = burst(cloud, ALICE, 4, "m")
    real_mark = Records.mark_notified
    marks: list[str] = []

    def dies_after_one(self: Records, upload_id: str, **kw: Any) -> None:
        if marks:
            raise RuntimeError("killed")
        marks.append(upload_id)
        real_mark(self, upload_id, **kw)

    monkeypatch.setattr(Records, "mark_notified", dies_after_one)
    assert notify(*[message(u) for u in ids]) == {message(u) for u in ids}
    assert len(cloud.sent_emails()) == 1
    monkeypatch.setattr(Records, "mark_notified", real_mark)
    # The redelivery comes back split: each part finds its uploads in the sent digest.
    assert notify(*[message(u) for u in ids[2:]], receive_count=2) == set()
    assert notify(*[message(u) for u in ids[:2]], receive_count=2) == set()
    assert len(cloud.sent_emails()) == 1 and listed(cloud) == Counter({u: 1 for u in ids})
    assert len({notified(cloud, u) for u in ids}) == 1
