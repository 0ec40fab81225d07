"""AWS::WAFv2::WebACL and AWS::WAFv2::WebACLAssociation, on moto's WAFv2 backend.

moto 5.2.5 has a WAFv2 backend but no CloudFormation model for either type (both were skipped). As in
the CloudFormation reference:

- WebACL: Name (else a generated one), Scope (REGIONAL | CLOUDFRONT; a CLOUDFRONT ACL lives in the
  global store moto keeps for CloudFront, with a us-east-1 ARN), DefaultAction, VisibilityConfig,
  Rules, Description, CustomResponseBodies, CaptchaConfig, ChallengeConfig, TokenDomains,
  AssociationConfig, Tags. `Ref` gives "Name|Id|Scope"; `GetAtt Arn`, `Id`, `Capacity`,
  `LabelNamespace`. Name and Scope replace the ACL; anything else is an UpdateWebACL (same id).
  Numbers in rules (Priority, Limit, EvaluationWindowSec...) are coerced to integers, as the
  CloudFormation handler does, so GetWebACL returns what the API would.
- WebACLAssociation: ResourceArn, WebACLArn (both replace). `Ref` gives "ResourceArn|WebACLArn". As
  WAF: the ACL must exist, a CLOUDFRONT ACL cannot be associated this way (a distribution names it
  in its WebACLId), a REGIONAL one only with a resource of its region, and an API Gateway stage must
  exist. moto then records the ACL on the stage (GetStage shows webAclArn) and GetWebACLForResource
  finds it.

The local API front enforces the rate-based rules of the ACL associated with its stage
(localcloud.api.waf); the managed rule groups only exist.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from moto.cloudformation.exceptions import ValidationError
from moto.core.common_models import CloudFormationModel
from moto.wafv2.exceptions import WAFNonexistentItemException
from moto.wafv2.models import APIGATEWAY_REGEX, GLOBAL_REGION, WAFV2Backend, wafv2_backends

from ._model import LocalModel
from ._props import as_bool, as_int, parse_arn

_WEB_ACL_APPLIED = {
    "Name", "Scope", "DefaultAction", "VisibilityConfig", "Rules", "Description", "CustomResponseBodies",
    "CaptchaConfig", "ChallengeConfig", "TokenDomains", "AssociationConfig", "Tags",
}  # fmt: skip
#: Rule and statement fields that the WAF API declares as integers / booleans.
_INTEGERS = frozenset({"Priority", "Limit", "EvaluationWindowSec", "Size", "ImmunityTime", "ResponseCode"})
_BOOLEANS = frozenset({"SampledRequestsEnabled", "CloudWatchMetricsEnabled"})


def coerced(value: Any, key: str = "") -> Any:
    """A WAF structure from CloudFormation with its integer and boolean fields typed as the API's, and
    a ByteMatch's SearchString (text in CloudFormation) as the API's blob (base64)."""
    if key == "SearchString" and isinstance(value, str):
        return base64.b64encode(value.encode()).decode()
    if isinstance(value, dict):
        return {k: coerced(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [coerced(v, key) for v in value]
    if key in _INTEGERS and isinstance(value, str | float):
        return as_int(value)
    if key in _BOOLEANS:
        return as_bool(value)
    return value


def backend_for(account_id: str, region_name: str, scope: str) -> WAFV2Backend:
    """The store of a scope: CLOUDFRONT ACLs are global (managed from us-east-1)."""
    return wafv2_backends[account_id][GLOBAL_REGION if scope == "CLOUDFRONT" else region_name]


def _scope_of_arn(arn: str) -> str:
    return "CLOUDFRONT" if parse_arn(arn).resource.startswith("global/") else "REGIONAL"


class WAFv2WebACL(LocalModel, CloudFormationModel):
    """AWS::WAFv2::WebACL."""

    TYPE = "AWS::WAFv2::WebACL"
    NAME_TYPE = "Name"
    REF = "ref"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {
        "Arn": "arn",
        "Id": "acl_id",
        "Capacity": "capacity",
        "LabelNamespace": "label_namespace",
    }
    REPLACING = ("Name", "Scope")
    APPLIED = _WEB_ACL_APPLIED
    ALREADY_GONE = (WAFNonexistentItemException,)

    arn: str
    acl_id: str
    name: str

    @property
    def scope(self) -> str:
        return str(self.props.get("Scope", "REGIONAL"))

    @property
    def ref(self) -> str:
        return f"{self.name}|{self.acl_id}|{self.scope}"

    @property
    def _backend(self) -> WAFV2Backend:
        return backend_for(self.account_id, self.region_name, self.scope)

    def create(self, name: str) -> None:
        if self.scope == "CLOUDFRONT" and self.region_name != "us-east-1":
            raise ValidationError(message="WebACLs of scope CLOUDFRONT can only be created in us-east-1")
        props = coerced(self.props)
        acl = self._backend.create_web_acl(
            name=str(props.get("Name") or name),
            visibility_config=props["VisibilityConfig"],
            default_action=props["DefaultAction"],
            scope=self.scope,
            description=props.get("Description"),
            tags=list(props.get("Tags") or []),
            rules=list(props.get("Rules") or []),
            association_config=props.get("AssociationConfig"),
            captcha_config=props.get("CaptchaConfig"),
            challenge_config=props.get("ChallengeConfig"),
            custom_response_bodies=props.get("CustomResponseBodies"),
            token_domains=props.get("TokenDomains"),
        )
        self.arn, self.acl_id, self.name = acl.arn, acl.id, acl.name

    def replaced_by(self, props: Mapping[str, Any]) -> bool:
        """A new Name or Scope (the physical id is "Name|Id|Scope", not the name)."""
        renamed = bool(props.get("Name")) and str(props["Name"]) != self.name
        return renamed or str(props.get("Scope", "REGIONAL")) != self.scope

    def update(self, props: dict[str, Any]) -> None:
        props = coerced(props)
        acl = self._backend.get_web_acl(self.arn, None, None)
        self._backend.update_web_acl(
            name=self.name,
            _id=self.acl_id,
            default_action=props["DefaultAction"],
            rules=list(props.get("Rules") or []),
            description=props.get("Description", ""),
            visibility_config=props["VisibilityConfig"],
            lock_token=acl.lock_token,
            custom_response_bodies=props.get("CustomResponseBodies"),
            captcha_config=props.get("CaptchaConfig"),
            challenge_config=props.get("ChallengeConfig"),
            token_domains=props.get("TokenDomains"),
            association_config=props.get("AssociationConfig"),
        )
        if not props.get("Rules"):  # moto's update keeps the rules when given none
            acl.rules = []

    def remove(self) -> None:
        acl = self._backend.get_web_acl(self.arn, None, None)
        for resource_arn in list(acl.associated_resources):
            self._backend.disassociate_web_acl(resource_arn)
        self._backend.delete_web_acl(self.name, self.scope, self.acl_id, acl.lock_token)

    def capacity(self) -> int:
        return int(self._backend.get_web_acl(self.arn, None, None).capacity)

    def label_namespace(self) -> str:
        return str(self._backend.get_web_acl(self.arn, None, None).label_namespace)


class WAFv2WebACLAssociation(LocalModel, CloudFormationModel):
    """AWS::WAFv2::WebACLAssociation."""

    TYPE = "AWS::WAFv2::WebACLAssociation"
    REF = "ref"
    REPLACING = ("ResourceArn", "WebACLArn")
    APPLIED = ("ResourceArn", "WebACLArn")
    ALREADY_GONE = (WAFNonexistentItemException,)

    @property
    def resource_arn(self) -> str:
        return str(self.props["ResourceArn"])

    @property
    def web_acl_arn(self) -> str:
        return str(self.props["WebACLArn"])

    @property
    def ref(self) -> str:
        return f"{self.resource_arn}|{self.web_acl_arn}"

    @property
    def _backend(self) -> WAFV2Backend:
        return wafv2_backends[self.account_id][parse_arn(self.web_acl_arn).region]

    def create(self, name: str) -> None:
        if _scope_of_arn(self.web_acl_arn) == "CLOUDFRONT":
            raise ValidationError(
                message="A CLOUDFRONT WebACL is attached by the distribution's WebACLId, not associated"
            )
        if parse_arn(self.resource_arn).region != parse_arn(self.web_acl_arn).region:
            raise ValidationError(message="The WebACL and the resource must be in the same region")
        backend = self._backend
        if self.web_acl_arn not in backend.wacls:
            raise ValidationError(message=f"WAFNonexistentItemException: no WebACL {self.web_acl_arn}")
        if _is_stage(self.resource_arn) and backend._find_apigw_stage(self.resource_arn) is None:
            raise ValidationError(message=f"WAFNonexistentItemException: no stage {self.resource_arn}")
        backend.disassociate_web_acl(self.resource_arn)  # a resource has at most one WebACL
        backend.associate_web_acl(self.web_acl_arn, self.resource_arn)

    def update(self, props: dict[str, Any]) -> None:
        pass  # both properties replace the association

    def remove(self) -> None:
        self._backend.disassociate_web_acl(self.resource_arn)


def _is_stage(resource_arn: str) -> bool:
    return re.search(APIGATEWAY_REGEX, resource_arn) is not None
