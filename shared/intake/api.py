"""The uploads API's operations for one signed-in caller: presign, list, show, delete; and the
caller's preferences (PreferencesApi, the user-settings table through `preferences`).

The handler does HTTP; `uploads` holds the pure rules; this module puts them together with S3
(`storage`) and the index (`records`). Downloads are CloudFront signed URLs (`signing`, with the key
from Parameter Store, `parameters`). A record that is missing and one that belongs to someone else
look the same (NotFound), so ids reveal nothing. A multipart upload refused at completion is the one
outcome the API settles itself: it announces it (upload.finished, `publisher`) as the stages do theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from intake import parameters, storage
from intake.keys import THUMBNAIL_PREFIX
from intake.preferences import InvalidPreferences, UserSettings, parse_preferences
from intake.records import Multipart, Records, UploadRecord, now_iso
from intake.settings import ApiSettings
from intake.signing import CloudFrontUrls
from intake.status import Status
from intake.uploads import (
    DOWNLOAD_URL_TTL_S,
    UPLOAD_URL_TTL_S,
    BadRequest,
    HeldPart,
    NewUpload,
    PartPlan,
    UploadTerms,
    abandoned_after,
    completion_problem,
    downloadable,
    expiry,
    new_upload_id,
    parse_completion,
    parse_list_query,
    parse_new_upload,
    parse_part_numbers,
    part_plan,
    part_size_problem,
    public_view,
    refusal,
    size_problem,
    upload_terms,
    valid_upload_id,
    without_downloads,
)

logger = Logger(child=True)
metrics = Metrics()  # shares the handler's buffer; flushed as EMF by its @metrics.log_metrics


class NotFound(LookupError):
    """No such upload for this caller."""


class NotOpenMultipart(Exception):
    """The upload is not an open multipart upload (never was, or completed, aborted, refused): 409."""

    message = "this upload is not an open multipart upload (it is a single-request upload, or was completed or aborted)"


@dataclass(frozen=True)
class Caller:
    """The signed-in user, from the authorizer's claims: `sub` owns uploads, `email` hears of them."""

    sub: str
    email: str | None = None


class UploadsApi:
    def __init__(
        self,
        cfg: ApiSettings,
        records: Records | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.cfg = cfg
        self.records = records or Records(cfg.index_table)
        self.clock = clock
        name = cfg.signing_key_parameter
        self.cdn = CloudFrontUrls(
            cfg.cdn_url, cfg.signing_key_pair_id, lambda: parameters.secure_string(name)
        )

    def create(self, caller: Caller, body: str | None, method: Literal["POST", "PUT"]) -> dict[str, Any]:
        """Presign one upload and record it as pending."""
        upload = parse_new_upload(
            body, allowed_content_types=self.cfg.allowed_content_types, max_bytes=self.cfg.max_upload_bytes
        )
        terms = upload_terms(caller.sub, new_upload_id(), upload)
        now = self.clock()
        if upload.size > self.cfg.multipart_threshold_bytes:  # whatever ?method= asked for
            return self._create_multipart(caller, upload, terms, now)
        presigned: dict[str, Any]
        if method == "POST":
            post = storage.presigned_post(
                self.cfg.upload_bucket,
                terms.key.key,
                fields=terms.post_fields(),
                conditions=terms.post_conditions(),
                expires_in=UPLOAD_URL_TTL_S,
            )
            presigned = {"method": "POST", "url": post["url"], "fields": post["fields"]}
        else:
            url = storage.presigned_put(
                self.cfg.upload_bucket,
                terms.key.key,
                content_type=terms.content_type,
                content_length=terms.size,
                metadata=dict(terms.metadata),
                expires_in=UPLOAD_URL_TTL_S,
            )
            presigned = {"method": "PUT", "url": url, "headers": terms.put_headers()}
        # Written after signing (which is local), so a failure here never hands out a URL without a record.
        self._create_record(caller, upload, terms, now, None)
        return {
            "upload_id": terms.key.upload_id,
            "key": terms.key.key,
            "upload": presigned,
            "expires_at": expiry(now, UPLOAD_URL_TTL_S),
        }

    def _create_record(
        self,
        caller: Caller,
        upload: NewUpload,
        terms: UploadTerms,
        now: datetime,
        multipart: Multipart | None,
    ) -> None:
        self.records.create_pending(
            terms.key,
            filename=upload.filename,
            owner_email=caller.email,
            content_type=upload.content_type,
            size=upload.size,
            title=upload.title,
            description=upload.description,
            tags=list(upload.tags),
            expires_at_epoch=self._pending_ttl(now),
            multipart=multipart,
        )

    def _pending_ttl(self, now: datetime) -> int:
        return abandoned_after(now, UPLOAD_URL_TTL_S + self.cfg.abandoned_upload_grace_s)

    # --- multipart uploads ------------------------------------------------------------------------

    def _create_multipart(
        self, caller: Caller, upload: NewUpload, terms: UploadTerms, now: datetime
    ) -> dict[str, Any]:
        """Start the S3 multipart upload (key, type and metadata as a POST would pin them), record it,
        and hand out the plan with the first part URLs."""
        plan = part_plan(upload.size, self.cfg.multipart_min_part_bytes)
        s3_upload_id = storage.create_multipart_upload(
            self.cfg.upload_bucket,
            terms.key.key,
            content_type=terms.content_type,
            metadata=dict(terms.metadata),
        )
        # A record that fails to be written leaves an S3 upload nobody knows: the bucket's lifecycle
        # rule (AbortIncompleteMultipartUpload) frees it.
        multipart = Multipart(s3_upload_id=s3_upload_id, part_size=plan.part_size, part_count=plan.part_count)
        self._create_record(caller, upload, terms, now, multipart)
        parts = self._part_urls(terms.key.key, s3_upload_id, plan, plan.first_urls)
        return {
            "upload_id": terms.key.upload_id,
            "key": terms.key.key,
            "upload": {
                "method": "MULTIPART",
                "part_size": plan.part_size,
                "part_count": plan.part_count,
                "parts": parts,
            },
            "expires_at": expiry(now, UPLOAD_URL_TTL_S),
        }

    def _part_urls(
        self, key: str, s3_upload_id: str, plan: PartPlan, numbers: list[int]
    ) -> list[dict[str, Any]]:
        """Each URL signs its part's planned size: S3 refuses a part of any other size at the PUT, so
        a client cannot park more than the declared size in parts before completing (or never)."""
        return [
            {
                "part_number": number,
                "size": plan.size_of(number),
                "url": storage.presigned_upload_part(
                    self.cfg.upload_bucket,
                    key,
                    upload_id=s3_upload_id,
                    part_number=number,
                    content_length=plan.size_of(number),
                    expires_in=UPLOAD_URL_TTL_S,
                ),
            }
            for number in numbers
        ]

    def _open_multipart(self, caller: Caller, upload_id: str) -> tuple[UploadRecord, Multipart, PartPlan]:
        record = self._owned(caller, upload_id)
        multipart = record.multipart
        if multipart is None or record.declared_size is None:
            raise NotOpenMultipart(upload_id)
        plan = PartPlan(
            size=record.declared_size, part_size=multipart.part_size, part_count=multipart.part_count
        )
        return record, multipart, plan

    def _held_parts(self, record: UploadRecord, multipart: Multipart) -> dict[int, HeldPart]:
        try:
            parts = storage.list_parts(
                self.cfg.upload_bucket, record.object_key, upload_id=multipart.s3_upload_id
            )
        except storage.MultipartGone:
            raise NotOpenMultipart(record.upload_id) from None
        return {p.part_number: HeldPart(p.part_number, p.etag, p.size) for p in parts}

    def part_urls(self, caller: Caller, upload_id: str, body: str | None) -> dict[str, Any]:
        """Fresh UploadPart URLs for the part numbers asked for (POST /uploads/{id}/parts).

        A client asking for URLs is still at work: the pending record's TTL moves on with them.
        """
        record, multipart, plan = self._open_multipart(caller, upload_id)
        numbers = parse_part_numbers(body, plan)
        now = self.clock()
        if not self.records.extend_multipart(
            upload_id, multipart.s3_upload_id, expires_at_epoch=self._pending_ttl(now)
        ):
            raise NotOpenMultipart(upload_id)  # completed or aborted meanwhile
        return {
            "parts": self._part_urls(record.object_key, multipart.s3_upload_id, plan, numbers),
            "expires_at": expiry(now, UPLOAD_URL_TTL_S),
        }

    def parts(self, caller: Caller, upload_id: str) -> dict[str, Any]:
        """What S3 holds of the upload so far, to resume it (GET /uploads/{id}/parts)."""
        record, multipart, plan = self._open_multipart(caller, upload_id)
        held = self._held_parts(record, multipart)
        return {
            "part_size": plan.part_size,
            "part_count": plan.part_count,
            "parts": [
                {"part_number": p.part_number, "etag": f'"{p.etag}"', "size": p.size}
                for p in sorted(held.values(), key=lambda p: p.part_number)
            ],
        }

    def complete(self, caller: Caller, upload_id: str, body: str | None) -> dict[str, Any]:
        """Complete the upload from the parts S3 holds, and the client's list when it sends one (POST .../complete).

        A missing part or a wrong ETag is a 400 that leaves the upload open (the client resumes);
        parts that do not add up to the declared size abort it and reject the record (a 400 too).
        """
        record, multipart, plan = self._open_multipart(caller, upload_id)
        listed = parse_completion(body)
        held = self._held_parts(record, multipart)
        problem = completion_problem(plan, listed, held)
        if problem:
            raise BadRequest(problem)
        refused = size_problem(plan, held)
        if refused:
            self._refuse(record, multipart, refused)
            raise BadRequest(refused)
        problem = part_size_problem(plan, held)
        if problem:
            raise BadRequest(problem)
        try:
            storage.complete_multipart_upload(
                self.cfg.upload_bucket,
                record.object_key,
                upload_id=multipart.s3_upload_id,
                parts=[(n, held[n].etag) for n in range(1, plan.part_count + 1)],
            )
        except storage.MultipartGone:
            raise NotOpenMultipart(upload_id) from None
        # The record is an ordinary pending upload now: the stages take it from the ObjectCreated events.
        # Lost to a concurrent complete or abort, it still answers the record as it stands.
        self.records.end_multipart(upload_id, multipart.s3_upload_id)
        return self.get(caller, upload_id)

    def _refuse(self, record: UploadRecord, multipart: Multipart, reason: str) -> None:
        """Abort the S3 upload, end the record rejected with `reason`, and announce it (upload.finished):
        the owner hears of it as of any rejection, by notify, once, as their email preference says."""
        storage.abort_multipart_upload(
            self.cfg.upload_bucket, record.object_key, upload_id=multipart.s3_upload_id
        )
        refused = refusal(multipart.s3_upload_id, reason, now_iso())
        # Announced even when a concurrent complete or abort won the write: notify announces only the
        # outcome the record holds (this refusal's version), so a stale message is skipped there.
        self.records.reject_multipart(record.upload_id, multipart.s3_upload_id, refused)
        self._announce(record.upload_id, refused.version)

    def _announce(self, upload_id: str, version: str) -> None:
        """Publish upload.finished for the refusal. A failure is logged, not raised: the refusal is
        recorded and the caller still gets its 400. It is counted for RefusalsNotAnnouncedAlarm, and
        `intake ops announce` publishes it again (docs/runbook.md); notify announces each outcome once."""
        # Imported here: the refusal is the API's only publish, and intake.events loads powertools'
        # S3 event data classes, which the API's cold start does without.
        from intake.events import UploadFinished
        from intake.publisher import publish_finished

        message = UploadFinished(upload_id=upload_id, status=Status.REJECTED, version=version)
        try:
            publish_finished(self.cfg.finished_topic_arn, message)
        except Exception:  # the refusal stands whatever SNS did
            logger.exception(
                "refused upload not announced: announce it with `intake ops announce <upload_id>`",
                extra={"upload_id": upload_id, "finished_message": message.model_dump_json()},
            )
            # Nothing retries it, so ops must hear of it: RefusalsNotAnnouncedAlarm watches this.
            metrics.add_metric(name="RefusalsNotAnnounced", unit=MetricUnit.Count, value=1)

    def abort(self, caller: Caller, upload_id: str) -> None:
        """Abort the open multipart upload and remove it as DELETE does (POST /uploads/{id}/abort)."""
        record, multipart, _ = self._open_multipart(caller, upload_id)
        storage.abort_multipart_upload(
            self.cfg.upload_bucket, record.object_key, upload_id=multipart.s3_upload_id
        )
        self._remove(caller, record)

    def list(self, caller: Caller, params: Mapping[str, str] | None) -> dict[str, Any]:
        query = parse_list_query(params)
        try:
            page = self.records.list_by_owner(
                caller.sub, limit=query.limit, cursor=query.cursor, status=query.status
            )
        except ValueError:
            raise BadRequest("cursor is invalid") from None
        return {"items": [public_view(record) for record in page.items], "next_cursor": page.next_cursor}

    def get(self, caller: Caller, upload_id: str) -> dict[str, Any]:
        """The record, with short-lived download URLs for the original and each thumbnail (none for a
        rejected or expired upload)."""
        record = self._owned(caller, upload_id)
        view = public_view(record)
        if not downloadable(record):  # rejected (its bytes are deleted) or expired (never uploaded)
            return without_downloads(view)
        now = self.clock()
        view["download_url"] = self._download_url(record.object_key, now, download_name=record.filename)
        keys = {t.size: t.key for t in record.thumbnails}
        for thumb in view["thumbnails"]:
            key = keys.get(thumb["size"])
            thumb["url"] = self._download_url(key, now) if key else None
        view["urls_expire_at"] = expiry(now, DOWNLOAD_URL_TTL_S)
        return view

    def _download_url(self, key: str, now: datetime, *, download_name: str | None = None) -> str:
        """A CloudFront URL reading `key` (its behaviour picks the bucket) for DOWNLOAD_URL_TTL_S."""
        expires_at = now + timedelta(seconds=DOWNLOAD_URL_TTL_S)
        return self.cdn.url(key, expires_at=expires_at, download_name=download_name)

    def delete(self, caller: Caller, upload_id: str) -> None:
        """Remove the object, its thumbnails and the record (the record last, so a retry finds it)."""
        record = self._owned(caller, upload_id)
        if record.multipart is not None:  # an open multipart upload: free its parts too
            storage.abort_multipart_upload(
                self.cfg.upload_bucket, record.object_key, upload_id=record.multipart.s3_upload_id
            )
        self._remove(caller, record)

    def _remove(self, caller: Caller, record: UploadRecord) -> None:
        storage.delete(self.cfg.upload_bucket, record.object_key)
        storage.delete_prefix(
            self.cfg.thumbnail_bucket, f"{THUMBNAIL_PREFIX}{caller.sub}/{record.upload_id}/"
        )
        if not self.records.delete(record.upload_id, owner=caller.sub):
            raise NotFound(record.upload_id)  # deleted concurrently

    def _owned(self, caller: Caller, upload_id: str) -> UploadRecord:
        if not valid_upload_id(upload_id):
            raise NotFound(upload_id)
        record = self.records.get(upload_id)
        if record is None or record.owner != caller.sub:
            raise NotFound(upload_id)
        return record


class PreferencesApi:
    """The caller's own settings: GET/PUT /me/preferences (intake.preferences)."""

    def __init__(self, cfg: ApiSettings, settings: UserSettings | None = None) -> None:
        self.settings = settings or UserSettings(cfg.user_settings_table)

    def get(self, caller: Caller) -> dict[str, Any]:
        return self.settings.get(caller.sub).to_json()

    def put(self, caller: Caller, body: str | None) -> dict[str, Any]:
        try:
            preferences = parse_preferences(body)
        except InvalidPreferences as exc:
            raise BadRequest(str(exc)) from None
        return self.settings.put(caller.sub, preferences).to_json()
