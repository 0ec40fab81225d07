"""The upload record: one typed, immutable view of an item in the index table.

Field names are the table's attribute names (records.py writes them, this model reads them). Stage
results keep their stored form (`stage_<name>`, see status.py); `results` gives them by stage name.
Attributes that only some stages write are optional; the ones every writer sets are required.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from intake.keys import UploadKey
from intake.status import Outcome, Stage, StageResult, Status, read_status

_FROZEN = ConfigDict(frozen=True, extra="ignore")


class Thumbnail(BaseModel):
    """One thumbnail the thumbnail stage stored: `size` is the longest side it was made for."""

    model_config = _FROZEN

    size: int
    key: str
    width: int
    height: int
    bytes: int | None = None


class Notified(BaseModel):
    """The outcome email went out (or could not be addressed) for this version and status."""

    model_config = _FROZEN

    version: str
    status: Status
    detail: str
    at: str


class NotifyError(BaseModel):
    """The last attempt to send the outcome email failed; a redrive retries it."""

    model_config = _FROZEN

    detail: str
    at: str


class Multipart(BaseModel):
    """An open multipart upload: S3's UploadId (never shown to clients) and the part plan.

    Removed when the upload is completed, aborted or refused: a record with it is an open multipart upload.
    """

    model_config = _FROZEN

    s3_upload_id: str
    part_size: int
    part_count: int


class UploadRecord(BaseModel):
    model_config = _FROZEN

    # identity: written by create_pending and (if_not_exists) by every stage write
    upload_id: str
    owner: str
    filename: str
    key: str
    created_at: str
    updated_at: str
    # the status, settled from the stage results
    status: Status = Status.PENDING
    status_reasons: tuple[str, ...] = ()
    status_version: str | None = None
    rev: int = 0  # bumped by every stage write
    status_rev: int = 0  # the rev the status was derived from
    expires_at_epoch: int | None = None  # the TTL of a pending record; removed when the object arrives
    # what the uploader declared (POST /uploads)
    owner_email: str | None = None
    declared_size: int | None = None
    declared_content_type: str | None = None
    title: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    multipart: Multipart | None = None  # an open multipart upload (POST /uploads above the threshold)
    # what the stages found
    width: int | None = None  # validate
    height: int | None = None
    thumbnails: tuple[Thumbnail, ...] = ()  # thumbnail
    size: int | None = None  # index
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    event_time: str | None = None
    stage_validate: StageResult | None = None
    stage_thumbnail: StageResult | None = None
    stage_index: StageResult | None = None
    # the outcome email
    notified: Notified | None = None
    notify_error: NotifyError | None = None

    @field_validator("stage_validate", "stage_thumbnail", "stage_index", mode="before")
    @classmethod
    def _stage_result(cls, value: object, info: ValidationInfo) -> object:
        """Stored results carry no stage name (the attribute name has it) and a derived rank."""
        if isinstance(value, Mapping):
            stage: Stage = info.field_name.removeprefix("stage_")  # type: ignore[union-attr,assignment]
            return StageResult.from_item(stage, value)
        return value

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> UploadRecord:
        """The record from a table item, already turned into plain Python values."""
        return cls.model_validate(item)

    def read_at(self, now_epoch: float) -> UploadRecord:
        """The record as readers see it at `now_epoch`: pending past its TTL reads as expired."""
        status = read_status(self.status, self.expires_at_epoch, now_epoch)
        return self if status == self.status else self.model_copy(update={"status": status})

    @property
    def results(self) -> dict[str, StageResult]:
        """The stored stage results, by stage name."""
        stored = (self.stage_validate, self.stage_thumbnail, self.stage_index)
        return {result.stage: result for result in stored if result is not None}

    @property
    def object_key(self) -> str:
        """The S3 key of the upload itself."""
        return self.key or UploadKey(owner=self.owner, upload_id=self.upload_id, filename=self.filename).key

    def announced(self, outcome: Outcome) -> bool:
        """Whether the owner was already told of `outcome` (same version, same status)."""
        notified = self.notified
        return notified is not None and (notified.version, notified.status) == (
            outcome.version,
            outcome.status,
        )
