"""The soak's ledger: what the emulator holds against what the client uploaded (pure: no AWS).

Per upload: a record in a final state (else it is lost), the status its file deserves (ready, or
rejected for the deliberately bad ones), exactly the thumbnails its record lists when it is ready and
none otherwise, and exactly one email naming it (its own, or a line of one digest). Across the stack: one record per S3 object, no
message left in any queue, and in each dead-letter queue exactly its deliberate poison.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from intake.status import FINAL_STATUSES, Status

from .client import Upload
from .state import State

_FINAL = {str(s.value) for s in FINAL_STATUSES}


@dataclass
class Ledger:
    uploads: int = 0
    final: dict[str, int] = field(default_factory=dict)  # uploads by status ("missing": no record)
    lost: int = 0  # uploads not in a final state
    wrong_status: int = 0  # final, but not the verdict the file deserves
    duplicate_records: int = 0  # records beyond one per S3 object
    stray_records: int = 0  # records of no upload the client made, other than abandoned pending ones
    abandoned: int = 0  # pending records of POST /uploads whose upload the client never made
    duplicate_thumbnails: int = 0  # thumbnails beyond the ready upload's one set (or listed twice)
    missing_thumbnails: int = 0  # thumbnails a ready record lists that are not stored
    stray_thumbnails: int = 0  # thumbnails of uploads that are not ready, or of no upload
    emails: int = 0
    missing_emails: int = 0
    duplicate_emails: int = 0
    stray_emails: int = 0  # emails to the user naming no upload of the soak
    queued: dict[str, int] = field(default_factory=dict)  # messages left per queue (visible or not)
    dlq_messages: dict[str, int] = field(default_factory=dict)
    dlq_unexpected: int = 0  # DLQ messages that are not the poison, plus poison missing from a DLQ
    client_failures: int = 0  # uploads the client could not make at all

    @property
    def problems(self) -> dict[str, int]:
        """Every figure that must be zero, with its value (the soak passes when all are)."""
        figures = {
            "lost": self.lost,
            "wrong_status": self.wrong_status,
            "duplicate_records": self.duplicate_records,
            "stray_records": self.stray_records,
            "duplicate_thumbnails": self.duplicate_thumbnails,
            "missing_thumbnails": self.missing_thumbnails,
            "stray_thumbnails": self.stray_thumbnails,
            "missing_emails": self.missing_emails,
            "duplicate_emails": self.duplicate_emails,
            "stray_emails": self.stray_emails,
            "queued": sum(self.queued.values()),
            "dlq_unexpected": self.dlq_unexpected,
            "client_failures": self.client_failures,
        }
        return {name: value for name, value in figures.items() if value}

    @property
    def ok(self) -> bool:
        return not self.problems


def _expected_status(upload: Upload) -> str:
    return Status.REJECTED.value if upload.bad else Status.READY.value


def _records(ledger: Ledger, uploads: Mapping[str, Upload], records: Iterable[Mapping[str, Any]]) -> None:
    by_id = {str(r["upload_id"]): r for r in records}
    per_object = Counter(str(r.get("key")) for r in by_id.values())
    ledger.duplicate_records = sum(n - 1 for n in per_object.values() if n > 1)
    statuses: Counter[str] = Counter()
    for upload_id, upload in uploads.items():
        record = by_id.get(upload_id)
        status = str(record["status"]) if record else "missing"
        statuses[status] += 1
        if status not in _FINAL:
            ledger.lost += 1
        elif status != _expected_status(upload):
            ledger.wrong_status += 1
    ledger.final = dict(sorted(statuses.items()))
    for upload_id, record in by_id.items():
        if upload_id not in uploads:
            pending = record.get("status") == Status.PENDING.value and not record.get("rev")
            ledger.abandoned += 1 if pending else 0
            ledger.stray_records += 0 if pending else 1


def _thumbnails(
    ledger: Ledger, uploads: Mapping[str, Upload], records: Iterable[Mapping[str, Any]], stored: Iterable[str]
) -> None:
    by_upload: dict[str, set[str]] = {}
    for key in stored:  # thumbnails/<owner>/<upload_id>/<size>.jpg
        parts = key.split("/")
        by_upload.setdefault(parts[2] if len(parts) > 3 else "", set()).add(key)
    by_id = {str(r["upload_id"]): r for r in records}
    for upload_id, keys in by_upload.items():
        record = by_id.get(upload_id)
        if upload_id not in uploads or record is None or record.get("status") != Status.READY.value:
            ledger.stray_thumbnails += len(keys)
    for upload_id in uploads:
        record = by_id.get(upload_id)
        if record is None or record.get("status") != Status.READY.value:
            continue
        listed = [str(t["key"]) for t in record.get("thumbnails") or []]
        keys = by_upload.get(upload_id, set())
        ledger.duplicate_thumbnails += len(listed) - len(set(listed)) + len(keys - set(listed))
        ledger.missing_thumbnails += len(set(listed) - keys) + (0 if listed else 1)


def _emails(ledger: Ledger, uploads: Mapping[str, Upload], state: State) -> None:
    # Each upload appears in exactly one email: its own, or one line of one digest.
    named = Counter(upload_id for email in state.emails for upload_id in email.upload_ids)
    ledger.emails = sum(n for upload_id, n in named.items() if upload_id in uploads)
    ledger.stray_emails = sum(n for upload_id, n in named.items() if upload_id not in uploads)
    ledger.missing_emails = sum(1 for upload_id in uploads if named[upload_id] == 0)
    ledger.duplicate_emails = sum(named[upload_id] - 1 for upload_id in uploads if named[upload_id] > 1)


def _queues(ledger: Ledger, state: State, poison: Mapping[str, str]) -> None:
    ledger.queued = {consumer: queue.total for consumer, queue in state.queues.items()}
    ledger.dlq_messages = {consumer: queue.total for consumer, queue in state.dlqs.items()}
    for consumer, queue in state.dlqs.items():
        bodies = Counter(queue.bodies)
        expected = poison.get(consumer)
        if expected is not None:
            ledger.dlq_unexpected += abs(bodies.pop(expected, 0) - 1)
        ledger.dlq_unexpected += sum(bodies.values())


def reconcile(
    uploads: Iterable[Upload], state: State, poison: Mapping[str, str], *, client_failures: int = 0
) -> Ledger:
    """The ledger of `uploads` against `state`; `poison` is each consumer's deliberate DLQ body."""
    by_id = {u.upload_id: u for u in uploads}
    ledger = Ledger(uploads=len(by_id), client_failures=client_failures)
    _records(ledger, by_id, state.records)
    _thumbnails(ledger, by_id, state.records, state.thumbnails)
    _emails(ledger, by_id, state)
    _queues(ledger, state, poison)
    return ledger
