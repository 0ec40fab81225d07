"""Thumbnail consumer: SQS (S3 ObjectCreated via SNS) -> the thumbnail stage, with partial batch failures.

Importing this module reads and checks the function's settings (intake.settings.ThumbnailSettings).
"""

from intake import stages, thumbnails  # noqa: F401 - the engine (Pillow) loads at init

handler = stages.lambda_handler(stages.THUMBNAIL)
