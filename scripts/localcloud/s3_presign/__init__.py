"""S3's checks of presigned requests (SigV4 query strings and POST policies) and S3's CORS, in front
of the emulator: see middleware.py."""

from .errors import S3Error
from .middleware import BucketView, PresignChecks, install, local_secrets, moto_bucket

__all__ = ["BucketView", "PresignChecks", "S3Error", "install", "local_secrets", "moto_bucket"]
