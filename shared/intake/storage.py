"""S3 access: the uploads bucket (read) and the thumbnails bucket (write)."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from intake import aws


class ObjectGone(Exception):
    """The object was deleted before we got to it: nothing left to process."""


@dataclass(frozen=True)
class Head:
    content_type: str | None
    size: int
    etag: str
    last_modified: str
    metadata: dict[str, str]


def _gone(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}


def head(bucket: str, key: str) -> Head:
    try:
        response = aws.s3().head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _gone(exc):
            raise ObjectGone(f"s3://{bucket}/{key}") from exc
        raise
    return Head(
        content_type=response.get("ContentType"),
        size=response["ContentLength"],
        etag=response["ETag"].strip('"'),
        last_modified=response["LastModified"].isoformat(),
        metadata=dict(response.get("Metadata", {})),
    )


def read(bucket: str, key: str, *, first_bytes: int | None = None) -> bytes:
    """The object's bytes, or only its first `first_bytes` (a ranged GET)."""
    extra = {"Range": f"bytes=0-{first_bytes - 1}"} if first_bytes else {}
    try:
        response = aws.s3().get_object(Bucket=bucket, Key=key, **extra)  # type: ignore[arg-type]
    except ClientError as exc:
        if _gone(exc):
            raise ObjectGone(f"s3://{bucket}/{key}") from exc
        raise
    return response["Body"].read()


def put_thumbnail(bucket: str, key: str, data: bytes) -> None:
    aws.s3().put_object(
        Bucket=bucket, Key=key, Body=data, ContentType="image/jpeg", CacheControl="private, max-age=86400"
    )
