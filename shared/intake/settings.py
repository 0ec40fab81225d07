"""Each function's environment, parsed into its own typed model once, at cold start.

A model holds exactly the variables its function reads; field `index_table` is variable INDEX_TABLE.
The names of the resources a function talks to are required: the handler validates its model when it
is imported, so a missing or empty variable fails the function's init with the variable's name. The
limits default to the template's parameter defaults.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from intake import signatures

if TYPE_CHECKING:
    from intake.validation import Limits

Name = Annotated[str, Field(min_length=1)]  # a resource name or ARN: required, never empty


class FunctionSettings(BaseModel):
    """The base of every function's settings: read from the environment, by upper-case name."""

    # hide_input_in_errors: a validation error must not print the whole environment into the log.
    model_config = ConfigDict(
        frozen=True, alias_generator=str.upper, extra="ignore", hide_input_in_errors=True
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        """The settings from `env` (the process environment by default); ValidationError names the variable."""
        return cls.model_validate(dict(os.environ if env is None else env))


class ConsumerSettings(FunctionSettings):
    """What every queue consumer needs: the index, and when a receive is the last one."""

    index_table: Name
    max_receive_count: int = Field(default=5, ge=1)  # the queue's redrive maxReceiveCount


class StageSettings(ConsumerSettings):
    """A stage also announces final outcomes, and discards a rejected upload's bytes."""

    finished_topic_arn: Name
    # Where a rejected upload's thumbnails are deleted from (the template gives every consumer the
    # variable; only the thumbnail stage cannot run without it).
    thumbnail_bucket: str = ""


class _UploadLimit(BaseModel):
    max_upload_bytes: int = Field(default=5 * 1024**3, gt=0)  # 5 GiB: S3's largest single PUT or POST


class _ImageLimits(_UploadLimit):
    max_image_pixels: int = Field(default=40_000_000, gt=0)
    # MaxImageBytes: the largest image the thumbnail stage reads (streamed to /tmp above 32 MiB).
    max_image_bytes: int = Field(default=200 * 1024 * 1024, gt=0)


class _AllowedTypes(BaseModel):
    allowed_content_types: frozenset[str] = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})

    @field_validator("allowed_content_types", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip().lower() for part in value.split(",") if part.strip())
        return value

    @field_validator("allowed_content_types")
    @classmethod
    def _checkable(cls, value: frozenset[str]) -> frozenset[str]:
        """Only types whose content Intake can check (intake.signatures): a declared type is never
        taken on trust. A list with another one fails the function's init with this sentence."""
        if not value:
            raise ValueError("at least one content type must be allowed")
        if signatures.unknown_types(value):
            raise ValueError(signatures.refusal(value))
        return value


class ValidateSettings(StageSettings, _ImageLimits, _AllowedTypes):
    @property
    def limits(self) -> Limits:
        from intake.validation import Limits  # imports Pillow: only the functions that validate need it

        return Limits(
            allowed_content_types=self.allowed_content_types,
            max_bytes=self.max_upload_bytes,
            max_pixels=self.max_image_pixels,
            max_image_bytes=self.max_image_bytes,
        )


class ThumbnailSettings(StageSettings, _ImageLimits):
    thumbnail_bucket: Name


class IndexSettings(StageSettings):
    pass


class NotifySettings(ConsumerSettings):
    sender_email: Name
    idempotency_table: Name  # powertools' records and the digest outbox (intake.outbox)
    user_settings_table: Name  # each owner's email preference (intake.preferences)


class ApiSettings(FunctionSettings, _UploadLimit, _AllowedTypes):
    index_table: Name
    upload_bucket: Name  # the API presigns uploads into it
    thumbnail_bucket: Name  # and deletes an upload's thumbnails from it
    web_origin: str = ""  # the API's CORS origin; "" allows any
    # Delivery: downloads are CloudFront URLs (the stack's distribution, or the local cloud's front)
    # signed with the key pair SIGNING_KEY_PAIR_ID, whose private key is the SecureString parameter
    # SIGNING_KEY_PARAMETER. The API role cannot read the buckets: there is no S3 fallback.
    cdn_url: Name
    signing_key_pair_id: Name
    signing_key_parameter: Name
    # A pending record whose object never arrives expires (DynamoDB TTL) this long after its presigned
    # URL does; a large upload started just before the URL expired still has time to finish.
    abandoned_upload_grace_s: int = Field(default=3600, ge=0)
    user_settings_table: Name  # GET/PUT /me/preferences (intake.preferences)
    # A multipart upload refused at completion is final without any stage: the API announces it there.
    finished_topic_arn: Name
    # Above this declared size, POST /uploads starts an S3 multipart upload and hands out part URLs.
    multipart_threshold_bytes: int = Field(default=100 * 1024**2, gt=0)
    # The smallest part size of a multipart upload (the contract's 16 MiB; S3's minimum is 5 MiB).
    multipart_min_part_bytes: int = Field(default=16 * 1024**2, ge=5 * 1024**2)

    @property
    def cors_origin(self) -> str:
        return self.web_origin or "*"
