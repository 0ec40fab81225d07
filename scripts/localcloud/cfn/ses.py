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
from collections.abc import Mapping
from typing import Any, ClassVar

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.sesv2.models import SESV2Backend, sesv2_backends

from ._model import LocalModel
from ._props import as_bool

_DKIM_ATTRIBUTES = tuple(f"DkimDNSToken{kind}{i}" for kind in ("Name", "Value") for i in (1, 2, 3))


class SESEmailIdentity(LocalModel, CloudFormationModel):
    """AWS::SES::EmailIdentity."""

    TYPE = "AWS::SES::EmailIdentity"
    NAME_TYPE = "EmailIdentity"
    REF = "identity"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = dict.fromkeys(_DKIM_ATTRIBUTES, "")  # see get_cfn_attribute
    REPLACING = ("EmailIdentity",)
    APPLIED = (
        "EmailIdentity",
        "DkimSigningAttributes",
        "ConfigurationSetAttributes",
        "DkimAttributes",
        "FeedbackAttributes",
    )

    identity: str

    @property
    def _backend(self) -> SESV2Backend:
        return sesv2_backends[self.account_id][self.region_name]

    def create(self, name: str) -> None:
        self.identity = str(self.props["EmailIdentity"])
        self._put(self.props)

    def update(self, props: dict[str, Any]) -> None:
        self._put(props)

    def remove(self) -> None:
        self._backend.delete_email_identity(self.identity)

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if not self.has_cfn_attr(attribute_name):
            raise UnformattedGetAttTemplateException()
        # Easy DKIM: three CNAMEs <token>._domainkey.<domain> -> <token>.dkim.amazonses.com.
        index = attribute_name[-1]
        domain = self.identity.rsplit("@", 1)[-1]
        token = hashlib.sha1(f"{domain}/{index}".encode()).hexdigest()[:32]
        if "Name" in attribute_name:
            return f"{token}._domainkey.{domain}"
        return f"{token}.dkim.amazonses.com"

    def _put(self, props: Mapping[str, Any]) -> None:
        """CreateEmailIdentity (again, on update), verified: the local cloud has no mailbox to click in."""
        created = self._backend.create_email_identity(
            email_identity=self.identity,
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
