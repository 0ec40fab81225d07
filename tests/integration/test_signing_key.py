"""The deploy steps' signing key setup (intake_tools.signing_key) on mock_aws SSM: first deploy, a
later deploy, rotation into the other slot, retiring the previous key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from intake_tools import signing_key
from tests.support.aws import REGION

STACK = "intake"


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("ssm", region_name=REGION)


def _deploy(ssm: Any, current: dict[str, str], **flags: bool) -> dict[str, str]:
    plan = signing_key.plan(ssm, STACK, current, **flags)
    if plan.new_private_pem:
        name = signing_key.parameter_name(STACK, plan.slot)
        signing_key.put_private_key(ssm, name, plan.new_private_pem, None)
    return plan.stack_parameters()


def test_a_new_stack_gets_a_key_and_later_deploys_keep_it(ssm: Any) -> None:
    first = _deploy(ssm, {})
    assert first["SigningKeySlot"] == "a" and first["PreviousSigningPublicKey"] == ""
    stored = ssm.get_parameter(Name="/intake/cloudfront/signing-key-a", WithDecryption=True)["Parameter"]
    assert stored["Type"] == "SecureString"
    assert signing_key.public_key_pem(stored["Value"]) == first["SigningPublicKey"]
    again = signing_key.plan(ssm, STACK, first)
    assert again.new_private_pem is None and again.stack_parameters() == first


def test_rotation_moves_to_the_other_slot_and_keeps_the_previous_key_until_retired(ssm: Any) -> None:
    first = _deploy(ssm, {})
    rotated = _deploy(ssm, first, rotate=True)
    assert rotated["SigningKeySlot"] == "b"
    assert rotated["PreviousSigningPublicKey"] == first["SigningPublicKey"]
    assert rotated["SigningPublicKey"] != first["SigningPublicKey"]
    with pytest.raises(signing_key.SigningKeyError, match="retire it first"):
        signing_key.plan(ssm, STACK, rotated, rotate=True)
    retired = _deploy(ssm, rotated, retire_previous=True)
    assert retired == rotated | {"PreviousSigningPublicKey": ""}
    assert _deploy(ssm, retired, rotate=True)["SigningKeySlot"] == "a"
