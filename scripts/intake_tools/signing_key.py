"""The CloudFront URL signing key: an RSA 2048 key pair whose private half is a SecureString parameter.

CloudFormation cannot create a SecureString, so the deploy steps (`make deploy`, the local cloud) keep
it: the parameter is `/<stack>/cloudfront/signing-key-<slot>`, encrypted with the stack's
customer-managed key (output `DataKeyArn`) when the stack has one, else with the account's default
aws/ssm key; the stack gets the public half as parameter `SigningPublicKey`. Two slots, a and b, let a
rotation keep the previous key in the distribution's key group (see docs/runbook.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SLOTS = ("a", "b")
KEY_BITS = 2048  # CloudFront accepts RSA 2048 public keys (and ECDSA P-256)


def parameter_name(stack: str, slot: str) -> str:
    return f"/{stack}/cloudfront/signing-key-{slot}"


def other_slot(slot: str) -> str:
    return "b" if slot == "a" else "a"


def new_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_key_pem(private_pem: str) -> str:
    """The SubjectPublicKeyInfo PEM CloudFront's PublicKey EncodedKey takes."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def read_private_key(ssm: Any, name: str) -> str | None:
    """The private key PEM in parameter `name`, or None if there is no such parameter."""
    try:
        response = ssm.get_parameter(Name=name, WithDecryption=True)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return None
        raise
    return str(response["Parameter"]["Value"])


def put_private_key(ssm: Any, name: str, private_pem: str, kms_key_id: str | None) -> None:
    """Write (or overwrite) the SecureString, under `kms_key_id` or the account's aws/ssm key."""
    kwargs: dict[str, Any] = {"KeyId": kms_key_id} if kms_key_id else {}
    ssm.put_parameter(
        Name=name,
        Value=private_pem,
        Type="SecureString",
        Overwrite=True,
        Description="Intake: private key signing the CloudFront URLs (its public key is in the key group)",
        Tier="Standard",
        **kwargs,
    )


@dataclass(frozen=True)
class SigningKeyPlan:
    """What a deploy does about the signing key: the stack parameters, and a key to store (if any)."""

    slot: str
    public_pem: str
    previous_public_pem: str
    new_private_pem: str | None  # to put into parameter_name(stack, slot); None: it is there already

    def stack_parameters(self) -> dict[str, str]:
        return {
            "SigningKeySlot": self.slot,
            "SigningPublicKey": self.public_pem,
            "PreviousSigningPublicKey": self.previous_public_pem,
        }


class SigningKeyError(RuntimeError):
    pass


def plan(
    ssm: Any,
    stack: str,
    current: Mapping[str, str],
    *,
    rotate: bool = False,
    retire_previous: bool = False,
) -> SigningKeyPlan:
    """The key setup for a deploy of `stack`, whose parameters are `current` ({} if it is new)."""
    slot = current.get("SigningKeySlot") or "a"
    previous = "" if retire_previous else current.get("PreviousSigningPublicKey", "")
    existing = read_private_key(ssm, parameter_name(stack, slot))
    if rotate:
        if previous:
            raise SigningKeyError(
                "the previous signing key is still in the key group: retire it first"
                " (--retire-previous-signing-key, once its URLs have expired), then rotate"
            )
        if existing is None:
            raise SigningKeyError(f"no key in {parameter_name(stack, slot)} to rotate from")
        private = new_private_key_pem()
        return SigningKeyPlan(other_slot(slot), public_key_pem(private), public_key_pem(existing), private)
    if existing is not None:
        return SigningKeyPlan(slot, public_key_pem(existing), previous, None)
    private = new_private_key_pem()
    return SigningKeyPlan(slot, public_key_pem(private), previous, private)
