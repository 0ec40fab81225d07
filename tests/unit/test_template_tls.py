"""The TLS-only deny of every bucket, queue and topic policy has the shape that works on AWS.

The local cloud is served over plain HTTP and counts every request as TLS (aws:SecureTransport true),
so a TLS deny never fires locally and a broken one would pass every local test. This static check
stands in: each such statement denies everyone, every action of the service (SNS: Publish), on the
whole resource, exactly when aws:SecureTransport is false; and every bucket and queue policy, and
every topic policy that admits an AWS principal, has one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.templates import effective_template

Template = dict[str, Any]
POLICIES = {
    "AWS::S3::BucketPolicy": ("Bucket", {"s3:*"}),
    "AWS::SQS::QueuePolicy": ("Queues", {"sqs:*"}),
    "AWS::SNS::TopicPolicy": ("Topics", {"sns:*", "sns:publish"}),
}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _mentions_tls(statement: dict[str, Any]) -> bool:
    return "aws:securetransport" in json.dumps(statement.get("Condition", {})).lower()


def _covers(kind: str, target: str, resources: list[Any]) -> bool:
    """Whether the statement's Resource names all of the attached resource (a bucket: it and its
    objects; a queue: its ARN; a topic: its Ref/ARN)."""
    found = json.dumps(resources)
    if kind == "AWS::S3::BucketPolicy":
        return f'["{target}", "Arn"]' in found and f"${{{target}.Arn}}/*" in found
    if kind == "AWS::SQS::QueuePolicy":
        return f'["{target}", "Arn"]' in found
    return {"Ref": target} in resources


def _shape_problems(statement: dict[str, Any], kind: str, targets: list[str]) -> list[str]:
    problems = []
    if statement.get("Effect") != "Deny":
        problems.append("is not a Deny")
    if statement.get("Principal") not in ("*", {"AWS": "*"}) or "NotPrincipal" in statement:
        problems.append("does not apply to every principal")
    condition = statement.get("Condition", {})
    value = condition.get("Bool", {}).get("aws:SecureTransport")
    if set(condition) != {"Bool"} or len(condition["Bool"]) != 1 or str(value).lower() != "false":
        problems.append('is not exactly Bool {"aws:SecureTransport": "false"}')
    actions = {str(a).lower() for a in _list(statement.get("Action", []))}
    if "NotAction" in statement or not actions & POLICIES[kind][1]:
        problems.append(f"does not deny {sorted(POLICIES[kind][1])[0]}")
    if "NotResource" in statement or not all(
        _covers(kind, t, _list(statement.get("Resource", []))) for t in targets
    ):
        problems.append("does not cover the whole resource")
    return problems


def _admits_an_aws_principal(document: dict[str, Any]) -> bool:
    return any(
        st.get("Effect") == "Allow" and "AWS" in json.dumps(st.get("Principal", {}))
        for st in _list(document.get("Statement", []))
    )


def tls_problems(t: Template) -> list[str]:
    problems = []
    for name, res in t["Resources"].items():
        kind = res.get("Type")
        if kind not in POLICIES:
            continue
        props = res.get("Properties", {})
        targets = [
            ref["Ref"]
            for ref in _list(props.get(POLICIES[kind][0]))
            if isinstance(ref, dict) and "Ref" in ref
        ]
        document = props.get("PolicyDocument", {})
        denies = [st for st in _list(document.get("Statement", [])) if _mentions_tls(st)]
        for statement in denies:
            problems += [f"{name}: its TLS statement {p}" for p in _shape_problems(statement, kind, targets)]
        needed = kind != "AWS::SNS::TopicPolicy" or _admits_an_aws_principal(document)
        if needed and not denies:
            problems.append(f"{name} has no TLS-only deny")
    return problems


@pytest.fixture(scope="module")
def pristine() -> Template:
    return effective_template()


def test_every_tls_deny_has_the_shape_aws_enforces(pristine: Template) -> None:
    assert tls_problems(pristine) == []


def _tls_statement(policy: str, change: Callable[[dict[str, Any]], None]) -> Callable[[Template], None]:
    def mutate(t: Template) -> None:
        statements = t["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"]
        [statement] = [st for st in statements if _mentions_tls(st)]
        change(statement)

    return mutate


def _drop_tls(policy: str) -> Callable[[Template], None]:
    def mutate(t: Template) -> None:
        document = t["Resources"][policy]["Properties"]["PolicyDocument"]
        document["Statement"] = [st for st in document["Statement"] if not _mentions_tls(st)]

    return mutate


MUTATIONS: list[tuple[str, Callable[[Template], None]]] = [
    (
        "true instead of false",
        _tls_statement(
            "UploadBucketPolicy", lambda st: st.update(Condition={"Bool": {"aws:SecureTransport": "true"}})
        ),
    ),
    (
        "StringEquals",
        _tls_statement(
            "WebBucketPolicy",
            lambda st: st.update(Condition={"StringEquals": {"aws:SecureTransport": "false"}}),
        ),
    ),
    (
        "IfExists",
        _tls_statement(
            "ThumbnailBucketPolicy",
            lambda st: st.update(Condition={"BoolIfExists": {"aws:SecureTransport": "false"}}),
        ),
    ),
    ("Allow", _tls_statement("ValidateQueuePolicy", lambda st: st.update(Effect="Allow"))),
    (
        "one principal",
        _tls_statement("NotifyDLQPolicy", lambda st: st.update(Principal={"AWS": "arn:aws:iam::1:root"})),
    ),
    ("one action", _tls_statement("UploadBucketPolicy", lambda st: st.update(Action="s3:GetObject"))),
    ("bucket only", _tls_statement("UploadBucketPolicy", lambda st: st.update(Resource=st["Resource"][:1]))),
    (
        "another queue",
        _tls_statement(
            "IndexQueuePolicy", lambda st: st.update(Resource={"Fn::GetAtt": ["IndexDLQ", "Arn"]})
        ),
    ),
    (
        "topic: subscribe only",
        _tls_statement("FinishedTopicPolicy", lambda st: st.update(Action="sns:Subscribe")),
    ),
    ("no deny on a queue", _drop_tls("ThumbnailQueuePolicy")),
    ("no deny on a topic for accounts", _drop_tls("FinishedTopicPolicy")),
]


@pytest.mark.parametrize("mutate", [m for _, m in MUTATIONS], ids=[n for n, _ in MUTATIONS])
def test_the_check_notices_a_broken_tls_deny(pristine: Template, mutate: Callable[[Template], None]) -> None:
    broken = copy.deepcopy(pristine)
    mutate(broken)
    assert tls_problems(broken)
