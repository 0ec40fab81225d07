"""The functions' environment, parsed once into a typed model."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

from intake.validation import Limits


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    index_table: str = Field(min_length=1)
    upload_bucket: str = ""  # the API presigns uploads into it
    thumbnail_bucket: str = ""
    finished_topic_arn: str = ""
    sender_email: str = ""
    idempotency_table: str = ""
    allowed_content_types: frozenset[str] = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    max_image_pixels: int = Field(default=40_000_000, gt=0)
    max_receive_count: int = Field(default=5, ge=1)
    web_origin: str = ""  # the API's CORS origin

    @field_validator("allowed_content_types", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip().lower() for part in value.split(",") if part.strip())
        return value

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        names = cls.model_fields.keys()
        return cls.model_validate({name: env[name.upper()] for name in names if name.upper() in env})

    @property
    def limits(self) -> Limits:
        return Limits(
            allowed_content_types=self.allowed_content_types,
            max_bytes=self.max_upload_bytes,
            max_pixels=self.max_image_pixels,
        )


@functools.cache
def settings() -> Settings:
    return Settings.from_env()
