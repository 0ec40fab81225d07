"""AWS::SQS::QueuePolicy, on moto's SQS backend, and AWS::SQS::Queue's encryption setting.

moto 5.2.5 creates queues from CloudFormation but skips their policies. As in the CloudFormation
reference: `Queues` lists queue URLs; the resource sets each queue's `Policy` attribute to
`PolicyDocument`; `Ref` (and `GetAtt Id`) give a generated policy id; deleting the resource
removes the policy from the queues.

AWS::SQS::Queue is moto's, except that moto reports SqsManagedSseEnabled true for every queue, also
one encrypted with a KMS key (KmsMasterKeyId). SQS uses one kind of server-side encryption at a time:
with KmsMasterKeyId it reports SqsManagedSseEnabled false, as this extension makes moto's queue do.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlparse

from moto.core.common_models import CloudFormationModel
from moto.sqs.exceptions import QueueDoesNotExist
from moto.sqs.models import Queue, SQSBackend, sqs_backends

from ._model import LocalModel, MotoModelExtension
from ._props import as_bool, json_text

# https://sqs.<region>.amazonaws.com/<account>/<name> or the legacy https://<region>.queue.amazonaws.com/...
_REGION_IN_HOST = re.compile(r"^(?:sqs\.)?([a-z]{2}(?:-[a-z]+)+-\d+)\.")


def _queue_urls(props: Mapping[str, Any]) -> list[str]:
    return [str(u) for u in props["Queues"]]


def queue_location(queue_url: str, default_region: str) -> tuple[SQSBackend, str]:
    """The backend and queue name a queue URL points at."""
    parsed = urlparse(queue_url)
    account, name = parsed.path.strip("/").split("/")[-2:]
    match = _REGION_IN_HOST.match(parsed.hostname or "")
    region = match.group(1) if match else default_region
    return sqs_backends[account][region], name


class SQSQueuePolicy(LocalModel, CloudFormationModel):
    """AWS::SQS::QueuePolicy."""

    TYPE = "AWS::SQS::QueuePolicy"
    REF = "policy_id"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"Id": "policy_id"}

    policy_id: str

    def create(self, name: str) -> None:
        self.policy_id = name
        self._set(self.props)

    def update(self, props: dict[str, Any]) -> None:
        self._remove(set(_queue_urls(self.props)) - set(_queue_urls(props)))
        self._set(props)

    def remove(self) -> None:
        self._remove(_queue_urls(self.props))

    def _set(self, props: Mapping[str, Any]) -> None:
        policy = json_text(props["PolicyDocument"])
        for url in _queue_urls(props):
            backend, name = queue_location(url, self.region_name)
            backend.set_queue_attributes(name, {"Policy": policy})  # raises for an unknown queue

    def _remove(self, queue_urls: Iterable[str]) -> None:
        for url in queue_urls:
            backend, name = queue_location(url, self.region_name)
            with contextlib.suppress(QueueDoesNotExist):  # the queue may already be gone
                backend.get_queue(name).policy = None  # back to SQS's empty default policy


class SQSQueue(MotoModelExtension, CloudFormationModel):
    """AWS::SQS::Queue: moto's Queue, with SSE-SQS off when a KMS key encrypts it (never instantiated)."""

    MOTO = Queue

    @classmethod
    def current_name(cls, resource: Queue) -> str:
        return str(resource.name)  # the physical id is the queue URL

    @classmethod
    def extend(cls, resource: Queue, props: dict[str, Any], previous: dict[str, Any] | None) -> None:
        # moto sets the queue's attributes dynamically (one per SQS attribute name).
        managed = not props.get("KmsMasterKeyId") and as_bool(props.get("SqsManagedSseEnabled", True))
        vars(resource)["sqs_managed_sse_enabled"] = managed
