"""Deploys the real template into the emulator: upload the built artifacts, create_stack.

As `make deploy` does on AWS, the deploy keeps the CloudFront signing key (intake_tools.signing_key):
a new RSA key's public half goes into the stack (SigningPublicKey), and once the stack (and its
customer-managed key, if the template has one) exists, the private half becomes the SecureString
parameter the API reads.
"""

from __future__ import annotations

import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from intake_tools import signing_key
from intake_tools.session import LOCAL_REGION, Target
from intake_tools.stack import nested_resources, outputs_of

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "cloudformation" / "intake.yaml"
ARTIFACT_BUCKET = "intake-artifacts"
STACK = "intake"
REGION = LOCAL_REGION

# Faster than AWS's defaults so that retries and the DLQ show up in seconds, with the same ratio:
# a queue's visibility timeout stays 6x the function timeout.
LOCAL_PARAMETERS = {"FunctionTimeout": "10", "QueueVisibilityTimeout": "60"}
# What the deploy sets itself: where it uploaded the artifacts, and the signing key it made. A caller's
# parameters go on top of LOCAL_PARAMETERS but may not name these.
WIRED_PARAMETERS = (
    "ArtifactBucket",
    "ArtifactPrefix",
    "SigningKeySlot",
    "SigningPublicKey",
    "PreviousSigningPublicKey",
)


@dataclass(frozen=True)
class Deployment:
    stack_name: str
    outputs: dict[str, str]
    resources: dict[str, str]  # logical id -> physical id
    code_dirs: dict[str, Path]  # function physical name -> its unpacked zip (plays /var/task)
    layer_dir: Path  # the unpacked layer (plays /opt)


class Artifacts(Protocol):
    """What the deploy needs of a build (intake_build's Artifacts): zips under a content-hash prefix."""

    @property
    def directory(self) -> Path: ...
    @property
    def prefix(self) -> str: ...
    @property
    def files(self) -> dict[str, Path]: ...


def client(service: str, endpoint: str) -> Any:
    return Target.local(endpoint).client(service)


def _unpack(archive: Path, target: Path) -> Path:
    if not target.exists():
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(target)
    return target


def deploy(
    endpoint: str, artifacts: Artifacts, parameters: dict[str, str] | None = None, stack_name: str = STACK
) -> Deployment:
    wired = sorted(set(parameters or {}) & set(WIRED_PARAMETERS))
    if wired:
        raise ValueError(f"the local deploy sets {', '.join(wired)} itself")
    s3 = client("s3", endpoint)
    s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    for name, path in artifacts.files.items():
        s3.upload_file(str(path), ARTIFACT_BUCKET, f"{artifacts.prefix}/{name}")

    values = {"ArtifactBucket": ARTIFACT_BUCKET, "ArtifactPrefix": artifacts.prefix, **LOCAL_PARAMETERS}
    ssm = client("ssm", endpoint)
    key = signing_key.plan(ssm, stack_name, {})  # a new stack: a new key in slot a
    values.update(key.stack_parameters())
    values.update(parameters or {})
    cloudformation = client("cloudformation", endpoint)
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    stack = _wait(cloudformation, stack_name)
    outputs = outputs_of(stack)
    if key.new_private_pem is not None:
        name = signing_key.parameter_name(stack_name, key.slot)
        signing_key.put_private_key(ssm, name, key.new_private_pem, outputs.get("DataKeyArn"))
    resources = nested_resources(cloudformation, stack_name)

    unpacked = artifacts.directory / "unpacked"
    code_dirs = {
        physical: _unpack(
            artifacts.files[f"{logical.removesuffix('Function').lower()}.zip"], unpacked / physical
        )
        for logical, physical in resources.items()
        if logical.endswith("Function")
        and f"{logical.removesuffix('Function').lower()}.zip" in artifacts.files
    }
    layer_dir = _unpack(artifacts.files["layer.zip"], unpacked / "layer")
    return Deployment(stack_name, outputs, resources, code_dirs, layer_dir)


def _wait(cloudformation: Any, stack_name: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        stack: dict[str, Any] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if status.endswith("_COMPLETE") and "ROLLBACK" not in status:
            return stack
        if "FAILED" in status or "ROLLBACK" in status:
            events = cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
            failures = [
                f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
                for e in events
                if "FAILED" in e["ResourceStatus"]
            ]
            raise RuntimeError(f"stack {stack_name} is {status}: " + "; ".join(failures))
        if time.monotonic() > deadline:
            raise TimeoutError(f"stack {stack_name} still {status} after {timeout_s:.0f}s")
        time.sleep(0.2)
