"""Digest emails, pure parts: composing one email for many uploads, grouping a batch, preferences."""

from __future__ import annotations

import pytest

from intake.announce import Candidate, group_by_recipient, split, unmailable
from intake.notifications import (
    DIGEST_COUNTS_AFTER,
    MAX_SUBJECT_CHARS,
    Finished,
    InvalidRecipient,
    compose_digest_email,
    compose_outcome_email,
    outcome_counts,
)
from intake.outbox import Announcement
from intake.preferences import EmailPreference, InvalidPreferences, Preferences, parse_preferences
from intake.record import UploadRecord
from intake.status import Status

TO = "owner@example.com"


def finished(n: int, status: str = "ready", **kw: object) -> Finished:
    return Finished(upload_id=f"u{n:02d}", filename=f"photo-{n:02d}.jpg", status=status, **kw)  # type: ignore[arg-type]


def test_one_upload_gets_the_plain_outcome_email() -> None:
    one = Finished(upload_id="u1", filename="cat.jpg", status="ready", thumbnails=3)
    assert compose_digest_email([one], TO) == compose_outcome_email(
        filename="cat.jpg", status="ready", reasons=[], upload_id="u1", thumbnails=3, to=TO
    )


def test_a_digest_lists_every_upload_once_with_its_outcome() -> None:
    uploads = [
        finished(1, thumbnails=3),
        finished(2, "rejected", reasons=("not an image", "too large")),
        finished(3, "failed", reasons=("thumbnail did not complete after 5 attempts",)),
    ]
    email = compose_digest_email(uploads, TO)
    assert email.to == TO
    assert email.subject == "Your 3 uploads have finished: 1 ready, 1 rejected, 1 failed"
    for upload in uploads:
        assert email.text.count(f"(id {upload.upload_id})") == 1
    lines = email.text.splitlines()
    # failed first, then rejected, then ready; reasons under their upload
    assert [line.split('"')[1] for line in lines if line.startswith("- ")] == [
        "photo-03.jpg",
        "photo-02.jpg",
        "photo-01.jpg",
    ]
    assert "    not an image" in lines and "    too large" in lines
    assert "3 thumbnails were created." in email.text
    assert "In all:" not in email.text  # short: no counts line
    assert "again later" in email.text


def test_a_long_digest_starts_with_the_counts_and_still_lists_everything() -> None:
    uploads = [finished(n) for n in range(40)] + [finished(40 + n, "rejected") for n in range(3)]
    email = compose_digest_email(uploads, TO)
    assert len(uploads) > DIGEST_COUNTS_AFTER
    assert "In all: 40 ready, 3 rejected." in email.text
    assert all(email.text.count(f"(id {u.upload_id})") == 1 for u in uploads)
    assert "    no reason was recorded" in email.text


def test_many_reasons_are_cut_to_a_few_per_upload() -> None:
    email = compose_digest_email(
        [finished(1, "rejected", reasons=tuple(f"reason {i}" for i in range(6))), finished(2)], TO
    )
    assert "reason 2" in email.text and "reason 3" not in email.text and "    and 3 more" in email.text


def test_user_text_cannot_break_the_subject_or_the_layout() -> None:
    uploads = [
        Finished(
            upload_id="u1\r\nBcc: x@evil.example", filename="a\r\nBcc: x@evil.example.jpg", status="ready"
        ),
        Finished(upload_id="u2", filename="x" * 500, status="ready"),
    ]
    email = compose_digest_email(uploads, TO)
    assert "\n" not in email.subject and "\r" not in email.text
    assert len(email.subject) <= MAX_SUBJECT_CHARS
    assert all(len(line) < 400 for line in email.text.splitlines())


@pytest.mark.parametrize("to", ["", "a@b", "a@example.com, b@example.com", "x\n@example.com"])
def test_a_digest_refuses_anything_but_one_address(to: str) -> None:
    with pytest.raises(InvalidRecipient):
        compose_digest_email([finished(1), finished(2)], to)


def test_a_digest_needs_final_uploads() -> None:
    with pytest.raises(ValueError):
        compose_digest_email([], TO)
    with pytest.raises(ValueError):
        compose_digest_email([finished(1), finished(2, "processing")], TO)


def test_outcome_counts_leave_out_zeros() -> None:
    assert outcome_counts([finished(1), finished(2), finished(3, "failed")]) == "2 ready, 1 failed"


# --- grouping a batch -------------------------------------------------------------------------------


def candidate(upload_id: str, owner: str, email: str | None = TO) -> Candidate:
    record = UploadRecord(
        upload_id=upload_id,
        owner=owner,
        filename=f"{upload_id}.jpg",
        key=f"uploads/{owner}/{upload_id}/{upload_id}.jpg",
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
        owner_email=email,
    )
    return Candidate(Announcement(upload_id, "t1", Status.READY), record)


def test_a_batch_is_grouped_by_owner_and_address_in_order() -> None:
    batch = [candidate("a1", "alice"), candidate("b1", "bob", "bob@example.com"), candidate("a2", "alice")]
    batch.append(candidate("a3", "alice", "alice-new@example.com"))
    groups = group_by_recipient(batch)
    assert {k: [c.record.upload_id for c in v] for k, v in groups.items()} == {
        ("alice", TO): ["a1", "a2"],
        ("bob", "bob@example.com"): ["b1"],
        ("alice", "alice-new@example.com"): ["a3"],
    }


def test_the_preference_splits_a_group_into_emails() -> None:
    group = [candidate("a1", "alice"), candidate("a2", "alice"), candidate("a3", "alice")]
    assert [len(e) for e in split(group, EmailPreference.DIGEST)] == [3]
    assert [len(e) for e in split(group, EmailPreference.EACH)] == [1, 1, 1]
    assert split(group, EmailPreference.NONE) == []
    assert split([], EmailPreference.DIGEST) == []


def test_why_no_email_goes_out() -> None:
    assert unmailable(TO, EmailPreference.DIGEST) is None
    assert unmailable(TO, EmailPreference.EACH) is None
    assert unmailable(TO, EmailPreference.NONE) == "not sent: the owner's email preference is none"
    assert unmailable("", EmailPreference.DIGEST) == "no email address on the record"
    reason = unmailable("a@b.com, c@d.com", EmailPreference.DIGEST)
    assert reason is not None and reason.startswith("not sent: recipient")


# --- preferences -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["each", "digest", "none"])
def test_preferences_parse(value: str) -> None:
    assert parse_preferences(f'{{"email": "{value}"}}') == Preferences(EmailPreference(value))
    assert Preferences(EmailPreference(value)).to_json() == {"email": value}


def test_the_default_is_digest() -> None:
    assert Preferences().email == EmailPreference.DIGEST


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "not valid JSON"),
        ("{", "not valid JSON"),
        ("[]", "JSON object"),
        ("{}", "email must be one of each, digest, none"),
        ('{"email": "weekly"}', "email must be one of"),
        ('{"email": 1}', "email must be one of"),
        ('{"email": "each", "sms": "yes"}', "unknown field: sms"),
    ],
)
def test_bad_preferences_are_refused_with_a_reason(body: str | None, message: str) -> None:
    with pytest.raises(InvalidPreferences, match=message):
        parse_preferences(body)
