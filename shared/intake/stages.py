"""The three upload stages (validate, thumbnail, index) and what every stage does around them.

A stage reads the object, computes a StageResult and stores it on the record; the record settles its
status, and if that status is final and not yet announced, the stage publishes `upload.finished`.
Rejections are results, not errors. Anything else raises, so SQS retries; on the last receive the
consumer rule (consumer.py) has the stage record `failed` first, so users and ops see it before the
message goes to the DLQ. Each stage function's handler is `lambda_handler(<STAGE>)`.

A rejected upload is discarded: the record keeps its verdict and reasons, the bytes go (`discard`). Every
stage write that settles the record as rejected for the version it processed runs it, so it needs no
coordination: it is idempotent (deleting what is gone is a no-op) and it commutes with the other
stages. A stage that comes later finds the object gone and records nothing (ObjectGone), so the record
stays rejected; one that read the object before it went and wrote thumbnails afterwards settles the
record as rejected too, and deletes them again. A rejected record lists no thumbnails whichever stage
wrote last (status.listed_thumbnails). A stage that finds the object gone also deletes the upload's
thumbnails: the object only goes when the upload is rejected or deleted, and a thumbnail stage that
stored its thumbnails and then died before it could settle finds it gone on its retry.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from intake import storage
from intake.consumer import Consumer, LambdaHandler
from intake.consumer import lambda_handler as consumer_handler
from intake.events import ObjectCreated, UploadFinished, object_created_events
from intake.keys import InvalidKey, UploadKey, parse_upload_key, thumbnail_key
from intake.publisher import publish_finished
from intake.records import Records, Settled, now_iso
from intake.settings import IndexSettings, StageSettings, ThumbnailSettings, ValidateSettings
from intake.status import Stage, StageResult, Status

if TYPE_CHECKING:
    from intake.thumbnails import Thumbnail  # Pillow: imported by the thumbnail function only

logger = Logger(child=True)
metrics = Metrics()  # shares the handler's buffer; flushed as EMF by @metrics.log_metrics

FINAL_METRICS = {
    Status.READY: "UploadsReady",
    Status.REJECTED: "UploadsRejected",
    Status.FAILED: "UploadsFailed",
}

S = TypeVar("S", bound=StageSettings)


def _result(stage: Stage, event: ObjectCreated, reasons: tuple[str, ...], **details: Any) -> StageResult:
    return StageResult(
        stage=stage,
        state="rejected" if reasons else "done",
        version=event.version,
        at=now_iso(),
        reasons=reasons,
        details=details,
    )


def validate(
    event: ObjectCreated, key: UploadKey, cfg: ValidateSettings
) -> tuple[StageResult, Mapping[str, Any]]:
    # Pillow and the metadata model: the validate function loads them at init.
    from intake import signatures, validation, verdicts

    head = storage.head(event.bucket, event.key)
    first = storage.read(event.bucket, event.key, first_bytes=validation.HEAD_BYTES) if head.size else b""
    last = b""
    if len(first) < head.size and signatures.end_checked(verdicts.sniff_content_type(first)):
        last = storage.read(event.bucket, event.key, last_bytes=validation.TAIL_BYTES)  # its end marker
    facts = validation.ObjectFacts(
        key=event.key,
        content_type=head.content_type,
        size=head.size,
        metadata=head.metadata,
        head=first,
        tail=last,
    )
    checked = validation.validate(
        facts, cfg.limits, read_more=lambda n: storage.read(event.bucket, event.key, first_bytes=n)
    )
    attributes: dict[str, Any] = {}
    if checked.metadata:
        meta = checked.metadata
        attributes = {k: v for k, v in {"title": meta.title, "description": meta.description}.items() if v}
        attributes["tags"] = list(meta.tags)
    if checked.width and checked.height:
        attributes.update(width=checked.width, height=checked.height)
    return _result("validate", event, checked.reasons, content_type=head.content_type or ""), attributes


# Above this an image is streamed to a temporary file (/tmp) and Pillow reads it from there: the
# function's memory then holds the decoder's buffers, not the file (MaxImageBytes, 200 MiB by default).
IN_MEMORY_BYTES = 32 * 1024 * 1024


def _nothing_to_do(event: ObjectCreated, content_type: str) -> tuple[StageResult, Mapping[str, Any]]:
    """A document or media file: no thumbnails. Recorded as done, so the status still settles."""
    logger.info("not an image: no thumbnails", extra={"key": event.key, "content_type": content_type})
    return _result(
        "thumbnail", event, (), thumbnails=[], nothing_to_do=f"{content_type} has no thumbnails"
    ), {}


def thumbnail(
    event: ObjectCreated, key: UploadKey, cfg: ThumbnailSettings
) -> tuple[StageResult, Mapping[str, Any]]:
    from intake import signatures, thumbnails, verdicts  # Pillow: the thumbnail function loads them at init

    head = storage.head(event.bucket, event.key)
    if head.size > cfg.max_upload_bytes:  # the validate stage's sentence: one problem, one reason
        return _result("thumbnail", event, (verdicts.too_large(head.size, cfg.max_upload_bytes),)), {}
    # The same first bytes validate sniffs, so both stages see the same type.
    first = storage.read(event.bucket, event.key, first_bytes=verdicts.HEAD_BYTES) if head.size else b""
    sniffed = verdicts.sniff_content_type(first)
    declared = signatures.media_type(head.content_type)
    # Validate judges whether a document is what it claims; there is nothing to draw either way.
    if signatures.is_other(sniffed) or (sniffed is None and signatures.is_other(declared)):
        return _nothing_to_do(event, sniffed or declared or "")
    if sniffed is None and head.size:  # not read further: it may be gigabytes of anything
        return _result("thumbnail", event, (verdicts.NOT_AN_IMAGE,)), {}
    if head.size > cfg.max_image_bytes:  # checked before the image is read
        return _result("thumbnail", event, (verdicts.image_too_large(head.size, cfg.max_image_bytes),)), {}
    try:
        made = _thumbnails_of(event, head.size, first, cfg.max_image_pixels)
    except thumbnails.ImageRejected as exc:
        return _result("thumbnail", event, (exc.reason,)), {}
    listed = []
    metrics.add_metric(name="ThumbnailsMade", unit=MetricUnit.Count, value=len(made))
    for thumb in made:
        thumb_key = thumbnail_key(key.owner, key.upload_id, thumb.size)
        storage.put_thumbnail(cfg.thumbnail_bucket, thumb_key, thumb.data)
        listed.append(
            {
                "size": thumb.size,
                "key": thumb_key,
                "width": thumb.width,
                "height": thumb.height,
                "bytes": len(thumb.data),
            }
        )
    # The record lists them from this result when it settles (status.listed_thumbnails), not here.
    return _result("thumbnail", event, (), thumbnails=listed), {}


def _thumbnails_of(event: ObjectCreated, size: int, first: bytes, max_pixels: int) -> list[Thumbnail]:
    """The image's thumbnails: from memory up to IN_MEMORY_BYTES, else from a temporary file."""
    from intake import thumbnails

    if len(first) >= size:  # the head was the whole object
        return thumbnails.make_thumbnails(first, max_pixels=max_pixels)
    if size <= IN_MEMORY_BYTES:
        return thumbnails.make_thumbnails(storage.read(event.bucket, event.key), max_pixels=max_pixels)
    # Unlinked at once (O_TMPFILE): /tmp is freed when it closes, even if the process dies.
    with tempfile.TemporaryFile(prefix="intake-") as spooled:
        storage.read_into(event.bucket, event.key, spooled)
        spooled.seek(0)
        return thumbnails.make_thumbnails(spooled, max_pixels=max_pixels)


def index(event: ObjectCreated, key: UploadKey, cfg: IndexSettings) -> tuple[StageResult, Mapping[str, Any]]:
    head = storage.head(event.bucket, event.key)
    attributes = {
        "size": head.size,
        "etag": head.etag,
        "content_type": head.content_type or "",
        "last_modified": head.last_modified,
        "event_time": event.event_time,
    }
    return _result("index", event, (), etag=head.etag, size=head.size), attributes


@dataclass(frozen=True)
class StageSpec(Generic[S]):
    """One stage: its name, its function's settings model and its work on one object."""

    stage: Stage
    settings: type[S]
    work: Callable[[ObjectCreated, UploadKey, S], tuple[StageResult, Mapping[str, Any]]]


VALIDATE = StageSpec("validate", ValidateSettings, validate)
THUMBNAIL = StageSpec("thumbnail", ThumbnailSettings, thumbnail)
INDEX = StageSpec("index", IndexSettings, index)


def discard_thumbnails(key: UploadKey, cfg: StageSettings) -> None:
    """Delete every thumbnail a rejected upload may have (their keys are fixed; missing ones are fine)."""
    from intake import thumbnails  # its sizes; the index function loads it on a rejection only

    if cfg.thumbnail_bucket:
        keys = [thumbnail_key(key.owner, key.upload_id, size) for size in thumbnails.SIZES]
        storage.delete_keys(cfg.thumbnail_bucket, keys)


def discard_object(key: UploadKey, event: ObjectCreated) -> None:
    """Delete the rejected object, only if it is still the one rejected (If-Match its ETag): a newer
    upload to the same key stays, and its own events decide about it."""
    if storage.delete_if_unchanged(event.bucket, event.key, event.etag):
        logger.info("rejected upload deleted", extra={"upload_id": key.upload_id, "key": event.key})


def store(key: UploadKey, result: StageResult, attributes: Mapping[str, Any], cfg: StageSettings) -> Settled:
    """Record `result` and announce a final outcome (not if a newer or stronger result is stored)."""
    settled = Records(cfg.index_table).record_stage(key, result, attributes)
    if not settled.stored:
        logger.info("a newer or stronger result is already stored", extra={"upload_id": key.upload_id})
        return settled
    if settled.needs_announcement:
        assert settled.outcome.version is not None
        metrics.add_metric(name=FINAL_METRICS[settled.outcome.status], unit=MetricUnit.Count, value=1)
        finished = UploadFinished(
            upload_id=key.upload_id,
            status=settled.outcome.status,
            version=settled.outcome.version,
        )
        publish_finished(cfg.finished_topic_arn, finished)
    return settled


def discard(key: UploadKey, event: ObjectCreated, cfg: StageSettings) -> None:
    """Delete a rejected upload's thumbnails, then the object. The object goes last: until it is gone a
    retry processes it again, so a failure part way can never leave thumbnails behind."""
    discard_thumbnails(key, cfg)
    discard_object(key, event)


def process(spec: StageSpec[S], cfg: S, event: ObjectCreated) -> None:
    try:
        key = parse_upload_key(event.key)
    except InvalidKey as exc:
        logger.warning(
            "ignoring an object outside the upload layout", extra={"key": event.key, "why": str(exc)}
        )
        return
    try:
        result, attributes = spec.work(event, key, cfg)
    except storage.ObjectGone:
        logger.info("object deleted before processing", extra={"key": event.key})
        discard_thumbnails(key, cfg)  # rejected or deleted: none may stay (see the module docstring)
        return
    settled = store(key, result, attributes, cfg)
    if settled.outcome.status != Status.REJECTED:
        return
    if settled.stored and settled.outcome.version == event.version:
        discard(key, event, cfg)
    else:  # an older event's late thumbnails: the newer upload of the key was rejected, they go too
        discard_thumbnails(key, cfg)


def give_up(stage: Stage, cfg: StageSettings, event: ObjectCreated, error: Exception, attempts: int) -> None:
    """The last receive failed: record the stage as failed (which settles the upload as failed)."""
    key = parse_upload_key(event.key)
    reason = f"{stage} did not complete after {attempts} attempts because of an error on our side"
    failed = StageResult(stage=stage, state="failed", version=event.version, at=now_iso(), reasons=(reason,))
    store(key, failed, {}, cfg)


def _events(record: SQSRecord) -> list[ObjectCreated]:
    """The ObjectCreated events in one SQS message (s3:TestEvent has none)."""
    return object_created_events(record.body)


def consumer(spec: StageSpec[S], cfg: S) -> Consumer[SQSRecord, ObjectCreated]:
    """The stage as a queue consumer: every ObjectCreated event of a message, one by one."""
    return Consumer(
        name=spec.stage,
        messages=_events,
        handle=functools.partial(process, spec, cfg),
        record_failure=functools.partial(give_up, spec.stage, cfg),
        max_receive_count=cfg.max_receive_count,
    )


def lambda_handler(spec: StageSpec[S]) -> LambdaHandler:
    """The stage function's entry point. Its settings are read now, at the cold start, so a missing
    variable fails the function's init with the variable's name."""
    cfg = spec.settings.from_env()
    return consumer_handler(consumer(spec, cfg), BatchProcessor(event_type=EventType.SQS))
