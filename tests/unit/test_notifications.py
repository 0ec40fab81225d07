from typing import Any

import pytest

from intake.notifications import MAX_SUBJECT_CHARS, Email, InvalidRecipient, compose_outcome_email


def compose(**over: Any) -> Email:
    args: dict[str, Any] = {
        "filename": "cat.png",
        "status": "ready",
        "reasons": [],
        "upload_id": "u-1",
        "thumbnails": 3,
        "to": "alice@example.com",
    } | over
    return compose_outcome_email(**args)


def test_ready():
    email = compose()
    assert isinstance(email, Email)
    assert email.to == "alice@example.com"
    assert email.subject == 'Your upload "cat.png" is ready'
    assert "u-1" in email.text
    assert "3 thumbnails were created." in email.text
    assert "1 thumbnail was created." in compose(thumbnails=1).text


def test_a_ready_document_says_it_has_no_thumbnails_not_zero() -> None:
    text = compose(filename="minutes.pdf", thumbnails=0).text
    assert "No thumbnails are made for this kind of file." in text and "0 thumbnails" not in text


def test_rejected_lists_every_reason():
    reasons = ["content is image/png but was declared image/jpeg", "file is 31.2 MB, the limit is 25.0 MB"]
    email = compose(status="rejected", reasons=reasons)
    assert email.subject == 'Your upload "cat.png" was rejected'
    lines = email.text.splitlines()
    for reason in reasons:
        assert f"- {reason}" in lines


def test_failed():
    email = compose(status="failed", reasons=["thumbnail: gave up after 5 attempts"])
    assert email.subject == 'Your upload "cat.png" could not be processed'
    assert "- thumbnail: gave up after 5 attempts" in email.text.splitlines()
    assert "again" in email.text


def test_rejected_without_reasons_still_says_something():
    assert "- no reason was recorded" in compose(status="rejected", reasons=[]).text.splitlines()


@pytest.mark.parametrize("status", ["validating", "processing", "", "READY"])
def test_non_final_status_is_refused(status):
    with pytest.raises(ValueError, match="not final"):
        compose(status=status)


def test_non_ascii_filename_is_kept():
    assert compose(filename="café ☕ 猫.png").subject == 'Your upload "café ☕ 猫.png" is ready'


@pytest.mark.parametrize(
    "filename",
    [
        "cat.png\r\nBcc: victim@example.com",
        "cat.png\nBcc: victim@example.com",
        "cat.png\rBcc: victim@example.com",
        "cat.png\u2028Bcc: victim@example.com",
        "cat.png\x85Bcc: victim@example.com",
        "cat.png\x00\x1b[31m\tBcc: victim@example.com",
    ],
)
def test_no_header_injection_through_filename(filename):
    email = compose(filename=filename, status="rejected", reasons=["bad\r\nBcc: x@y.z"])
    assert email.subject.startswith('Your upload "cat.png ')
    assert email.subject.endswith('Bcc: victim@example.com" was rejected')
    assert all(c.isprintable() for c in email.subject)
    assert not any(line.startswith("Bcc") for line in email.text.splitlines())
    assert "\r" not in email.text


def test_bidi_override_is_removed():
    assert "\u202e" not in compose(filename="gnp.\u202eexe.png").subject


def test_long_filename_is_shortened_but_outcome_kept():
    email = compose(filename="x" * 1000 + ".png", status="rejected", reasons=["r"])
    assert len(email.subject) <= MAX_SUBJECT_CHARS
    assert email.subject.endswith('…" was rejected')
    assert MAX_SUBJECT_CHARS <= 150


def test_long_reason_is_shortened():
    email = compose(status="rejected", reasons=["y" * 5000])
    assert max(len(line) for line in email.text.splitlines()) < 600


@pytest.mark.parametrize(
    "to", ["alice@example.com", "first.last+tag@mail.example.co.uk", "o'brien@example.ie", "x@b.c"]
)
def test_plausible_recipients(to):
    assert compose(to=to).to == to


@pytest.mark.parametrize(
    "to",
    [
        "",
        "alice",
        "alice@",
        "@example.com",
        "alice@localhost",
        "alice@example.com\r\nBcc: victim@example.com",
        "alice@example.com\n",
        "alice@example.com, bob@example.com",
        "alice@example.com;bob@example.com",
        "Alice <alice@example.com>",
        "alice@b@example.com",
        "al ice@example.com",
        "alice@example.com\x00",
        "alice@example.",
        "a" * 250 + "@example.com",
    ],
)
def test_implausible_recipients_are_refused(to):
    with pytest.raises(InvalidRecipient) as info:
        compose(to=to)
    assert isinstance(info.value, ValueError)
