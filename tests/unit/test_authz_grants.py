"""The record of allowed requests (localcloud.authz.grants) and the grant mutations it is replayed with."""

from __future__ import annotations

from localcloud.authz.checks import Caller
from localcloud.authz.grants import AllowedRequests, reevaluate, without
from localcloud.authz.json_services import sqs
from localcloud.authz.policy import Policy, Request, evaluate

SESSION = "arn:aws:sts::123456789012:assumed-role/stage/s1"
ROLE = "arn:aws:iam::123456789012:role/stage"
POLICY = Policy(
    "role/stage:inline",
    {
        "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"},
            {"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"},
        ]
    },
)


def _request(action: str, principal: str = SESSION) -> Request:
    return Request(principal, action, "arn:aws:s3:::b/k", "123456789012")


def test_allowed_requests_of_role_sessions_are_recorded_once_with_the_deciding_statement() -> None:
    recorder = AllowedRequests()
    for principal in (SESSION, "arn:aws:sts::123456789012:assumed-role/stage/s2", "anonymous"):
        request = _request("s3:GetObject", principal)
        recorder.record(request, evaluate(request, [POLICY]), None, None)
    [entry] = recorder.entries()
    assert (entry.role, entry.statement) == (ROLE, "role/stage:inline:Read")
    assert recorder.snapshot()["allowed"][0]["action"] == "s3:GetObject"


def test_removing_one_action_of_a_statement_denies_only_that_action() -> None:
    recorder = AllowedRequests()
    for action in ("s3:GetObject", "s3:PutObject"):
        request = _request(action)
        recorder.record(request, evaluate(request, [POLICY]), None, None)
    mutated = without([POLICY], "role/stage:inline:Read", "s3:GetObject")
    decisions = {e.request.action: bool(reevaluate(e, mutated)) for e in recorder.entries()}
    assert decisions == {"s3:GetObject": False, "s3:PutObject": True}
    assert not any(reevaluate(e, without([POLICY], "role/stage:inline:Read")) for e in recorder.entries())


def test_sqs_batch_operations_are_authorized_as_their_single_action() -> None:
    caller = Caller(SESSION, "123456789012", "us-east-1")
    body = {"QueueUrl": "http://localhost/123456789012/no-such-queue"}
    assert sqs("DeleteMessageBatch", body, caller)[0].action == "sqs:DeleteMessage"
    assert sqs("ChangeMessageVisibilityBatch", body, caller)[0].action == "sqs:ChangeMessageVisibility"


def test_the_record_is_bounded() -> None:
    recorder = AllowedRequests(limit=1)
    for action in ("s3:GetObject", "s3:PutObject"):
        request = _request(action)
        recorder.record(request, evaluate(request, [POLICY]), None, None)
    assert recorder.snapshot()["count"] == 1 and recorder.snapshot()["dropped"] == 1
