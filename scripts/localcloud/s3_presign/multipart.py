"""MultipartChecks: S3's NoSuchUpload for a multipart request whose upload the key does not have.

moto finds a multipart upload by its id alone: UploadPart and CompleteMultipartUpload with an unknown id
fail with HTTP 500 (a KeyError), and any of them goes through with a known id under another key. S3
answers 404 NoSuchUpload ("The upload ID may be invalid, or the upload may have been aborted or
completed") to UploadPart, ListParts, CompleteMultipartUpload and AbortMultipartUpload unless the upload
id names an upload in progress of that very key. This middleware sits right in front of moto, behind the
local cloud's IAM, so S3's order holds: signature, then permissions, then the upload.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.wsgi import get_input_stream

from .errors import S3Error

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]
# (bucket, upload id) -> the key of that upload in progress, or None; LookupError: no such bucket.
UploadKeyOf = Callable[[str, str], str | None]


def moto_upload_key(bucket: str, upload_id: str) -> str | None:
    """The key of the bucket's multipart upload `upload_id` in moto's S3 backend (same process)."""
    from moto.s3.models import s3_backends

    located = s3_backends.bucket_accounts.get(bucket)
    found = s3_backends[located[1]][located[0]].buckets.get(bucket) if located else None
    if found is None:
        raise LookupError(bucket)  # moto answers NoSuchBucket itself
    upload = found.multiparts.get(upload_id)
    return None if upload is None else str(upload.key_name)


def no_such_upload(upload_id: str) -> S3Error:
    return S3Error(
        404,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
        "aborted or completed.",
        {"UploadId": upload_id},
    )


def _decoded_path(environ: Environ) -> str:
    return str(environ.get("PATH_INFO", "")).encode("latin-1").decode("utf-8", "replace")


class MultipartChecks:
    """WSGI middleware: `MultipartChecks(moto_app)`; `upload_key` can be replaced."""

    def __init__(self, app: WsgiApp, upload_key: UploadKeyOf = moto_upload_key) -> None:
        self.app, self.upload_key = app, upload_key

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        query = str(environ.get("QUERY_STRING", ""))
        if "uploadId=" not in query or "HTTP_X_AMZ_TARGET" in environ:
            return self.app(environ, start_response)  # not a multipart upload's request: no parsing
        upload_id = dict(parse_qsl(query, keep_blank_values=True)).get("uploadId")
        bucket, _, key = _decoded_path(environ).lstrip("/").partition("/")
        if upload_id is None or not key or not self._s3_request(environ):
            return self.app(environ, start_response)
        try:
            if self.upload_key(bucket, upload_id) == key:
                return self.app(environ, start_response)
        except LookupError:
            return self.app(environ, start_response)
        stream = get_input_stream(environ)  # bounded by Content-Length (or the chunked body's end)
        while stream.read(64 * 1024):  # read what S3 would not store, so the connection stays usable
            pass
        status, headers, body = no_such_upload(upload_id).response(
            head=environ.get("REQUEST_METHOD") == "HEAD"
        )
        start_response(status, headers)
        return [body]

    @staticmethod
    def _s3_request(environ: Environ) -> bool:
        """S3 is the only path-style service whose requests carry ?uploadId (a presigned one has no
        Authorization header; a header-signed one names s3 in its credential scope)."""
        authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
        if not authorization.startswith("AWS4-"):
            return True
        return "/s3/aws4_request" in authorization
