"""Where `intake ops` talks to: its target options as an intake_tools Target, and the stack's outputs.

The local cloud by default ($AWS_ENDPOINT_URL, else http://127.0.0.1:4566), or AWS with --aws or
--profile (and --region, --stack). What can go wrong talking to AWS becomes an OpsError whose message
says what to do (`explained_aws_errors`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from intake_cli.errors import OpsError
from intake_tools import stack
from intake_tools.session import DEFAULT_STACK, LOCAL_HOST, LOCAL_REGION, Target, local_endpoint
from intake_tools.stack import StackNotFound

LOCAL_ENDPOINT = f"http://{LOCAL_HOST}"


@dataclass(frozen=True)
class OpsTarget(Target):
    """A Target whose clients give up soon: three attempts, 5 s to connect."""

    def client(self, service: str, *, config: Config | None = None, retries: int = 3) -> Any:
        config = config or Config(
            retries={"mode": "standard", "total_max_attempts": retries},
            connect_timeout=5,
            read_timeout=30,
        )
        return super().client(service, config=config)

    def where(self) -> str:
        return self.endpoint_url or f"AWS {self.region_name}"


@dataclass(frozen=True)
class TargetOptions:
    """The five target options every ops command takes."""

    endpoint: str | None = None
    aws: bool = False
    profile: str | None = None
    region: str | None = None
    stack: str = DEFAULT_STACK


def make_target(options: TargetOptions) -> OpsTarget:
    if options.endpoint and (options.aws or options.profile):
        raise OpsError("--endpoint talks to an emulator; --aws/--profile to AWS: pick one")
    region = options.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if options.aws or options.profile is not None:
        # No region anywhere: the profile's, else us-east-1 (as the local cloud).
        region = region or OpsTarget(profile=options.profile).region_name
        return OpsTarget(profile=options.profile, region=region, stack=options.stack)
    endpoint = (options.endpoint or local_endpoint()).rstrip("/")
    return OpsTarget(endpoint_url=endpoint, region=region or LOCAL_REGION, stack=options.stack)


def describe(target: OpsTarget) -> dict[str, Any]:
    """The target in `intake ops status --json`."""
    return {"endpoint": target.endpoint_url or "aws", "region": target.region_name, "stack": target.stack}


@dataclass(frozen=True)
class Deployment:
    """An Intake stack's outputs: its queues, DLQs and index table."""

    target: OpsTarget
    outputs: Mapping[str, str]

    def output(self, key: str) -> str:
        try:
            return self.outputs[key]
        except KeyError:
            raise OpsError(
                f"stack {self.target.stack!r} has no output {key!r}: is it an Intake stack?"
            ) from None

    def queue_url(self, consumer: str) -> str:
        return self.output(f"{consumer.capitalize()}QueueUrl")

    def dlq_url(self, consumer: str) -> str:
        return self.output(f"{consumer.capitalize()}DLQUrl")


def _botocore_cause(exc: StackNotFound) -> OpsError | BotoCoreError | ClientError:
    """What intake_tools wrapped: botocore's own error (explained as any other call), else an OpsError."""
    cause = exc.__cause__
    return cause if isinstance(cause, BotoCoreError | ClientError) else OpsError(str(exc))


def read_deployment(target: OpsTarget) -> Deployment:
    """The stack's outputs; a missing stack is an OpsError, other failures are botocore's own."""
    try:
        found = stack.read_stack(target)
    except StackNotFound as exc:
        cause = exc.__cause__
        if isinstance(cause, ClientError) and "does not exist" in str(cause):
            hint = " (is the local cloud running? `make up`)" if target.is_local else ""
            raise OpsError(f"stack {target.stack!r} not found at {target.where()}{hint}") from cause
        raise _botocore_cause(exc) from None
    return Deployment(target, found.outputs)


def stack_resources(target: OpsTarget) -> dict[str, str]:
    """Logical id -> physical id, nested stacks flattened (intake_tools.stack.stack_resources)."""
    try:
        return stack.stack_resources(target)
    except StackNotFound as exc:
        raise _botocore_cause(exc) from None


def explain_aws_error(exc: BotoCoreError | ClientError) -> str:
    """One line an operator can act on."""
    if isinstance(exc, EndpointConnectionError):
        where = exc.kwargs.get("endpoint_url", "the endpoint")
        return f"cannot reach {where}: is the local cloud running (`make up`)?"
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials: pass --profile, or configure the default credentials"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{exc.operation_name} failed: {error.get('Code')}: {error.get('Message')}"
    return str(exc)


@contextmanager
def explained_aws_errors() -> Iterator[None]:
    """botocore's exceptions inside become OpsErrors with one clear line."""
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise OpsError(explain_aws_error(exc)) from exc
