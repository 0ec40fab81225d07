"""SNS: announces that an upload reached a final state."""

from __future__ import annotations

from intake import aws
from intake.events import UploadFinished


def publish_finished(topic_arn: str, message: UploadFinished) -> None:
    aws.sns().publish(TopicArn=topic_arn, Message=message.model_dump_json())
