"""AWS::SES::EmailIdentity, on moto's SES (v1 + v2 share one store) backend.

moto 5.2.5 skips this type. As in the CloudFormation reference (an SESv2 CreateEmailIdentity):
`Ref` gives the identity (the address or domain), `GetAtt DkimDNSTokenName1..3` /
`DkimDNSTokenValue1..3` the DKIM CNAME records. ConfigurationSetAttributes, DkimSigningAttributes,
DkimAttributes.SigningEnabled and FeedbackAttributes.EmailForwardingEnabled are kept on the identity.

In AWS an email-address identity stays "pending" until someone clicks the link SES mails to it.
The local cloud has no mailbox, so the identity is created verified (as moto's VerifyEmailIdentity
does): SendEmail/SendRawEmail from it succeed, and GetEmailIdentity reports
VerifiedForSendingStatus=true.
"""

from __future__ import annotations

import hashlib
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.sesv2.models import sesv2_backends

from ._props import as_bool, properties_of, warn_unapplied

EMAIL_IDENTITY_TYPE = "AWS::SES::EmailIdentity"
_DKIM_ATTRIBUTES = tuple(f"DkimDNSToken{kind}{i}" for kind in ("Name", "Value") for i in (1, 2, 3))


class SESEmailIdentity(CloudFormationModel):
    """AWS::SES::EmailIdentity."""

    def __init__(self, identity: str, account_id: str, region_name: str) -> None:
        self.identity = identity
        self.account_id = account_id
        self.region_name = region_name

    @property
    def physical_resource_id(self) -> str:
        return self.identity

    @staticmethod
    def cloudformation_name_type() -> str:
        return "EmailIdentity"

    @staticmethod
    def cloudformation_type() -> str:
        return EMAIL_IDENTITY_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in _DKIM_ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name not in _DKIM_ATTRIBUTES:
            raise UnformattedGetAttTemplateException()
        # Easy DKIM: three CNAMEs <token>._domainkey.<domain> -> <token>.dkim.amazonses.com.
        index = attribute_name[-1]
        domain = self.identity.rsplit("@", 1)[-1]
        token = hashlib.sha1(f"{domain}/{index}".encode()).hexdigest()[:32]
        if "Name" in attribute_name:
            return f"{token}._domainkey.{domain}"
        return f"{token}.dkim.amazonses.com"

    @classmethod
    def _create(cls, identity: str, props: dict[str, Any], account_id: str, region_name: str) -> None:
        backend = sesv2_backends[account_id][region_name]
        created = backend.create_email_identity(
            email_identity=identity,
            tags=None,
            dkim_signing_attributes=props.get("DkimSigningAttributes"),
            configuration_set_name=(props.get("ConfigurationSetAttributes") or {}).get(
                "ConfigurationSetName"
            ),
        )
        created.verified_for_sending_status = True
        created.verification_status = "SUCCESS"
        if "DkimAttributes" in props:
            created.dkim_attributes["SigningEnabled"] = as_bool(
                props["DkimAttributes"].get("SigningEnabled", True)
            )
        if "FeedbackAttributes" in props:
            created.feedback_forwarding_status = as_bool(
                props["FeedbackAttributes"].get("EmailForwardingEnabled", True)
            )

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> SESEmailIdentity:
        props = properties_of(cloudformation_json)
        identity = str(props["EmailIdentity"])
        cls._create(identity, props, account_id, region_name)
        warn_unapplied(
            EMAIL_IDENTITY_TYPE,
            props,
            {
                "EmailIdentity",
                "DkimSigningAttributes",
                "ConfigurationSetAttributes",
                "DkimAttributes",
                "FeedbackAttributes",
            },
        )
        return cls(identity, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: SESEmailIdentity,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> SESEmailIdentity:
        props = properties_of(cloudformation_json)
        identity = str(props["EmailIdentity"])
        if identity != original_resource.identity:  # EmailIdentity: update requires replacement
            original_resource.delete(account_id, region_name)
        cls._create(identity, props, account_id, region_name)
        return cls(identity, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        sesv2_backends[self.account_id][self.region_name].delete_email_identity(self.identity)

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        sesv2_backends[account_id][region_name].delete_email_identity(resource_name)
