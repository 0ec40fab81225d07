"""The operations AWS serves without a signature, by design: Cognito's user-pool sign-in and
token-authorized calls (InitiateAuth, SignUp, GetUser with an access token, ...), Cognito identity
pools' GetId and GetCredentialsForIdentity, STS's AssumeRoleWithWebIdentity and AssumeRoleWithSAML.

The list comes from botocore's service models (the operations whose auth is "none"), so it is the
one AWS's SDKs send unsigned, not a copy kept by hand.
"""

from __future__ import annotations

from functools import lru_cache

# The services whose models have unsigned operations the local cloud serves.
_SERVICES = ("cognito-idp", "cognito-identity", "sts")


@lru_cache(maxsize=1)
def _unsigned() -> tuple[frozenset[str], frozenset[str]]:
    """(JSON targets "<TargetPrefix>.<Operation>", query actions) that need no signature."""
    import botocore.session

    session = botocore.session.get_session()
    targets: set[str] = set()
    actions: set[str] = set()
    for name in _SERVICES:
        model = session.get_service_model(name)
        for operation in model.operation_names:
            found = model.operation_model(operation)
            if found.auth_type != "none" and "smithy.api#noAuth" not in (found.auth or []):
                continue
            if model.protocol == "json":
                targets.add(f"{model.metadata['targetPrefix']}.{operation}")
            else:
                actions.add(operation)
    return frozenset(targets), frozenset(actions)


def unsigned_target(target: str) -> bool:
    """Whether a JSON request with this X-Amz-Target is served unsigned."""
    return target in _unsigned()[0]


def unsigned_action(action: str) -> bool:
    """Whether a query request with this Action is served unsigned."""
    return action in _unsigned()[1]
