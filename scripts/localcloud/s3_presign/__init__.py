"""S3's checks of presigned requests (SigV4 query strings and POST policies) and S3's CORS, in front
of the emulator: see middleware.py; and S3's NoSuchUpload for multipart requests moto would take
(multipart.py, right in front of moto)."""

from .errors import S3Error
from .middleware import BucketView, PresignChecks, install, local_secrets, moto_bucket
from .multipart import MultipartChecks

__all__ = [
    "BucketView",
    "MultipartChecks",
    "PresignChecks",
    "S3Error",
    "install",
    "local_secrets",
    "moto_bucket",
]
