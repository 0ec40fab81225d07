"""AWS::SQS::QueuePolicy, on moto's SQS backend.

moto 5.2.5 creates queues from CloudFormation but skips their policies. As in the CloudFormation
reference: `Queues` lists queue URLs; the resource sets each queue's `Policy` attribute to
`PolicyDocument`; `Ref` (and `GetAtt Id`) give a generated policy id; deleting the resource
removes the policy from the queues.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any
from urllib.parse import urlparse

from moto.core.common_models import CloudFormationModel
from moto.sqs.exceptions import QueueDoesNotExist
from moto.sqs.models import SQSBackend, sqs_backends

from ._props import json_text, properties_of

QUEUE_POLICY_TYPE = "AWS::SQS::QueuePolicy"

# https://sqs.<region>.amazonaws.com/<account>/<name> or the legacy https://<region>.queue.amazonaws.com/...
_REGION_IN_HOST = re.compile(r"^(?:sqs\.)?([a-z]{2}(?:-[a-z]+)+-\d+)\.")


def queue_location(queue_url: str, default_region: str) -> tuple[SQSBackend, str]:
    """The backend and queue name a queue URL points at."""
    parsed = urlparse(queue_url)
    account, name = parsed.path.strip("/").split("/")[-2:]
    match = _REGION_IN_HOST.match(parsed.hostname or "")
    region = match.group(1) if match else default_region
    return sqs_backends[account][region], name


class SQSQueuePolicy(CloudFormationModel):
    """AWS::SQS::QueuePolicy."""

    def __init__(self, policy_id: str, policy: str, queue_urls: list[str], region_name: str) -> None:
        self.policy_id = policy_id
        self.policy = policy
        self.queue_urls = queue_urls
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self.policy_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return QUEUE_POLICY_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "Id":
            return self.policy_id
        raise UnformattedGetAttTemplateException()

    @staticmethod
    def _set(policy: str, queue_urls: list[str], region_name: str) -> None:
        for url in queue_urls:
            backend, name = queue_location(url, region_name)
            backend.set_queue_attributes(name, {"Policy": policy})  # raises for an unknown queue

    @staticmethod
    def _remove(queue_urls: list[str], region_name: str) -> None:
        for url in queue_urls:
            backend, name = queue_location(url, region_name)
            with contextlib.suppress(QueueDoesNotExist):  # the queue may already be gone
                backend.get_queue(name).policy = None  # back to SQS's empty default policy

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SQSQueuePolicy:
        props = properties_of(cloudformation_json)
        policy = json_text(props["PolicyDocument"])
        urls = [str(u) for u in props["Queues"]]
        cls._set(policy, urls, region_name)
        return cls(resource_name, policy, urls, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SQSQueuePolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SQSQueuePolicy:
        props = properties_of(cloudformation_json)
        policy = json_text(props["PolicyDocument"])
        urls = [str(u) for u in props["Queues"]]
        cls._remove([u for u in original_resource.queue_urls if u not in urls], region_name)
        cls._set(policy, urls, region_name)
        return cls(original_resource.policy_id, policy, urls, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        self._remove(self.queue_urls, self.region_name)
