"""The record state machine: any order, any number of deliveries, same record."""

import itertools

import pytest

from intake.status import (
    FINAL_STATUSES,
    STAGES,
    Outcome,
    StageResult,
    Status,
    derive,
    listed_thumbnails,
    read_status,
    supersedes,
)

MADE = [{"size": s, "key": f"thumbnails/o/u/{s}.jpg", "width": s, "height": s} for s in (1024, 512, 128)]


def result(stage, state="done", version="t1", reasons=(), **details):
    return StageResult(
        stage=stage, state=state, version=version, at="now", reasons=tuple(reasons), details=details
    )


def apply_all(results):
    """What the table ends up holding: each write kept only if it supersedes the stored one."""
    stored: dict[str, StageResult] = {}
    for new in results:
        if supersedes(new, stored.get(new.stage)):
            stored[new.stage] = new
    return stored


def test_no_results_is_pending():
    assert derive({}) == Outcome(Status.PENDING, None)


def test_partial_results_are_processing():
    assert derive({"validate": result("validate")}).status == "processing"


def test_all_done_is_ready():
    outcome = derive({s: result(s) for s in STAGES})
    assert outcome == Outcome(Status.READY, "t1")
    assert outcome.final


def test_a_rejection_is_final_at_once_and_keeps_reasons():
    outcome = derive({"validate": result("validate", "rejected", reasons=["too big", "bad type"])})
    assert outcome.status == "rejected"
    assert outcome.reasons == ("too big", "bad type")


def test_rejection_beats_failure_and_reasons_are_deduplicated():
    outcome = derive(
        {
            "validate": result("validate", "rejected", reasons=["corrupt"]),
            "thumbnail": result("thumbnail", "rejected", reasons=["corrupt"]),
            "index": result("index", "failed", reasons=["gave up"]),
        }
    )
    assert outcome == Outcome(Status.REJECTED, "t1", ("corrupt",))


def test_only_the_newest_version_counts():
    results: dict[str, StageResult] = {s: result(s, version="t1") for s in STAGES}
    results["index"] = result("index", version="t2")
    assert derive(results).status == "processing"


def test_success_after_a_recorded_failure_wins_but_not_the_reverse():
    failed, done = result("thumbnail", "failed"), result("thumbnail", "done")
    assert supersedes(done, failed)
    assert not supersedes(failed, done)
    assert supersedes(done, done)  # a retried write re-applies, so a crash before settling is healed


def test_older_version_never_replaces_newer():
    assert not supersedes(result("index", version="t1"), result("index", version="t2"))
    assert supersedes(result("index", "failed", version="t2"), result("index", version="t1"))


WRITES = [
    result("validate"),
    result("thumbnail", "failed", reasons=["gave up"]),
    result("thumbnail", thumbnails=MADE),
    result("index"),
    result("index"),  # duplicate delivery
    result("validate", version="t0"),  # an older upload of the same key
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(WRITES))))[::37])
def test_any_order_gives_the_same_outcome(order):
    stored = apply_all([WRITES[i] for i in order])
    assert derive(stored) == Outcome(Status.READY, "t1")
    assert listed_thumbnails(stored) == MADE


# A PNG declared as JPEG: validate rejects it, the thumbnail stage makes thumbnails all the same.
REJECTED_WRITES = [
    result("validate", "rejected", reasons=["content is image/png but was declared image/jpeg"]),
    result("thumbnail", thumbnails=MADE),
    result("thumbnail", thumbnails=MADE),  # duplicate delivery
    result("thumbnail", "failed", reasons=["gave up"]),
    result("index"),
    result("thumbnail", version="t0", thumbnails=MADE),  # an older upload of the same key
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(REJECTED_WRITES))))[::23])
def test_a_rejected_upload_lists_no_thumbnails_in_any_order(order):
    stored = apply_all([REJECTED_WRITES[i] for i in order])
    assert derive(stored).status == Status.REJECTED
    assert listed_thumbnails(stored) == []
    # after every prefix of the writes as well: the thumbnails never show once the verdict is in
    for n in range(1, len(order) + 1):
        prefix = apply_all([REJECTED_WRITES[i] for i in order[:n]])
        if "validate" in prefix:
            assert listed_thumbnails(prefix) == []


# A PDF (documents allowed): the thumbnail stage has nothing to do and says so; the status still settles.
NOTHING_TO_DO = {"thumbnails": [], "nothing_to_do": "application/pdf has no thumbnails"}
DOCUMENT_WRITES = [
    result("validate"),
    result("thumbnail", "failed", reasons=["gave up"]),  # a transient failure recorded, then retried
    result("thumbnail", **NOTHING_TO_DO),
    result("thumbnail", **NOTHING_TO_DO),  # duplicate delivery
    result("index"),
    result("thumbnail", version="t0", thumbnails=MADE),  # an older image upload of the same key
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(DOCUMENT_WRITES))))[::19])
def test_a_document_settles_ready_without_thumbnails_in_any_order(order):
    stored = apply_all([DOCUMENT_WRITES[i] for i in order])
    assert derive(stored) == Outcome(Status.READY, "t1")
    assert listed_thumbnails(stored) == []
    assert stored["thumbnail"].details == NOTHING_TO_DO  # idempotent: a duplicate changes nothing


def test_only_the_current_versions_thumbnails_are_listed():
    old = {"thumbnail": result("thumbnail", version="t0", thumbnails=MADE), "index": result("index")}
    assert derive(old).version == "t1" and listed_thumbnails(old) == []
    failed = {s: result(s) for s in STAGES} | {"thumbnail": result("thumbnail", "failed")}
    assert listed_thumbnails(failed) == []


# --- expired: derived on read from a pending record's TTL ---------------------------------------------


@pytest.mark.parametrize(
    ("stored", "ttl", "now", "seen"),
    [
        (Status.PENDING, 100, 99.9, Status.PENDING),
        (Status.PENDING, 100, 100, Status.EXPIRED),  # DynamoDB's TTL: expired at the second itself
        (Status.PENDING, 100, 5000, Status.EXPIRED),
        (Status.PENDING, None, 5000, Status.PENDING),  # records made before the TTL existed
        (Status.PROCESSING, 100, 5000, Status.PROCESSING),  # only pending expires
        (Status.READY, 100, 5000, Status.READY),
        (Status.REJECTED, 100, 5000, Status.REJECTED),
    ],
)
def test_read_status(stored: Status, ttl: int | None, now: float, seen: Status) -> None:
    assert read_status(stored, ttl, now) is seen


def test_expired_is_not_final_and_never_derived_from_results() -> None:
    assert Status.EXPIRED not in FINAL_STATUSES
    assert derive({}).status is Status.PENDING


def test_a_record_reads_as_expired_past_its_ttl() -> None:
    from intake.record import UploadRecord

    record = UploadRecord.from_item(
        {
            "upload_id": "u",
            "owner": "o",
            "filename": "f",
            "key": "uploads/o/u/f",
            "created_at": "t",
            "updated_at": "t",
            "status": "pending",
            "expires_at_epoch": 100,
        }
    )
    assert record.read_at(99).status == "pending" and record.read_at(99) is record
    assert record.read_at(100).status == "expired"
    assert record.status == "pending"  # read_at makes a copy
