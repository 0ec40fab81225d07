"""The policy renderer `make lint` audits with: it covers every policy in the templates, and leaves
no intrinsic unrendered. (The audit itself runs in the scanner's virtualenv, where parliament is.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from policy_lint.render import TEMPLATES, RenderedPolicy, Stack, rendered, written


@pytest.fixture(scope="module")
def policies() -> list[RenderedPolicy]:
    return rendered()


def test_every_policy_written_in_the_templates_is_rendered(policies: list[RenderedPolicy]) -> None:
    wanted = {(path.name, logical, where) for path in TEMPLATES for logical, where in written(path)}
    got = {(p.source, p.resource, p.path) for p in policies}
    assert wanted - got == set(), "policies the lint would not audit"
    assert got - wanted == set()


def test_a_policy_in_a_place_the_renderer_does_not_know_is_noticed(tmp_path: Path) -> None:
    template = tmp_path / "t.yaml"
    template.write_text(
        "Resources:\n"
        "  Logs:\n"
        "    Type: AWS::Logs::ResourcePolicy\n"
        "    Properties:\n"
        "      PolicyDocument:\n"
        "        Statement:\n"
        "          - {Effect: Allow, Principal: {Service: es.amazonaws.com}, Action: 'logs:PutLogEvents',"
        " Resource: '*'}\n"
    )
    assert written(template) == {("Logs", "PolicyDocument")}
    assert list(Stack(template, {}).policies()) == []


def test_rendered_policies_are_plain_json_with_plausible_arns(policies: list[RenderedPolicy]) -> None:
    for policy in policies:
        text = json.dumps(policy.document)
        assert "Fn::" not in text and '"Ref"' not in text and "${" not in text, policy.label
        assert "arn:aws:" in text or policy.kind == "trust", policy.label
    by_label = {p.label: p for p in policies}
    # A nested consumer's role: the parent's values reach the child's policy (its queue, the key).
    worker = json.dumps(by_label["Validate/FunctionRole.Policies[validate]"].document)
    assert "arn:aws:sqs:us-east-1:123456789012:" in worker
    assert "arn:aws:kms:us-east-1:123456789012:key/" in worker
    assert by_label["DataKey.KeyPolicy"].subject.startswith("arn:aws:kms:us-east-1:123456789012:key/")
