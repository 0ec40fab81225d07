"""Service-to-service deliveries, evaluated as AWS does: S3 event notifications to SNS and SNS to SQS
are sent by a service principal (s3.amazonaws.com, sns.amazonaws.com) with aws:SourceArn and
aws:SourceAccount naming the sender; the topic's or queue's policy must allow it, and for an encrypted
topic or queue so must the KMS key policy. A denied delivery is dropped, as AWS drops it, and logged.
CloudFront's origin access control reads the same way (cloudfront.amazonaws.com, aws:SourceArn = the
distribution): the bucket policy must allow s3:GetObject, and for an SSE-KMS object the key policy
kms:Decrypt; a denied read is S3's AccessDenied, which CloudFront passes on.

Hooks into moto's delivery paths (``moto.s3.notifications._send_sns_message``,
``moto.sns.models.Subscription.publish``), installed once per process by :func:`install`; the local
alarm loop asks :func:`alarm_may_publish` before CloudWatch's notification goes to a topic, the local
CloudFront front :func:`cloudfront_may_read` before its origin read.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from . import resources
from .denials import DENIALS
from .policy import Policy, Request, evaluate

_lock = threading.Lock()
_installed: dict[str, Any] = {}
_KMS = ("kms:GenerateDataKey", "kms:Decrypt")
# Deliveries are evaluated only inside a request the emulator serves (moto delivers on the request's
# thread): in-process moto (mock_aws in tests) shares moto's code but is not the local cloud.
_serving = threading.local()


@contextlib.contextmanager
def serving() -> Iterator[None]:
    """Marks the current thread as serving an emulator request while in the `with` block."""
    _serving.depth = getattr(_serving, "depth", 0) + 1
    try:
        yield
    finally:
        _serving.depth -= 1


def _in_emulator() -> bool:
    return getattr(_serving, "depth", 0) > 0


# (action, resource, resource policy, key policy) of one thing a delivery needs.
Needed = tuple[str, str, Policy | None, Policy | None]


def _context(source: str, account: str) -> dict[str, str | bool]:
    return {
        "aws:SourceArn": source,
        "aws:SourceAccount": account,
        "aws:SourceOwner": account,  # the older key SNS's default topic policy uses
        "aws:SecureTransport": True,
    }


def _key_checks(key: str | None, account: str, region: str, actions: tuple[str, ...]) -> list[Needed]:
    if not key or key.startswith("alias/aws/"):
        return []  # an AWS managed key: its key policy allows the service for the account
    key_arn, key_policy = resources.key(account, key.split(":")[3] if key.startswith("arn:") else region, key)
    return [(action, key_arn, None, key_policy) for action in actions]


def _all_allowed(service: str, needed: list[Needed], source: str, account: str, what: str) -> bool:
    """Whether ``service`` (as its principal) is allowed every one; the first denial is logged, counted."""
    principal = f"{service}.amazonaws.com"
    context = _context(source, account)
    for act, resource, resource_policy, key_policy in needed:
        decision = evaluate(
            Request(principal, act, resource, account, context), (), resource_policy, key_policy
        )
        if not decision:
            DENIALS.record(principal, act, resource, decision.statement, f"{decision.reason}; {what}")
            return False
    return True


def allowed(
    service: str, action: str, target: str, policy: Policy | None, key: str | None, source: str, account: str
) -> bool:
    """Whether ``service`` (as its principal) may deliver to ``target``; a denial is logged and counted."""
    needed: list[Needed] = [(action, target, policy, None)]
    needed += _key_checks(key, account, target.split(":")[3], _KMS)
    return _all_allowed(service, needed, source, account, f"delivery from {source} dropped")


def cloudfront_may_read(distribution_arn: str, account: str, bucket: str, key: str, *, head: bool) -> bool:
    """Whether the distribution's origin access control may GET (or HEAD) ``key``: the bucket policy
    must allow cloudfront.amazonaws.com s3:GetObject, with aws:SourceArn = the distribution; a missing
    key needs s3:ListBucket as well (S3 answers 403, not 404, without it); a GET of an SSE-KMS object
    needs kms:Decrypt in the key policy. Checked whenever the emulator enforces (its hooks are
    installed): the front reads outside any emulator request."""
    if not _installed:
        return True
    policy = resources.bucket_policy(account, bucket)
    bucket_arn = f"arn:aws:s3:::{bucket}"
    needed: list[Needed] = [("s3:GetObject", f"{bucket_arn}/{key}", policy, None)]
    if not resources.object_exists(account, bucket, key):
        needed.append(("s3:ListBucket", bucket_arn, policy, None))
    elif not head:
        region = resources.bucket_region(account, bucket)
        needed += _key_checks(resources.object_key(account, bucket, key), account, region, ("kms:Decrypt",))
    return _all_allowed("cloudfront", needed, distribution_arn, account, f"origin read by {distribution_arn}")


def _s3_to_sns(original: Any) -> Any:
    def send(account_id: str, event_body: Any, topic_arn: str, region_name: str) -> None:
        try:
            bucket = event_body["Records"][0]["s3"]["bucket"]["arn"]
        except (KeyError, IndexError, TypeError):
            bucket = ""  # s3:TestEvent: S3 checks the destination when the configuration is set
        policy, key = resources.topic(account_id, region_name, topic_arn)
        if (
            bucket
            and _in_emulator()
            and not allowed("s3", "sns:Publish", topic_arn, policy, key, bucket, account_id)
        ):
            return
        original(account_id, event_body, topic_arn, region_name)

    return send


def _sns_to_sqs(original: Any) -> Any:
    def publish(self: Any, message: str, *args: Any, **kwargs: Any) -> None:
        if self.protocol == "sqs" and _in_emulator():
            queue_arn = str(self.endpoint)
            account, region, name = queue_arn.split(":")[4], queue_arn.split(":")[3], queue_arn.split(":")[5]
            policy, key = resources.queue(account, region, name)
            if not allowed("sns", "sqs:SendMessage", queue_arn, policy, key, self.topic.arn, account):
                return
        original(self, message, *args, **kwargs)

    return publish


def alarm_may_publish(topic_arn: str, alarm_name: str) -> bool:
    """Whether CloudWatch may publish an alarm's notification to `topic_arn` (its policy and key policy,
    aws:SourceArn = the alarm). The alarm loop publishes outside any emulator request, so this is checked
    whenever the emulator enforces (its hooks are installed)."""
    if not _installed:
        return True
    _, _, _, region, account, _ = topic_arn.split(":", 5)
    policy, key = resources.topic(account, region, topic_arn)
    source = f"arn:aws:cloudwatch:{region}:{account}:alarm:{alarm_name}"
    return allowed("cloudwatch", "sns:Publish", topic_arn, policy, key, source, account)


def install() -> None:
    """Evaluate deliveries from now on (idempotent)."""
    from moto.s3 import notifications
    from moto.sns.models import Subscription

    with _lock:
        if _installed:
            return
        _installed["s3"] = notifications._send_sns_message
        _installed["sns"] = Subscription.publish
        notifications._send_sns_message = _s3_to_sns(_installed["s3"])
        Subscription.publish = _sns_to_sqs(_installed["sns"])  # type: ignore[method-assign]


def uninstall() -> None:
    from moto.s3 import notifications
    from moto.sns.models import Subscription

    with _lock:
        if not _installed:
            return
        notifications._send_sns_message = _installed.pop("s3")
        Subscription.publish = _installed.pop("sns")  # type: ignore[method-assign]
