"""The uploads API's operations for one signed-in caller: presign, list, show, delete; and the
caller's preferences (PreferencesApi, the user-settings table through `preferences`).

The handler does HTTP; `uploads` holds the pure rules; this module puts them together with S3
(`storage`) and the index (`records`). Downloads are CloudFront signed URLs (`signing`, with the key
from Parameter Store, `parameters`). A record that is missing and one that belongs to someone else
look the same (NotFound), so ids reveal nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from intake import parameters, storage
from intake.keys import THUMBNAIL_PREFIX
from intake.preferences import InvalidPreferences, UserSettings, parse_preferences
from intake.records import Records, UploadRecord
from intake.settings import ApiSettings
from intake.signing import CloudFrontUrls
from intake.uploads import (
    DOWNLOAD_URL_TTL_S,
    UPLOAD_URL_TTL_S,
    BadRequest,
    abandoned_after,
    downloadable,
    expiry,
    new_upload_id,
    parse_list_query,
    parse_new_upload,
    public_view,
    upload_terms,
    valid_upload_id,
    without_downloads,
)


class NotFound(LookupError):
    """No such upload for this caller."""


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
        self.records.create_pending(
            terms.key,
            filename=upload.filename,
            owner_email=caller.email,
            content_type=upload.content_type,
            size=upload.size,
            title=upload.title,
            description=upload.description,
            tags=list(upload.tags),
            expires_at_epoch=abandoned_after(now, UPLOAD_URL_TTL_S + self.cfg.abandoned_upload_grace_s),
        )
        return {
            "upload_id": terms.key.upload_id,
            "key": terms.key.key,
            "upload": presigned,
            "expires_at": expiry(now, UPLOAD_URL_TTL_S),
        }

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
        storage.delete(self.cfg.upload_bucket, record.object_key)
        storage.delete_prefix(self.cfg.thumbnail_bucket, f"{THUMBNAIL_PREFIX}{caller.sub}/{upload_id}/")
        if not self.records.delete(upload_id, owner=caller.sub):
            raise NotFound(upload_id)  # deleted concurrently

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
