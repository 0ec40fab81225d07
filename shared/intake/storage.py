"""S3 access: the uploads bucket (read, presign, delete) and the thumbnails bucket (write, delete)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from intake import aws

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef


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


def _get(bucket: str, key: str, **extra: str) -> Any:
    try:
        return aws.s3().get_object(Bucket=bucket, Key=key, **extra)  # type: ignore[arg-type]
    except ClientError as exc:
        if _gone(exc):
            raise ObjectGone(f"s3://{bucket}/{key}") from exc
        raise


def read(bucket: str, key: str, *, first_bytes: int | None = None, last_bytes: int | None = None) -> bytes:
    """The object's bytes, or only its first `first_bytes` or its last `last_bytes` (a ranged GET)."""
    extra = {"Range": f"bytes=0-{first_bytes - 1}"} if first_bytes else {}
    if last_bytes:
        extra = {"Range": f"bytes=-{last_bytes}"}
    return bytes(_get(bucket, key, **extra)["Body"].read())


def read_into(bucket: str, key: str, out: IO[bytes], chunk_bytes: int = 1024 * 1024) -> int:
    """Stream the object into `out` (a temporary file) a chunk at a time; returns its size."""
    written = 0
    for chunk in _get(bucket, key)["Body"].iter_chunks(chunk_bytes):
        written += out.write(chunk)
    return written


def delete_if_unchanged(bucket: str, key: str, etag: str) -> bool:
    """Delete the object only if it still has `etag` (a conditional DeleteObject, If-Match).

    False if it is gone already or was replaced since (a newer upload to the same key stays).
    """
    try:
        aws.s3().delete_object(Bucket=bucket, Key=key, IfMatch=f'"{etag}"')
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if _gone(exc) or code in {"PreconditionFailed", "412"}:
            return False
        raise
    return True


def delete_keys(bucket: str, keys: list[str]) -> None:
    """Delete these keys (missing ones are no error), in one DeleteObjects call (at most 1000)."""
    if keys:
        response = aws.s3().delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
        )
        if response.get("Errors"):
            raise RuntimeError(f"cannot delete from s3://{bucket}: {response['Errors'][:3]}")


def put_thumbnail(bucket: str, key: str, data: bytes) -> None:
    aws.s3().put_object(
        Bucket=bucket, Key=key, Body=data, ContentType="image/jpeg", CacheControl="private, max-age=86400"
    )


# --- the API's side: presigned requests and deletes ------------------------------------------------


def presigned_post(
    bucket: str, key: str, *, fields: dict[str, str], conditions: list[Any], expires_in: int
) -> dict[str, Any]:
    """A presigned POST (s3v4): `url` and the form `fields` the client must send before the file."""
    return dict(
        aws.s3().generate_presigned_post(
            Bucket=bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in
        )
    )


def presigned_put(
    bucket: str,
    key: str,
    *,
    content_type: str,
    content_length: int,
    metadata: dict[str, str],
    expires_in: int,
) -> str:
    """A presigned PUT whose signature covers Content-Type, Content-Length and the user metadata."""
    params = {
        "Bucket": bucket,
        "Key": key,
        "ContentType": content_type,
        "ContentLength": content_length,
        "Metadata": metadata,
    }
    return aws.s3().generate_presigned_url("put_object", Params=params, ExpiresIn=expires_in)


def delete(bucket: str, key: str) -> None:
    aws.s3().delete_object(Bucket=bucket, Key=key)


def delete_prefix(bucket: str, prefix: str) -> int:
    """Delete every object under `prefix` (at most 1000 per call, as S3 allows); returns how many."""
    s3 = aws.s3()
    deleted = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [item["Key"] for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
            deleted += len(keys)
    return deleted


# --- the API's side: multipart uploads ------------------------------------------------------------


class MultipartGone(Exception):
    """S3 no longer has this multipart upload: completed, aborted (by us or the lifecycle rule)."""


@dataclass(frozen=True)
class Part:
    part_number: int
    etag: str  # without quotes
    size: int


def _no_upload(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in {"NoSuchUpload", "404"}


def create_multipart_upload(bucket: str, key: str, *, content_type: str, metadata: dict[str, str]) -> str:
    """Start a multipart upload with the type and metadata a presigned POST would pin; its UploadId.

    No encryption arguments: the bucket's default (SSE-KMS with the stack's key) applies, as it does to
    a POST upload.
    """
    response = aws.s3().create_multipart_upload(
        Bucket=bucket, Key=key, ContentType=content_type, Metadata=metadata
    )
    return response["UploadId"]


def presigned_upload_part(
    bucket: str, key: str, *, upload_id: str, part_number: int, content_length: int, expires_in: int
) -> str:
    """A presigned UploadPart (PUT): the signature covers the key, the upload id, the part number and
    Content-Length (a body of another size fails the signature)."""
    params = {
        "Bucket": bucket,
        "Key": key,
        "UploadId": upload_id,
        "PartNumber": part_number,
        "ContentLength": content_length,
    }
    return aws.s3().generate_presigned_url("upload_part", Params=params, ExpiresIn=expires_in)


def list_parts(bucket: str, key: str, *, upload_id: str) -> list[Part]:
    """Every part S3 holds for the upload (all ListParts pages), by part number; MultipartGone if none."""
    parts: list[Part] = []
    try:
        pages = aws.s3().get_paginator("list_parts").paginate(Bucket=bucket, Key=key, UploadId=upload_id)
        for page in pages:
            parts.extend(
                Part(p["PartNumber"], p["ETag"].strip('"'), p["Size"]) for p in page.get("Parts", [])
            )
    except ClientError as exc:
        if _no_upload(exc):
            raise MultipartGone(upload_id) from exc
        raise
    return sorted(parts, key=lambda p: p.part_number)


def complete_multipart_upload(bucket: str, key: str, *, upload_id: str, parts: list[tuple[int, str]]) -> None:
    """Assemble the object from (part number, ETag) pairs; MultipartGone if the upload is gone."""
    listed: list[CompletedPartTypeDef] = [{"PartNumber": n, "ETag": f'"{etag}"'} for n, etag in parts]
    try:
        aws.s3().complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": listed}
        )
    except ClientError as exc:
        if _no_upload(exc):
            raise MultipartGone(upload_id) from exc
        raise


def abort_multipart_upload(bucket: str, key: str, *, upload_id: str) -> bool:
    """Abort the upload and free its parts; False if S3 no longer has it (nothing to free)."""
    try:
        aws.s3().abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except ClientError as exc:
        if _no_upload(exc):
            return False
        raise
    return True
