"""AWS::SNS::Subscription and AWS::SNS::TopicPolicy, on moto's SNS backend.

moto 5.2.5 creates topics from CloudFormation but skips both types. Behaviour reproduced from the
CloudFormation reference:

- Subscription: Subscribe(TopicArn, Protocol, Endpoint), then SetSubscriptionAttributes for
  DeliveryPolicy, FilterPolicy (after FilterPolicyScope), RawMessageDelivery, RedrivePolicy and
  SubscriptionRoleArn. `Ref` and `GetAtt Arn` give the subscription ARN. Changing TopicArn,
  Protocol, Endpoint or Region replaces the subscription; other changes update it in place.
- TopicPolicy: sets the `Policy` attribute of every topic in `Topics`. `Ref` (and `GetAtt Id`)
  give a generated policy id. Deleting it gives each topic back the policy it had before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from moto.core.common_models import CloudFormationModel
from moto.sns.exceptions import TopicNotFound
from moto.sns.models import SNSBackend, sns_backends

from ._model import LocalModel
from ._props import as_bool, backend_for_arn, json_text

_JSON_ATTRIBUTES = ("DeliveryPolicy", "FilterPolicy", "RedrivePolicy")


def _backend_for(arn: str) -> SNSBackend:
    """The SNS backend that owns a topic or subscription ARN."""
    return backend_for_arn(sns_backends, arn)


def _subscription_attributes(props: Mapping[str, Any]) -> dict[str, Any]:
    """The subscription attributes the properties declare, as SetSubscriptionAttributes takes them."""
    values: dict[str, Any] = {}
    # FilterPolicyScope first: moto (like SNS) validates FilterPolicy against the scope.
    if "FilterPolicyScope" in props:
        values["FilterPolicyScope"] = str(props["FilterPolicyScope"])
    for name in _JSON_ATTRIBUTES:
        if name in props:
            values[name] = json_text(props[name])
    if "RawMessageDelivery" in props:
        values["RawMessageDelivery"] = as_bool(props["RawMessageDelivery"])
    if "SubscriptionRoleArn" in props:
        values["SubscriptionRoleArn"] = str(props["SubscriptionRoleArn"])
    return values


class SNSSubscription(LocalModel, CloudFormationModel):
    """AWS::SNS::Subscription."""

    TYPE = "AWS::SNS::Subscription"
    REF = "arn"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"Arn": "arn"}
    REPLACING = ("TopicArn", "Protocol", "Endpoint", "Region")
    APPLIED = (
        *REPLACING,
        *_JSON_ATTRIBUTES,
        "FilterPolicyScope",
        "RawMessageDelivery",
        "SubscriptionRoleArn",
    )

    arn: str

    def create(self, name: str) -> None:
        topic_arn = str(self.props["TopicArn"])
        endpoint, protocol = str(self.props.get("Endpoint", "")), str(self.props["Protocol"])
        self.arn = _backend_for(topic_arn).subscribe(topic_arn, endpoint, protocol).arn
        self._set_attributes(self.props, removed=())

    def update(self, props: dict[str, Any]) -> None:
        previous = _subscription_attributes(self.props).keys()
        self._set_attributes(props, removed=previous - _subscription_attributes(props).keys())

    def remove(self) -> None:
        _backend_for(self.arn).unsubscribe(self.arn)

    def _set_attributes(self, props: Mapping[str, Any], removed: Iterable[str]) -> None:
        """Set the declared attributes; reset the ones a template update removed."""
        backend = _backend_for(self.arn)
        for name, value in _subscription_attributes(props).items():
            backend.set_subscription_attributes(self.arn, name, value)
        subscription = backend.subscriptions[self.arn]
        for name in removed:
            if name == "FilterPolicy":
                backend.set_subscription_attributes(self.arn, "FilterPolicy", "")  # drops the matcher
            if name == "RawMessageDelivery":
                subscription.attributes[name] = False  # the SNS default
            else:
                subscription.attributes.pop(name, None)


class SNSTopicPolicy(LocalModel, CloudFormationModel):
    """AWS::SNS::TopicPolicy."""

    TYPE = "AWS::SNS::TopicPolicy"
    REF = "policy_id"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"Id": "policy_id"}

    policy_id: str
    #: Topic ARN -> the policy the topic had before this resource set it.
    previous_policies: dict[str, str]

    def create(self, name: str) -> None:
        self.policy_id = name
        self.previous_policies = self._set(self.props, {})

    def update(self, props: dict[str, Any]) -> None:
        topics = [str(t) for t in props["Topics"]]
        self._restore({arn: p for arn, p in self.previous_policies.items() if arn not in topics})
        self.previous_policies = self._set(props, self.previous_policies)

    def remove(self) -> None:
        self._restore(self.previous_policies)

    @staticmethod
    def _set(props: Mapping[str, Any], previous: dict[str, str]) -> dict[str, str]:
        policy = json_text(props["PolicyDocument"])
        result: dict[str, str] = {}
        for arn in (str(t) for t in props["Topics"]):
            backend = _backend_for(arn)
            topic = backend.get_topic(arn)  # raises NotFound like AWS for an unknown topic
            result[arn] = previous.get(arn, topic.policy)
            backend.set_topic_attribute(arn, "policy", policy)
        return result

    @staticmethod
    def _restore(previous: dict[str, str]) -> None:
        for arn, policy in previous.items():
            with contextlib.suppress(TopicNotFound):  # the topic may already be gone
                _backend_for(arn).set_topic_attribute(arn, "policy", policy)
