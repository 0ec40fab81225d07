"""`make deploy`: the stack on AWS, through boto3 (`make destroy`: intake_build.destroy).

Deploy does what `aws cloudformation package` + `aws cloudformation deploy` do: build the artifacts,
upload them (and the template, which is too big for TemplateBody) to an artifacts bucket under the
build's prefix, create a change set (CREATE or UPDATE), print it as a table, execute it once confirmed
(`--yes` skips the question), stream the stack events until it settles and print the outputs. A failed
deploy lists each failed resource with CloudFormation's reason.

The CloudFront signing key (intake_tools.signing_key): CloudFormation cannot create a SecureString,
so deploy keeps it. If the stack's key slot has its parameter, the public key is derived from it;
if not, a new RSA 2048 key is made, the stack gets its public half (SigningPublicKey) and the private
half is put as a SecureString under the stack's customer-managed key (output DataKeyArn) or the
account's aws/ssm key: after the deploy for a new stack (its key does not exist before), before it for
an existing one. `--rotate-signing-key` puts a new key into the other slot and keeps the current one as
PreviousSigningPublicKey; `--retire-previous-signing-key` removes that one from the key group once its
URLs have expired (docs/runbook.md). After the deploy the upload page (web/ and config.js) is copied to
the stack's WebBucket, which the distribution serves.

The same code runs against the local cloud with `--endpoint-url` (or AWS_ENDPOINT_URL); the packaging
test deploys that way.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import ClientError, WaiterError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from intake_build.artifacts import ROOT, RUNTIME_PYTHON, Artifacts, build, print_sizes
from intake_tools import signing_key
from intake_tools.session import Target
from intake_tools.stack import outputs_of
from intake_tools.webconfig import config_js, publish_page, web_config

TEMPLATE = ROOT / "infra" / "cloudformation" / "intake.yaml"
DEFAULT_STACK = "intake"
# AUTO_EXPAND: the template uses the AWS::Include transform (the API's OpenAPI body).
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
# The upload page's config (docs/architecture.md), next to web/index.html; the local front serves the
# same object from the local stack, so both come from one function (intake_tools.webconfig).
WEB_CONFIG = ROOT / "web" / "config.js"
# Parameters deploy_command sets itself, from the build and the artifacts bucket.
_SET_BY_DEPLOY = ("ArtifactBucket", "ArtifactPrefix", "LambdaArchitecture")
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
_CANCELLED = ("Resource creation cancelled", "Resource update cancelled")

console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)


class DeployError(RuntimeError):
    pass


# --- parameters -----------------------------------------------------------------------------------


def parse_parameters(pairs: Sequence[str], files: Sequence[Path] = ()) -> dict[str, str]:
    """Parameters from JSON files ({"Key": "Value"} or CloudFormation's list form), then Key=Value."""
    values: dict[str, str] = {}
    for file in files:
        try:
            loaded = json.loads(file.read_text())
        except (OSError, ValueError) as exc:
            raise DeployError(f"cannot read parameters from {file}: {exc}") from exc
        if isinstance(loaded, dict):
            values.update({str(k): str(v) for k, v in loaded.items()})
        elif isinstance(loaded, list) and all(
            isinstance(p, dict) and "ParameterKey" in p and "ParameterValue" in p for p in loaded
        ):
            values.update({str(p["ParameterKey"]): str(p["ParameterValue"]) for p in loaded})
        else:
            raise DeployError(
                f'{file}: expected {{"Key": "Value", ...}} or'
                ' [{"ParameterKey": ..., "ParameterValue": ...}, ...]'
            )
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise DeployError(f"--param takes Key=Value, not {pair!r}")
        values[key] = value
    return values


# What to pass for a parameter without a default, in the error that asks for it.
_REQUIRED_HINTS = {
    "WebOrigin": (
        "--param WebOrigin=https://<host> (the origin the upload page is served from: the buckets' and"
        " the API's CORS rules allow only it; there is no localhost default for AWS)"
    ),
}


def require_parameters(given: Iterable[str], required: Iterable[str], existing: Iterable[str]) -> None:
    """Refuse a deploy that leaves a parameter without a default (`required`) unset: neither given nor
    already set on the stack (`existing`)."""
    missing = sorted(set(required) - set(given) - set(existing))
    if missing:
        hints = "; ".join(f"{name}: {_REQUIRED_HINTS.get(name, f'--param {name}=...')}" for name in missing)
        raise DeployError(f"missing parameter(s) {', '.join(missing)}, which have no default. Pass {hints}")


def check_declared(wanted: Iterable[str], declared: Iterable[str]) -> None:
    """Refuse a parameter the template does not declare, naming the ones it does."""
    declared = set(declared)
    unknown = sorted(set(wanted) - declared)
    if unknown:
        raise DeployError(
            f"unknown parameter(s) {', '.join(unknown)}; the template has {', '.join(sorted(declared))}"
        )


def check_values(wanted: Mapping[str, str], text: str) -> None:
    """Each value against its parameter's constraints in the template `text`, as CloudFormation checks
    them on create and update: AllowedValues, AllowedPattern (the whole value), MinLength/MaxLength,
    and for a Number a number within MinValue/MaxValue. Before anything is built or started."""
    specs = _template_parameters(text)
    problems = []
    for name, value in sorted(wanted.items()):
        spec = specs.get(name, {})
        allowed = [str(v) for v in spec.get("AllowedValues", [])]
        if allowed and value not in allowed:
            problems.append(f"{name}={value!r} is not one of {', '.join(allowed)}")
        if "AllowedPattern" in spec and not re.fullmatch(str(spec["AllowedPattern"]), value):
            problems.append(
                f"{name}={value!r}: {spec.get('ConstraintDescription') or 'does not match ' + spec['AllowedPattern']}"
            )
        if len(value) < int(spec.get("MinLength", 0)) or len(value) > int(spec.get("MaxLength", len(value))):
            problems.append(
                f"{name}={value!r}: length outside {spec.get('MinLength', 0)}..{spec.get('MaxLength')}"
            )
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                problems.append(f"{name}={value!r} is not a number")
                continue
            low, high = spec.get("MinValue"), spec.get("MaxValue")
            if (low is not None and number < float(low)) or (high is not None and number > float(high)):
                problems.append(
                    f"{name}={value}: outside {low if low is not None else ''}..{high if high is not None else ''}"
                )
    if problems:
        raise DeployError("parameter value(s) the template refuses: " + "; ".join(problems))


def stack_parameters(
    wanted: Mapping[str, str],
    declared: Iterable[str],
    existing: Iterable[str],
    required: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """CloudFormation's Parameters: given values, and on update UsePreviousValue for the rest.

    A `required` parameter (one without a default) must be given, or already set on the stack."""
    declared = set(declared)
    check_declared(wanted, declared)
    require_parameters(wanted, required, existing)
    parameters: list[dict[str, Any]] = [
        {"ParameterKey": k, "ParameterValue": v} for k, v in sorted(wanted.items())
    ]
    parameters += [
        {"ParameterKey": k, "UsePreviousValue": True} for k in sorted(set(existing) & declared - set(wanted))
    ]
    return parameters


# --- artifacts bucket -----------------------------------------------------------------------------


def default_bucket(target: Target) -> str:
    account = target.client("sts").get_caller_identity()["Account"]
    return f"intake-artifacts-{account}-{target.region_name}"


def ensure_bucket(target: Target, bucket: str) -> None:
    """Create the private artifacts bucket unless it exists (and is ours)."""
    s3 = target.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("403", "AccessDenied"):
            raise DeployError(f"bucket {bucket} exists but this account may not use it") from exc
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise
    console.print(f"creating artifacts bucket [bold]{bucket}[/]")
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if target.region_name != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": target.region_name}
    s3.create_bucket(**kwargs)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def upload(target: Target, bucket: str, artifacts: Artifacts) -> str:
    """Upload the artifacts and the template under the prefix; returns the template's URL."""
    s3 = target.client("s3")
    for name, path in sorted(artifacts.files.items()):
        key = f"{artifacts.prefix}/{name}"
        try:
            s3.head_object(Bucket=bucket, Key=key)
            console.print(f"  s3://{bucket}/{key} (already there)")
            continue  # the prefix is a content hash: same key, same bytes
        except ClientError:
            pass
        s3.upload_file(str(path), bucket, key)
        console.print(f"  s3://{bucket}/{key}")
    key = f"{artifacts.prefix}/{TEMPLATE.name}"
    s3.put_object(Bucket=bucket, Key=key, Body=TEMPLATE.read_bytes())
    # Path style, as `aws cloudformation package` writes it; TemplateBody stops at 51,200 bytes.
    return f"https://s3.{target.region_name}.amazonaws.com/{bucket}/{key}"


# --- the stack ------------------------------------------------------------------------------------


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !Sub, ...), which it reads as null."""


CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _template_parameters(text: str) -> dict[str, Any]:
    loaded = yaml.load(text, Loader=CfnLoader) or {}  # a SafeLoader subclass: no code runs
    return {str(name): spec or {} for name, spec in (loaded.get("Parameters") or {}).items()}


def template_parameters(text: str) -> list[str]:
    """The template's parameter names (read locally: no API call, no transform to process)."""
    return list(_template_parameters(text))


def required_parameters(text: str) -> list[str]:
    """The template's parameters without a Default: a new stack needs a value for each."""
    return [name for name, spec in _template_parameters(text).items() if "Default" not in spec]


def stack_status(cloudformation: Any, stack: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    return found


def change_table(changes: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(title="Change set")
    for column in ("action", "logical id", "type", "replacement", "scope"):
        table.add_column(column)
    style = {"Add": "green", "Modify": "yellow", "Remove": "red"}
    for change in changes:
        rc = change.get("ResourceChange", {})
        action = rc.get("Action", "")
        table.add_row(
            Text(action, style=style.get(action, "")),
            rc.get("LogicalResourceId", ""),
            rc.get("ResourceType", ""),
            str(rc.get("Replacement", "")),
            ", ".join(rc.get("Scope", [])),
        )
    return table


def describe_changes(cloudformation: Any, stack: str, change_set: str) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    kwargs = {"StackName": stack, "ChangeSetName": change_set}
    while True:
        page = cloudformation.describe_change_set(**kwargs)
        changes += page.get("Changes", [])
        if not page.get("NextToken"):
            return changes
        kwargs["NextToken"] = page["NextToken"]


def latest_event_id(cloudformation: Any, stack: str) -> str | None:
    """The newest event of the stack now: the events after it belong to the next operation."""
    events = cloudformation.describe_stack_events(StackName=stack)["StackEvents"]
    return str(events[0]["EventId"]) if events else None


def new_events(cloudformation: Any, stack_id: str, after: str | None) -> list[dict[str, Any]]:
    """The stack's events newer than event `after`, newest first (paging: a rollback of a big stack
    writes more than one page of events after the failure that caused it)."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"StackName": stack_id}
    while True:
        page = cloudformation.describe_stack_events(**kwargs)
        for event in page["StackEvents"]:
            if event["EventId"] == after:
                return events
            events.append(event)
        if not page.get("NextToken"):
            return events
        kwargs["NextToken"] = page["NextToken"]


def failure_rows(events: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str, str]]:
    """The failed resources among `events` (newest first), oldest first, with CloudFormation's reasons.

    "cancelled" failures are only the echo of the first real one, so they are left out."""
    rows = []
    for event in events:
        if "FAILED" not in event.get("ResourceStatus", ""):
            continue
        reason = event.get("ResourceStatusReason", "")
        if any(c in reason for c in _CANCELLED):
            continue
        rows.append(
            (event["LogicalResourceId"], event.get("ResourceType", ""), event["ResourceStatus"], reason)
        )
    return list(reversed(rows))


def wait_for_stack(
    cloudformation: Any,
    stack_id: str,
    after: str | None,
    *,
    timeout_s: float = 3600,
    poll_s: float = 5,
    on_event: Callable[[Mapping[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Stream the stack's new events until it settles; raise DeployError with the reasons if it failed.

    `stack_id` (not the name) still answers once the stack is deleted; `after` is the newest event
    before this operation (latest_event_id), so no clock is compared."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout_s
    while True:
        events = new_events(cloudformation, stack_id, after)
        for event in reversed(events):
            if event["EventId"] not in seen:
                seen.add(event["EventId"])
                if on_event:
                    on_event(event)
        current = stack_status(cloudformation, stack_id) or {"StackStatus": "DELETE_COMPLETE"}
        status = current["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            if status.endswith("_COMPLETE") and "ROLLBACK" not in status:
                return current
            rows = failure_rows(events)
            table = Table(title=f"{current.get('StackName', stack_id)}: {status}")
            for column in ("logical id", "type", "status", "reason"):
                table.add_column(column, overflow="fold")
            for row in rows:
                table.add_row(*row)
            console.print(table)
            reasons = "; ".join(f"{r[0]}: {r[3]}" for r in rows) or current.get("StackStatusReason", "")
            raise DeployError(f"stack {current.get('StackName', stack_id)} is {status}: {reasons}")
        if time.monotonic() > deadline:
            raise DeployError(f"stack {stack_id} still {status} after {timeout_s:.0f} s")
        time.sleep(poll_s)


def print_event(event: Mapping[str, Any]) -> None:
    status = event.get("ResourceStatus", "")
    style = "red" if "FAILED" in status else "green" if status.endswith("COMPLETE") else ""
    line = Text(f"  {event['Timestamp']:%H:%M:%S} {event['LogicalResourceId']:32} ")
    line.append(status, style=style)
    if event.get("ResourceStatusReason"):
        line.append(f"  {event['ResourceStatusReason']}")
    console.print(line)


def confirm(question: str, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise DeployError(f"{question} needs an answer: run in a terminal or pass --yes")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def deploy_stack(
    target: Target,
    *,
    stack: str,
    template_url: str,
    parameters: Mapping[str, str],
    yes: bool = False,
    poll_s: float = 5,
) -> dict[str, str] | None:
    """Create or update `stack` through a change set. Returns the outputs, or None if declined."""
    cloudformation = target.client("cloudformation")
    text = TEMPLATE.read_text()
    declared, required = template_parameters(text), required_parameters(text)
    creating, existing = _stack_state(cloudformation, stack)
    name = f"intake-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    created = cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        TemplateURL=template_url,
        Parameters=stack_parameters(parameters, declared, existing, required),
        Capabilities=CAPABILITIES,
        ChangeSetType="CREATE" if creating else "UPDATE",
        Description="make deploy",
    )
    if not _change_set_ready(cloudformation, stack, name, poll_s):
        console.print(f"stack {stack} is up to date: no changes")
        return outputs_of(stack_status(cloudformation, stack) or {})
    changes = describe_changes(cloudformation, stack, name)
    if changes:
        console.print(change_table(changes))
    else:  # the local cloud's emulator lists no changes
        console.print(f"change set {name}: the endpoint lists no resource changes")
    verb = "Create" if creating else "Update"
    if not confirm(f"{verb} stack {stack} with these changes?", yes):
        cloudformation.delete_change_set(StackName=stack, ChangeSetName=name)
        if creating:  # leave no empty REVIEW_IN_PROGRESS stack behind
            cloudformation.delete_stack(StackName=stack)
        console.print("not deployed")
        return None
    after = latest_event_id(cloudformation, created["StackId"])
    cloudformation.execute_change_set(StackName=stack, ChangeSetName=name)
    final = wait_for_stack(cloudformation, created["StackId"], after, poll_s=poll_s, on_event=print_event)
    return outputs_of(final)


def _stack_state(cloudformation: Any, stack: str) -> tuple[bool, list[str]]:
    """Whether the change set creates the stack, and the parameters it already has."""
    current = stack_status(cloudformation, stack)
    if current and current["StackStatus"] in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED"):
        raise DeployError(
            f"stack {stack} is {current['StackStatus']} (its creation failed) and can only be deleted:"
            " run `make destroy`, then deploy again"
        )
    if current is None or current["StackStatus"] == "REVIEW_IN_PROGRESS":
        return True, []
    return False, [p["ParameterKey"] for p in current.get("Parameters", [])]


def _change_set_ready(cloudformation: Any, stack: str, name: str, poll_s: float) -> bool:
    """Wait for the change set; False (and the change set deleted) if it holds no changes."""
    try:
        cloudformation.get_waiter("change_set_create_complete").wait(
            StackName=stack,
            ChangeSetName=name,
            WaiterConfig={"Delay": max(1, int(poll_s)), "MaxAttempts": 720},
        )
    except WaiterError:
        described = cloudformation.describe_change_set(StackName=stack, ChangeSetName=name)
        reason = described.get("StatusReason", "")
        cloudformation.delete_change_set(StackName=stack, ChangeSetName=name)
        if any(text in reason for text in _NO_CHANGES):
            return False
        raise DeployError(f"change set {name} failed: {reason}") from None
    return True


def print_outputs(stack: str, outputs: Mapping[str, str]) -> None:
    table = Table(title=f"Outputs of {stack}")
    table.add_column("output")
    table.add_column("value", overflow="fold")
    for key, value in sorted(outputs.items()):
        table.add_row(key, value)
    console.print(table)


# --- commands -------------------------------------------------------------------------------------


def add_arguments(deploy: argparse.ArgumentParser, destroy: argparse.ArgumentParser) -> None:
    for parser in (deploy, destroy):
        parser.add_argument("--stack-name", default=os.environ.get("INTAKE_STACK", DEFAULT_STACK))
        parser.add_argument("--region", default=None, help="default: the AWS configuration's")
        parser.add_argument("--profile", default=None)
        parser.add_argument("--endpoint-url", default=None, help="e.g. the local cloud's")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    deploy.add_argument(
        "--artifact-bucket",
        default=os.environ.get("INTAKE_ARTIFACT_BUCKET"),
        help="default: $INTAKE_ARTIFACT_BUCKET or intake-artifacts-<account>-<region> (created if missing)",
    )
    deploy.add_argument(
        "--rotate-signing-key",
        action="store_true",
        help="sign URLs with a new CloudFront key; the current one stays trusted (docs/runbook.md)",
    )
    deploy.add_argument(
        "--retire-previous-signing-key",
        action="store_true",
        help="remove the key of the last rotation from the key group (once its URLs have expired)",
    )
    deploy.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    deploy.add_argument(
        "--params-file", action="append", default=[], type=Path, help="JSON parameters (repeatable)"
    )


def target_of(args: argparse.Namespace) -> Target:
    target = Target(
        endpoint_url=args.endpoint_url, profile=args.profile, region=args.region, stack=args.stack_name
    )
    if not (target.region or target.session.region_name):
        raise DeployError("no AWS region: pass --region or set AWS_REGION / a profile's region")
    return target


def deploy_command(args: argparse.Namespace) -> int:
    wanted = parse_parameters(args.param, args.params_file)
    check_declared(wanted, template_parameters(TEMPLATE.read_text()))
    check_values(wanted, TEMPLATE.read_text())
    if wanted.get("LambdaArchitecture", args.architecture) != args.architecture:
        raise DeployError("choose the architecture with --architecture: the layer is built for it")
    target = target_of(args)
    # Before the build: a new stack needs WebOrigin (no default); an existing one keeps its value.
    _, existing = _stack_state(target.client("cloudformation"), args.stack_name)
    require_parameters({*wanted, *_SET_BY_DEPLOY}, required_parameters(TEMPLATE.read_text()), existing)
    artifacts = build(
        dependencies=True,
        architecture=args.architecture,
        python_version=getattr(args, "python_version", RUNTIME_PYTHON),
        require_pyc=getattr(args, "require_pyc", False),
    )
    print_sizes(artifacts)
    bucket = args.artifact_bucket or default_bucket(target)
    ensure_bucket(target, bucket)
    console.print(f"uploading to s3://{bucket}/{artifacts.prefix}/")
    template_url = upload(target, bucket, artifacts)
    parameters = {
        "ArtifactBucket": bucket,
        "ArtifactPrefix": artifacts.prefix,
        "LambdaArchitecture": artifacts.architecture,
        **wanted,
    }
    outputs = deploy_with_signing_key(
        target,
        stack=args.stack_name,
        template_url=template_url,
        parameters=parameters,
        yes=args.yes,
        rotate=getattr(args, "rotate_signing_key", False),
        retire_previous=getattr(args, "retire_previous_signing_key", False),
    )
    if outputs is None:
        return 1
    print_outputs(args.stack_name, outputs)
    config = web_config(outputs, target.region_name)
    WEB_CONFIG.write_text(config_js(config))
    console.print(f"web page config written to {WEB_CONFIG.relative_to(ROOT)}")
    if outputs.get("WebBucketName"):
        publish_page(target.client("s3"), outputs["WebBucketName"], ROOT / "web", config)
        console.print(
            f"upload page copied to s3://{outputs['WebBucketName']}/, served at {outputs.get('CdnUrl')}"
        )
    return 0


def deploy_with_signing_key(
    target: Target,
    *,
    stack: str,
    template_url: str,
    parameters: Mapping[str, str],
    yes: bool = False,
    rotate: bool = False,
    retire_previous: bool = False,
    poll_s: float = 5,
) -> dict[str, str] | None:
    """deploy_stack with the CloudFront signing key set up (module docstring); None if declined."""
    ssm = target.client("ssm")
    current = stack_status(target.client("cloudformation"), stack)
    existing = {p["ParameterKey"]: p.get("ParameterValue", "") for p in (current or {}).get("Parameters", [])}
    key = signing_key.plan(ssm, stack, existing, rotate=rotate, retire_previous=retire_previous)
    if current is not None:  # the stack (and its customer-managed key) exists: store the key first
        store_signing_key(ssm, stack, key, outputs_of(current))
    outputs = deploy_stack(
        target,
        stack=stack,
        template_url=template_url,
        parameters={**parameters, **key.stack_parameters()},
        yes=yes,
        poll_s=poll_s,
    )
    if outputs is not None and current is None:
        store_signing_key(ssm, stack, key, outputs)
    return outputs


def store_signing_key(
    ssm: Any, stack: str, key: signing_key.SigningKeyPlan, outputs: Mapping[str, str]
) -> None:
    """Put the plan's new private key (if any) as the SecureString of its slot."""
    if key.new_private_pem is None:
        return
    name = signing_key.parameter_name(stack, key.slot)
    kms = outputs.get("DataKeyArn")
    signing_key.put_private_key(ssm, name, key.new_private_pem, kms)
    console.print(f"signing key stored in {name} (SecureString, {kms or 'the account key aws/ssm'})")
