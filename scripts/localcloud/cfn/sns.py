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
from collections.abc import Mapping
from typing import Any, ClassVar

from moto.core.common_models import CloudFormationModel
from moto.sns.exceptions import TopicNotFound
from moto.sns.models import SNSBackend, sns_backends

from localcloud.cfn._props import RefAndAttributes

from ._props import as_bool, json_text, parse_arn, properties_of, warn_unapplied

SUBSCRIPTION_TYPE = "AWS::SNS::Subscription"
TOPIC_POLICY_TYPE = "AWS::SNS::TopicPolicy"

# Properties whose change needs a new subscription (CloudFormation "Update requires: Replacement").
_REPLACING = ("TopicArn", "Protocol", "Endpoint", "Region")
_JSON_ATTRIBUTES = ("DeliveryPolicy", "FilterPolicy", "RedrivePolicy")


def _backend_for(arn: str) -> SNSBackend:
    """The SNS backend that owns a topic or subscription ARN."""
    parsed = parse_arn(arn)
    return sns_backends[parsed.account][parsed.region]


def _apply_subscription_attributes(
    backend: SNSBackend, arn: str, props: dict[str, Any], previous: frozenset[str]
) -> frozenset[str]:
    """Set the declared attributes; reset the ones a template update removed. Returns those set."""
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

    for name, value in values.items():
        backend.set_subscription_attributes(arn, name, value)

    subscription = backend.subscriptions[arn]
    for name in previous - values.keys():
        if name == "FilterPolicy":
            backend.set_subscription_attributes(arn, "FilterPolicy", "")  # drops the matcher
        if name == "RawMessageDelivery":
            subscription.attributes[name] = False  # the SNS default
        else:
            subscription.attributes.pop(name, None)
    return frozenset(values)


class SNSSubscription(RefAndAttributes, CloudFormationModel):
    """AWS::SNS::Subscription."""

    REF = "arn"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"Arn": "arn"}

    def __init__(self, arn: str, props: dict[str, Any], attributes: frozenset[str]) -> None:
        self.arn = arn
        self.topic_arn = str(props["TopicArn"])
        self.protocol = str(props["Protocol"])
        self.endpoint = str(props.get("Endpoint", ""))
        self.region = props.get("Region")
        self.applied_attributes = attributes

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return SUBSCRIPTION_TYPE

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SNSSubscription:
        props = properties_of(cloudformation_json)
        topic_arn = str(props["TopicArn"])
        backend = _backend_for(topic_arn)
        subscription = backend.subscribe(topic_arn, str(props.get("Endpoint", "")), str(props["Protocol"]))
        applied = _apply_subscription_attributes(backend, subscription.arn, props, frozenset())
        warn_unapplied(
            SUBSCRIPTION_TYPE,
            props,
            {
                *_REPLACING,
                *_JSON_ATTRIBUTES,
                "FilterPolicyScope",
                "RawMessageDelivery",
                "SubscriptionRoleArn",
            },
        )
        return cls(subscription.arn, props, applied)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SNSSubscription,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SNSSubscription:
        props = properties_of(cloudformation_json)
        current = {
            "TopicArn": original_resource.topic_arn,
            "Protocol": original_resource.protocol,
            "Endpoint": original_resource.endpoint,
            "Region": original_resource.region,
        }
        if any(str(props.get(k, "")) != str(current[k] or "") for k in _REPLACING):
            new = cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
            original_resource.delete(account_id, region_name)
            return new
        backend = _backend_for(original_resource.topic_arn)
        applied = _apply_subscription_attributes(
            backend, original_resource.arn, props, original_resource.applied_attributes
        )
        return cls(original_resource.arn, props, applied)

    def delete(self, account_id: str, region_name: str) -> None:
        _backend_for(self.arn).unsubscribe(self.arn)

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        _backend_for(resource_name).unsubscribe(resource_name)


class SNSTopicPolicy(CloudFormationModel):
    """AWS::SNS::TopicPolicy."""

    def __init__(self, policy_id: str, policy: str, previous: dict[str, str]) -> None:
        self.policy_id = policy_id
        self.policy = policy
        # Topic ARN -> the policy the topic had before this resource set it.
        self.previous_policies = previous

    @property
    def topic_arns(self) -> list[str]:
        return list(self.previous_policies)

    @property
    def physical_resource_id(self) -> str:
        return self.policy_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return TOPIC_POLICY_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "Id":
            return self.policy_id
        raise UnformattedGetAttTemplateException()

    @staticmethod
    def _set(policy: str, topic_arns: list[str], previous: dict[str, str]) -> dict[str, str]:
        result: dict[str, str] = {}
        for arn in topic_arns:
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

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SNSTopicPolicy:
        props = properties_of(cloudformation_json)
        policy = json_text(props["PolicyDocument"])
        previous = cls._set(policy, [str(t) for t in props["Topics"]], {})
        return cls(resource_name, policy, previous)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SNSTopicPolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SNSTopicPolicy:
        props = properties_of(cloudformation_json)
        policy = json_text(props["PolicyDocument"])
        topics = [str(t) for t in props["Topics"]]
        old = original_resource.previous_policies
        cls._restore({arn: p for arn, p in old.items() if arn not in topics})
        previous = cls._set(policy, topics, old)
        return cls(original_resource.policy_id, policy, previous)

    def delete(self, account_id: str, region_name: str) -> None:
        self._restore(self.previous_policies)
