"""The policy evaluator against AWS's documented evaluation logic and condition examples."""

from __future__ import annotations

import pytest

from localcloud.authz.conditions import UnsupportedCondition, conditions_hold
from localcloud.authz.policy import ANONYMOUS, Policy, Request, evaluate, role_arn

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/api"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/api/worker-1"
BUCKET = "arn:aws:s3:::uploads"


def identity(*statements) -> Policy:
    return Policy("role/api:api", {"Version": "2012-10-17", "Statement": list(statements)})


def resource(*statements) -> Policy:
    return Policy("bucket policy", {"Version": "2012-10-17", "Statement": list(statements)})


def req(action: str, res: str, principal: str = SESSION, **context) -> Request:
    return Request(principal, action, res, ACCOUNT, context)


ALLOW_GET = {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/uploads/*"}


def test_role_arn_of_a_session() -> None:
    assert role_arn(SESSION) == ROLE
    assert role_arn(ROLE) == ROLE


def test_implicit_deny_without_any_allow() -> None:
    decision = evaluate(req("s3:PutObject", f"{BUCKET}/uploads/a"), [identity(ALLOW_GET)])
    assert not decision and decision.statement == ""


def test_identity_allow_with_wildcards_and_case_insensitive_action() -> None:
    decision = evaluate(req("S3:getobject", f"{BUCKET}/uploads/u/1.png"), [identity(ALLOW_GET)])
    assert decision and decision.statement == "role/api:api:Read"
    assert not evaluate(req("s3:GetObject", f"{BUCKET}/other/1.png"), [identity(ALLOW_GET)])


def test_explicit_deny_in_any_policy_wins_over_an_allow() -> None:
    deny = {"Sid": "NoTls", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": f"{BUCKET}/*"}
    decision = evaluate(req("s3:GetObject", f"{BUCKET}/uploads/a"), [identity(ALLOW_GET)], resource(deny))
    assert not decision and decision.statement == "bucket policy:NoTls" and decision.reason == "explicit deny"


def test_not_action_and_not_resource() -> None:
    # AWS's example: deny everything outside one bucket with NotResource; NotAction allows all but IAM.
    policy = identity(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Sid": "OnlyUploads", "Effect": "Deny", "Action": "s3:*", "NotResource": [BUCKET, f"{BUCKET}/*"]},
    )
    assert evaluate(req("sqs:SendMessage", "arn:aws:sqs:eu-west-1:1:q"), [policy])
    assert not evaluate(req("iam:CreateUser", "*"), [policy])
    decision = evaluate(req("s3:GetObject", "arn:aws:s3:::other/x"), [policy])
    assert not decision and decision.statement.endswith(":OnlyUploads")


def test_same_account_resource_policy_allow_is_enough() -> None:
    allow = {"Sid": "Role", "Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:GetObject"}
    assert evaluate(req("s3:GetObject", f"{BUCKET}/a"), [], resource(allow))
    # ... but naming the account only delegates to IAM: the identity policy must allow.
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "s3:*"}
    assert not evaluate(req("s3:GetObject", f"{BUCKET}/a"), [], resource(root))


def test_resource_policy_missing_the_principal_denies_a_service() -> None:
    topic = "arn:aws:sns:eu-west-1:123456789012:t"
    policy = resource(
        {
            "Sid": "S3",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sns:Publish",
        }
    )
    assert evaluate(req("sns:Publish", topic, "s3.amazonaws.com"), [], policy)
    assert not evaluate(req("sns:Publish", topic, "cloudwatch.amazonaws.com"), [], policy)


def test_anonymous_matches_only_star_principals() -> None:
    own = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "s3:*"}
    assert not evaluate(req("s3:GetObject", f"{BUCKET}/a", ANONYMOUS), [], resource(own))
    public = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}
    assert evaluate(req("s3:GetObject", f"{BUCKET}/a", ANONYMOUS), [], resource(public))


KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/k"
ROOT_STATEMENT = {
    "Sid": "EnableIamPolicies",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    "Action": "kms:*",
    "Resource": "*",
}
VIA_S3 = {
    "Sid": "ViaS3",
    "Effect": "Allow",
    "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
    "Resource": KEY_ARN,
    "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
}


def test_kms_needs_the_key_policy_to_delegate_and_iam_to_allow() -> None:
    key = Policy("key policy", {"Statement": [ROOT_STATEMENT]})
    via_s3 = req("kms:GenerateDataKey", KEY_ARN, **{"kms:ViaService": "s3.eu-west-1.amazonaws.com"})
    decision = evaluate(via_s3, [identity(VIA_S3)], key=key)
    assert decision and decision.statement == "role/api:api:ViaS3"
    via_sns = req("kms:GenerateDataKey", KEY_ARN, **{"kms:ViaService": "sns.eu-west-1.amazonaws.com"})
    assert not evaluate(via_sns, [identity(VIA_S3)], key=key)
    # An identity allow is not enough when the key policy neither names the role nor delegates.
    closed = Policy(
        "key policy", {"Statement": [{**ROOT_STATEMENT, "Principal": {"AWS": "arn:aws:iam::999:root"}}]}
    )
    decision = evaluate(via_s3, [identity(VIA_S3)], key=closed)
    assert not decision and "key policy" in decision.reason


def test_kms_key_policy_missing_a_service() -> None:
    s3_only = {
        "Sid": "S3Events",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    }
    key = Policy("key policy", {"Statement": [ROOT_STATEMENT, s3_only]})
    context = {"aws:SourceAccount": ACCOUNT}
    assert evaluate(req("kms:GenerateDataKey", KEY_ARN, "s3.amazonaws.com", **context), key=key)
    assert not evaluate(req("kms:GenerateDataKey", KEY_ARN, "sns.amazonaws.com", **context), key=key)


@pytest.mark.parametrize(
    ("block", "context", "expected"),
    [
        # AWS's aws:SecureTransport example: Bool false denies plain HTTP.
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": True}, False),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": False}, True),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:*:1:alarm:*"}},
            {"aws:sourcearn": "arn:aws:cloudwatch:eu-west-1:1:alarm:a"},
            True,
        ),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:*:1:alarm:*"}},
            {"aws:SourceArn": "arn:aws:s3:::b"},
            False,
        ),
        (
            {"ArnEquals": {"aws:SourceArn": ["arn:aws:sns:r:1:a", "arn:aws:sns:r:1:b"]}},
            {"aws:SourceArn": "arn:aws:sns:r:1:b"},
            True,
        ),
        ({"ArnEquals": {"aws:SourceArn": "arn:aws:sns:r:1:a"}}, {}, False),
        ({"StringLike": {"s3:prefix": "uploads/*"}}, {"s3:prefix": "uploads/u1/"}, True),
        ({"StringLike": {"s3:prefix": "uploads/*"}}, {}, False),
        ({"StringEquals": {"ses:FromAddress": "a@x"}}, {"ses:FromAddress": "b@x"}, False),
        ({"StringNotEquals": {"aws:SourceAccount": "1"}}, {}, True),
        ({"StringEqualsIfExists": {"aws:SourceAccount": "1"}}, {}, True),
        ({"StringEqualsIfExists": {"aws:SourceAccount": "1"}}, {"aws:SourceAccount": "2"}, False),
        ({"Null": {"aws:SourceArn": "true"}}, {}, True),
        ({"Null": {"aws:SourceArn": "false"}}, {}, False),
        # ForAllValues is true for an empty set; ForAnyValue needs one match (AWS's multivalued examples).
        (
            {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["id", "name"]}},
            {"dynamodb:Attributes": ["id"]},
            True,
        ),
        (
            {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["id"]}},
            {"dynamodb:Attributes": ["id", "x"]},
            False,
        ),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, {"aws:TagKeys": ["b", "a"]}, True),
        # Two operators (and two keys) must all hold.
        (
            {"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::b"}, "StringEquals": {"aws:SourceAccount": "1"}},
            {"aws:SourceArn": "arn:aws:s3:::b", "aws:SourceAccount": "2"},
            False,
        ),
    ],
)
def test_condition_operators(block, context, expected) -> None:
    assert conditions_hold(block, context) is expected


def test_unknown_operator_is_refused() -> None:
    with pytest.raises(UnsupportedCondition):
        conditions_hold({"DateLessThan": {"aws:CurrentTime": "2020"}}, {"aws:CurrentTime": "2019"})


@pytest.mark.parametrize(
    ("block", "context", "expected"),
    [
        # ForAllValues with a negated operator: every request value must match none of the policy's.
        ({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}}, {"aws:TagKeys": ["a", "b"]}, True),
        (
            {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}},
            {"aws:TagKeys": ["a", "secret"]},
            False,
        ),
        ({"ForAllValues:StringNotLike": {"aws:TagKeys": ["s*"]}}, {"aws:TagKeys": ["sa", "sb"]}, False),
        # ForAnyValue with a negated operator: one request value matching none of the policy's is enough.
        (
            {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["secret"]}},
            {"aws:TagKeys": ["secret", "a"]},
            True,
        ),
        ({"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["secret"]}}, {"aws:TagKeys": ["secret"]}, False),
        # A missing key or an empty set: ForAllValues holds (negated or not), ForAnyValue does not.
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}, {}, True),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}, {"aws:TagKeys": []}, True),
        ({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["a"]}}, {}, True),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, {}, False),
        ({"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["a"]}}, {}, False),
        # A missing key: negated operators true, positive ones false, ...IfExists true, Null per its value.
        ({"StringNotLike": {"aws:SourceArn": "arn:*"}}, {}, True),
        ({"ArnNotEquals": {"aws:SourceArn": "arn:aws:sns:r:1:a"}}, {}, True),
        ({"NumericNotEquals": {"s3:max-keys": "10"}}, {}, True),
        ({"Bool": {"aws:SecureTransport": "true"}}, {}, False),
        ({"BoolIfExists": {"aws:SecureTransport": "false"}}, {}, True),
        ({"StringNotEqualsIfExists": {"aws:SourceAccount": "1"}}, {"aws:SourceAccount": "1"}, False),
        ({"Null": {"aws:TagKeys": "true"}}, {"aws:TagKeys": []}, True),
        ({"Null": {"aws:SourceArn": "false"}}, {"aws:SourceArn": "x"}, True),
        # Several values under a negated operator act as an AND.
        ({"StringNotEquals": {"aws:SourceAccount": ["1", "2"]}}, {"aws:SourceAccount": "2"}, False),
    ],
)
def test_set_qualifiers_and_missing_keys_follow_the_iam_reference(block, context, expected) -> None:
    assert conditions_hold(block, context) is expected


def test_an_identity_statement_without_resource_matches_nothing(caplog: pytest.LogCaptureFixture) -> None:
    no_resource = {"Sid": "Loose", "Effect": "Allow", "Action": "s3:GetObject"}
    decision = evaluate(req("s3:GetObject", f"{BUCKET}/a"), [identity(no_resource)])
    assert not decision and decision.reason == "no policy allows it"
    assert "role/api:api:Loose has neither Resource nor NotResource" in caplog.text
    # A Deny without Resource denies nothing either (IAM would not have stored it).
    deny = {"Effect": "Deny", "Action": "s3:*"}
    assert evaluate(req("s3:GetObject", f"{BUCKET}/uploads/a"), [identity(ALLOW_GET, deny)])


NOT_ME = {"Sid": "OnlyAudit", "Effect": "Deny", "Action": "s3:*", "Resource": f"{BUCKET}/*"}
ALLOW_ROLE = {
    "Effect": "Allow",
    "Principal": {"AWS": ROLE},
    "Action": "s3:GetObject",
    "Resource": f"{BUCKET}/*",
}


@pytest.mark.parametrize(
    ("listed", "exempt"),
    [
        ([ROLE], False),  # the role alone: its sessions are still denied
        ([ROLE, f"arn:aws:iam::{ACCOUNT}:root"], False),
        ([SESSION, f"arn:aws:iam::{ACCOUNT}:root"], False),
        ([SESSION, ROLE], False),
        ([SESSION, ROLE, f"arn:aws:iam::{ACCOUNT}:root"], True),  # AWS's documented example
        ([SESSION, ROLE, ACCOUNT], True),
    ],
)
def test_not_principal_exempts_a_session_only_with_its_role_and_account(listed, exempt) -> None:
    policy = resource({**NOT_ME, "NotPrincipal": {"AWS": listed}}, ALLOW_ROLE)
    decision = evaluate(req("s3:GetObject", f"{BUCKET}/a"), [], policy)
    assert bool(decision) is exempt
    if not exempt:
        assert decision.statement == "bucket policy:OnlyAudit"
