"""`intake ops announce` (intake_cli.records.announce) on moto: an upload whose owner was not told of its
outcome gets its upload.finished published again; one already announced, one still in progress and an
unknown id are each answered in a sentence, with nothing published."""

from __future__ import annotations

import os
from typing import Any

import pytest

from intake.keys import UploadKey
from intake.records import Records
from intake.status import STAGES, StageResult, derive
from intake_cli.errors import OpsError
from intake_cli.records import announce
from tests.integration.conftest import Cloud, MotoDeployment

TABLE = "intake-index"


def deployment() -> Any:
    return MotoDeployment({"IndexTableName": TABLE, "FinishedTopicArn": os.environ["FINISHED_TOPIC_ARN"]})


def upload(records: Records, upload_id: str, stages: tuple[str, ...], state: str = "rejected") -> UploadKey:
    key = UploadKey("owner-a", upload_id, "a.jpg")
    records.create_pending(key, owner_email="a@example.com", content_type="image/jpeg", size=1)
    for stage in stages:
        reasons = ("bad",) if state != "done" else ()
        records.record_stage(key, StageResult(stage, state, "v1", "t", reasons))  # type: ignore[arg-type]
    return key


def test_an_unannounced_outcome_is_published_again(cloud: Cloud) -> None:
    records = Records(TABLE)
    upload(records, "u1", STAGES[:1])
    assert announce(deployment(), "u1") == {"upload_id": "u1", "status": "rejected", "result": "published"}
    (message,) = cloud.finished()
    assert message == {"type": "upload.finished", "upload_id": "u1", "status": "rejected", "version": "v1"}
    # What notify then does: mark it announced. Asked again, nothing more is published.
    record = records.get("u1")
    assert record is not None
    outcome = derive(record.results)
    records.mark_notified("u1", version="v1", status=outcome.status, detail="sent")
    assert announce(deployment(), "u1")["result"] == "already announced"
    assert cloud.finished() == []


def test_a_ready_upload_is_announced_with_its_version(cloud: Cloud) -> None:
    upload(Records(TABLE), "u2", STAGES, state="done")
    assert announce(deployment(), "u2") == {"upload_id": "u2", "status": "ready", "result": "published"}
    (message,) = cloud.finished()
    assert message == {"type": "upload.finished", "upload_id": "u2", "status": "ready", "version": "v1"}


@pytest.mark.parametrize(
    ("upload_id", "stages", "error"),
    [
        ("u3", (), "upload u3 is pending: only a final outcome (ready, rejected or failed) is announced"),
        ("nope", None, "no upload 'nope' in intake-index"),
    ],
)
def test_nothing_to_announce_is_said_and_nothing_is_published(
    cloud: Cloud, upload_id: str, stages: tuple[str, ...] | None, error: str
) -> None:
    if stages is not None:
        upload(Records(TABLE), upload_id, stages)
    with pytest.raises(OpsError) as refused:
        announce(deployment(), upload_id)
    assert str(refused.value) == error
    assert cloud.finished() == []
