"""The soak's ledger, as pure logic: the emulator's state (records, thumbnails, emails, queues) against
the uploads the client made. Each case breaks one promise and checks the figure that reports it."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))  # `soak` is not installed

from soak.client import Upload
from soak.ledger import reconcile
from soak.report import as_json
from soak.state import Email, QueueState, State

OWNER = "owner-sub"
POISON = {c: f"poison {c}" for c in ("validate", "thumbnail", "index", "notify")}
EMPTY = QueueState(0, 0, 0, ())


def record(upload_id: str, status: str = "ready", thumbs: int = 3, **extra: Any) -> dict[str, Any]:
    listed = [{"size": s, "key": thumb(upload_id, s)} for s in (1024, 512, 128)[:thumbs]]
    return {
        "upload_id": upload_id,
        "owner": OWNER,
        "key": f"uploads/{OWNER}/{upload_id}/a.jpg",
        "status": status,
        "rev": 3,
        "thumbnails": listed if status == "ready" else [],
        **extra,
    }


def thumb(upload_id: str, size: int) -> str:
    return f"thumbnails/{OWNER}/{upload_id}/{size}.jpg"


def email(upload_id: str) -> Email:
    return Email(("soak@example.com",), f'Your upload "a.jpg" (id {upload_id}) is ready.')


def clean(ids: list[str], bad: tuple[str, ...] = ()) -> tuple[list[Upload], State]:
    """A state in which every promise is kept for `ids` (the `bad` ones rejected)."""
    uploads = [Upload(i, "a.jpg", i in bad) for i in ids]
    records = [record(i, "rejected" if i in bad else "ready") for i in ids]
    thumbnails = [thumb(i, s) for i in ids if i not in bad for s in (1024, 512, 128)]
    state = State(
        records=tuple(records),
        thumbnails=tuple(thumbnails),
        emails=tuple(email(i) for i in ids),
        queues={c: EMPTY for c in POISON},
        dlqs={c: QueueState(1, 0, 0, (body,)) for c, body in POISON.items()},
    )
    return uploads, state


def test_a_clean_run_passes_with_every_figure_in_the_json_line() -> None:
    uploads, state = clean(["u1", "u2", "u3"], bad=("u3",))
    ledger = reconcile(uploads, state, POISON)
    assert ledger.ok and ledger.problems == {}
    assert ledger.final == {"ready": 2, "rejected": 1} and ledger.emails == 3
    assert ledger.dlq_messages == {"validate": 1, "thumbnail": 1, "index": 1, "notify": 1}
    figures = as_json(ledger, {"throttle": 2}, 10.0)
    required = {
        "uploads", "final", "lost", "duplicate_records", "duplicate_thumbnails", "emails", "missing_emails",
        "duplicate_emails", "dlq_messages", "faults", "duration_s", "uploads_per_s",
    }  # fmt: skip
    assert required <= set(figures) and figures["uploads_per_s"] == 0.3 and figures["ok"] is True


def test_an_upload_without_a_final_record_is_lost() -> None:
    uploads, state = clean(["u1", "u2", "u3"])
    records = (record("u1", "processing"), *state.records[1:2])  # u1 not final, u3 has no record
    ledger = reconcile(uploads, dataclasses.replace(state, records=records), POISON)
    assert ledger.lost == 2 and ledger.final == {"missing": 1, "processing": 1, "ready": 1}
    assert not ledger.ok


def test_a_good_file_rejected_or_failed_is_the_wrong_status() -> None:
    uploads, state = clean(["u1", "u2"])
    records = (record("u1", "failed"), record("u2", "rejected"))
    ledger = reconcile(uploads, dataclasses.replace(state, records=records, thumbnails=()), POISON)
    assert ledger.wrong_status == 2 and ledger.lost == 0


def test_two_records_of_one_object_are_a_duplicate_and_unknown_ones_are_stray() -> None:
    uploads, state = clean(["u1"])
    twin = record("u9") | {"key": state.records[0]["key"]}  # another id for the same S3 object
    abandoned = {"upload_id": "u8", "owner": OWNER, "key": "uploads/x/u8/b.jpg", "status": "pending"}
    ledger = reconcile(uploads, dataclasses.replace(state, records=(*state.records, twin, abandoned)), POISON)
    assert ledger.duplicate_records == 1
    assert ledger.stray_records == 1 and ledger.abandoned == 1  # the twin; the abandoned POST is fine


def test_thumbnails_beyond_the_set_missing_or_listed_twice() -> None:
    uploads, state = clean(["u1", "u2", "u3"])
    listed_twice = record("u2") | {"thumbnails": [{"key": thumb("u2", 512)}, {"key": thumb("u2", 512)}]}
    records = (state.records[0], listed_twice, state.records[2])
    stored = [k for k in state.thumbnails if "/u3/" not in k or k.endswith("1024.jpg")] + [thumb("u1", 64)]
    ledger = reconcile(uploads, dataclasses.replace(state, records=records, thumbnails=tuple(stored)), POISON)
    # u1: one object beyond its set; u2: one listed twice, and 1024 and 128 stored but not listed
    assert ledger.duplicate_thumbnails == 1 + 1 + 2
    assert ledger.missing_thumbnails == 2  # u3: 512 and 128 listed, not stored


def test_thumbnails_of_a_rejected_upload_are_stray() -> None:
    uploads, state = clean(["u1", "u2"], bad=("u2",))
    stored = (*state.thumbnails, thumb("u2", 128), thumb("nobody", 128))
    ledger = reconcile(uploads, dataclasses.replace(state, thumbnails=stored), POISON)
    assert ledger.stray_thumbnails == 2 and not ledger.ok


def test_each_upload_is_announced_exactly_once() -> None:
    uploads, state = clean(["u1", "u2", "u3"])
    emails = (email("u1"), email("u1"), email("u1"), email("u2"), email("other"))
    ledger = reconcile(uploads, dataclasses.replace(state, emails=emails), POISON)
    assert (ledger.emails, ledger.missing_emails, ledger.duplicate_emails, ledger.stray_emails) == (
        4,
        1,
        2,
        1,
    )


def test_queues_must_be_empty_and_dlqs_hold_exactly_the_poison() -> None:
    uploads, state = clean(["u1"])
    queues = {**state.queues, "thumbnail": QueueState(0, 2, 0, ("a", "b"))}  # in flight counts too
    dlqs = {
        **state.dlqs,
        "index": QueueState(2, 0, 0, (POISON["index"], "a real message")),
        "notify": EMPTY,  # its poison never arrived
        "validate": QueueState(2, 0, 0, (POISON["validate"],) * 2),  # twice
    }
    ledger = reconcile(uploads, dataclasses.replace(state, queues=queues, dlqs=dlqs), POISON)
    assert ledger.queued["thumbnail"] == 2 and ledger.dlq_unexpected == 3
    assert ledger.problems == {"queued": 2, "dlq_unexpected": 3}


def test_without_poison_the_dlqs_must_be_empty() -> None:
    uploads, state = clean(["u1"])
    dlqs = {c: EMPTY for c in POISON}
    assert reconcile(uploads, dataclasses.replace(state, dlqs=dlqs), {}).ok
    assert reconcile(uploads, state, {}).dlq_unexpected == 4


def test_uploads_the_client_gave_up_on_fail_the_run() -> None:
    uploads, state = clean(["u1"])
    assert reconcile(uploads, state, POISON, client_failures=1).problems == {"client_failures": 1}


def test_an_email_names_its_upload() -> None:
    assert email("0123abcd").upload_ids == ("0123abcd",)
    assert Email(("x",), "ALARM: queue age").upload_ids == ()
    digest = (
        '2 of your uploads have finished.\n\n- "a.jpg" (id aaa1) is ready\n- "b.jpg" (id bbb2) is ready\n'
    )
    assert Email(("x",), digest).upload_ids == ("aaa1", "bbb2")
