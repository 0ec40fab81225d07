"""Validate consumer: SQS (S3 ObjectCreated via SNS) -> the validate stage, with partial batch failures.

Importing this module reads and checks the function's settings (intake.settings.ValidateSettings).
"""

from intake import stages, validation  # noqa: F401 - the stage's checks (Pillow, metadata) load at init

handler = stages.lambda_handler(stages.VALIDATE)
