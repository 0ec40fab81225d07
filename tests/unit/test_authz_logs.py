"""CloudWatch Logs requests as IAM evaluates them: a stream operation on the stream's ARN, which a grant
on the group's `log-group:<name>:*` ARN (CloudFormation's GetAtt Arn) covers and one on the bare group
ARN does not; and the functions' log streams are only written with an execution role."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.authz.checks import Caller
from localcloud.authz.json_services import checks
from localcloud.authz.policy import Policy, Request, evaluate
from localcloud.function_logs import open_log
from localcloud.lambda_runtime import FunctionSpec

ACCOUNT = "123456789012"
CALLER = Caller(f"arn:aws:sts::{ACCOUNT}:assumed-role/fn/s", ACCOUNT, "us-east-1")
GROUP = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/intake-index"


def _allowed(target: str, body: dict[str, str], resource: str) -> bool:
    policy = Policy(
        "role/fn:inline",
        {
            "Statement": {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": resource,
            }
        },
    )
    (check,) = checks(target, body, CALLER)
    return bool(evaluate(Request(CALLER.principal, check.action, check.resource, ACCOUNT), [policy]))


@pytest.mark.parametrize("operation", ["CreateLogStream", "PutLogEvents"])
def test_stream_operations_are_evaluated_on_the_streams_arn(operation: str) -> None:
    body = {"logGroupName": "/aws/lambda/intake-index", "logStreamName": "2026/01/01/[$LATEST]abc"}
    (check,) = checks(f"Logs_20140328.{operation}", body, CALLER)
    assert (check.action, check.resource) == (
        f"logs:{operation}",
        f"{GROUP}:log-stream:2026/01/01/[$LATEST]abc",
    )
    assert _allowed(f"Logs_20140328.{operation}", body, f"{GROUP}:*")
    assert not _allowed(f"Logs_20140328.{operation}", body, GROUP)
    assert not _allowed(f"Logs_20140328.{operation}", body, f"{GROUP}-other:*")


def test_other_logs_operations_name_the_group_or_nothing() -> None:
    (described,) = checks("Logs_20140328.DescribeLogGroups", {}, CALLER)
    assert (described.action, described.resource) == ("logs:DescribeLogGroups", "*")
    (created,) = checks("Logs_20140328.CreateLogGroup", {"logGroupName": "/g"}, CALLER)
    assert created.resource == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/g"


def test_an_environment_without_a_role_writes_no_cloudwatch_log() -> None:
    spec = FunctionSpec("f", "arn", "handler.handler", Path("."), (), {}, 3, 128, "us-east-1", "http://x")
    assert open_log(spec, "stream") is None
    assert open_log(FunctionSpec(**{**spec.__dict__, "role_arn": "arn:aws:iam::1:role/r"}), "s") is not None
