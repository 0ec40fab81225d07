"""SNS ``email`` and ``email-json`` subscriptions that deliver: each publish becomes an SES email in moto.

moto records email subscriptions but sends nothing. AWS sends one email per message to the
subscribed address, from ``<topic display name> <no-reply@sns.amazonaws.com>`` ("AWS Notifications"
without a display name), with the publish's Subject or "AWS Notification Message", and a footer with
the unsubscribe link; ``email-json`` carries the JSON notification document instead of the text. With
``MessageStructure=json`` the ``email`` / ``email-json`` key (or ``default``) is what is sent, as for
any protocol. Here the email lands in moto's SES backend (``GET /moto-api/data.json``, ``ses.Message``),
where the local cloud's other emails are. moto treats subscriptions as confirmed; so does this.
"""

from __future__ import annotations

import json
import threading
from typing import Any

__all__ = ["DEFAULT_SUBJECT", "SENDER", "install", "uninstall"]

SENDER = "no-reply@sns.amazonaws.com"
DEFAULT_SUBJECT = "AWS Notification Message"
_PROTOCOLS = ("email", "email-json")
_FOOTER = (
    "\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit the link"
    " below to unsubscribe:\nhttps://sns.{region}.amazonaws.com/unsubscribe.html?SubscriptionArn={arn}"
    "&Endpoint={endpoint}\n\nPlease do not reply directly to this email. If you have any questions or"
    " comments regarding this email, please contact us at https://aws.amazon.com/support"
)

_lock = threading.Lock()
_original: Any = None


def _deliver(
    subscription: Any,
    message: str,
    message_id: str,
    subject: str | None,
    message_attributes: dict[str, Any] | None,
    message_structure: str | None,
) -> None:
    from moto.ses.models import Message, ses_backends
    from moto.ses.utils import get_random_message_id

    matcher = subscription._filter_policy_matcher
    if matcher is not None and not matcher.matches(message_attributes, message):
        return
    if message_structure == "json":
        message = subscription._parse_message_structure(message, subscription.protocol)
    region, account = subscription.topic.arn.split(":")[3], subscription.account_id
    if subscription.protocol == "email-json":
        body = json.dumps(subscription.get_post_data(message, message_id, subject), indent=2)
    else:
        body = message + _FOOTER.format(region=region, arn=subscription.arn, endpoint=subscription.endpoint)
    name = subscription.topic.display_name or "AWS Notifications"
    email = Message(
        get_random_message_id(),
        f"{name} <{SENDER}>",
        subject or DEFAULT_SUBJECT,
        body,
        {"ToAddresses": [subscription.endpoint], "CcAddresses": [], "BccAddresses": []},
    )
    backend = ses_backends[account][region]
    backend.sent_messages.append(email)
    backend.sent_message_count += 1


def install() -> None:
    """Make moto's SNS send email for email subscriptions (idempotent, process-wide)."""
    global _original
    from moto.sns.models import Subscription

    with _lock:
        if _original is not None:
            return
        original = Subscription.publish

        def publish(
            self: Any,
            message: str,
            message_id: str,
            subject: str | None = None,
            message_attributes: dict[str, Any] | None = None,
            group_id: str | None = None,
            deduplication_id: str | None = None,
            message_structure: str | None = None,
        ) -> None:
            original(
                self,
                message,
                message_id,
                subject=subject,
                message_attributes=message_attributes,
                group_id=group_id,
                deduplication_id=deduplication_id,
                message_structure=message_structure,
            )
            if self.protocol in _PROTOCOLS:
                _deliver(self, message, message_id, subject, message_attributes, message_structure)

        setattr(Subscription, "publish", publish)  # noqa: B010 - patching moto's class
        _original = original


def uninstall() -> None:
    global _original
    from moto.sns.models import Subscription

    with _lock:
        if _original is not None:
            setattr(Subscription, "publish", _original)  # noqa: B010
            _original = None
