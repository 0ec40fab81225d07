"""Index consumer: SQS (S3 ObjectCreated via SNS) -> the index stage, with partial batch failures.

Importing this module reads and checks the function's settings (intake.settings.IndexSettings).
"""

from intake import stages

handler = stages.lambda_handler(stages.INDEX)
