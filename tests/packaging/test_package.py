"""The built artifacts, unpacked as Lambda lays them out, run in a clean interpreter against moto.

The layer is built exactly as for AWS (manylinux wheels through pip, stripped, `.pyc` compiled), but for
the host's Python and architecture: the `.so` files of a python3.12 layer cannot load into this 3.11
interpreter. The stack is deployed with intake_build.deploy (the `make deploy` code) into the local
cloud's emulator on a free port; no pollers run, so each function gets the very messages S3 -> SNS -> SQS
delivered, in the event shape Lambda builds.

The clean interpreter is `python -I -S`: no site-packages, no PYTHONPATH, no cwd. Its sys.path is what
Lambda's is: /var/task, /opt/python, then /var/runtime, which in AWS holds the runtime's boto3 and
botocore. Here "runtime" holds links to this venv's boto3, botocore and their dependencies and nothing
else; the layer ships its own SDK, which must shadow them (a module loaded from "runtime" fails).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import platform
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.ses.models import ses_backends

from intake.aws import SERVICES
from intake.keys import UploadKey
from intake.metadata import UploadMetadata, encode_metadata
from intake.records import Records
from intake_build import deploy
from intake_build.artifacts import FUNCTIONS, HOST_PYTHON, PILLOW_UNUSED_MODULES, Artifacts, build
from intake_tools.session import Target
from intake_tools.stack import stack_resources
from localcloud.esm import build_sqs_event
from localcloud.server import Emulator, free_port
from tests.support.images import jpeg

REGION = "us-east-1"
ARCHITECTURE = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[
    platform.machine().lower()
]
# What Lambda's Python runtime ships in /var/runtime besides awslambdaric.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
STACK = "intake-packaging"

# Runs inside the clean interpreter: Lambda's sys.path, import the handler (the cold start), one event.
RUNNER = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
import handler
class Context:
    function_name = "packaging"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:packaging"
    log_group_name = "/aws/lambda/packaging"
    log_stream_name = "stream"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    def get_remaining_time_in_millis(self):
        return 30000
with open(sys.argv[2]) as f:
    result = handler.handler(json.load(f), Context())
files = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())} - {""})
print("RESULT " + json.dumps({"result": result, "files": files, "path": sys.path}))
"""


@dataclass(frozen=True)
class Lambda:
    """The unpacked artifacts: one /var/task per function, /opt and /var/runtime."""

    root: Path
    artifacts: Artifacts

    def task(self, name: str) -> Path:
        return self.root / "var" / "task" / name

    @property
    def opt(self) -> Path:
        return self.root / "opt"

    @property
    def runtime(self) -> Path:
        return self.root / "var" / "runtime"

    def sys_path(self, name: str) -> list[str]:
        return [str(self.task(name)), str(self.opt / "python"), str(self.runtime)]


def _link_runtime(target: Path) -> None:
    target.mkdir(parents=True)
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        assert spec and spec.origin, name
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (target / source.name).symlink_to(source)


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Lambda:
    out = tmp_path_factory.mktemp("build")
    artifacts = build(
        out, dependencies=True, architecture=ARCHITECTURE, python_version=HOST_PYTHON, require_pyc=True
    )
    lam = Lambda(tmp_path_factory.mktemp("lambda"), artifacts)
    with zipfile.ZipFile(artifacts.files["layer.zip"]) as layer:
        layer.extractall(lam.opt)
    for name in FUNCTIONS:
        with zipfile.ZipFile(artifacts.files[f"{name}.zip"]) as code:
            code.extractall(lam.task(name))
    _link_runtime(lam.runtime)
    return lam


@dataclass
class Stack:
    endpoint: str
    resources: dict[str, str]  # logical id -> physical id
    functions: dict[str, dict[str, str]]  # function name -> its deployed environment

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


@pytest.fixture(scope="module")
def stack(unpacked: Lambda) -> Iterator[Stack]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    emulator = Emulator(port=free_port())
    emulator.start()
    try:
        target = Target.local(emulator.endpoint)
        bucket = deploy.default_bucket(target)
        deploy.ensure_bucket(target, bucket)
        template_url = deploy.upload(target, bucket, unpacked.artifacts)
        parameters = {
            "ArtifactBucket": bucket,
            "ArtifactPrefix": unpacked.artifacts.prefix,
            "LambdaArchitecture": ARCHITECTURE,
            # moto's state is per process: stay clear of the e2e session cloud's identity and mail.
            "SenderEmail": "packaging@example.com",
            "WebOrigin": "http://127.0.0.1:3000",  # required: the template has no default
        }
        deployed = deploy.deploy_with_signing_key(  # make deploy's path: the signing key too
            target, stack=STACK, template_url=template_url, parameters=parameters, yes=True, poll_s=0.2
        )
        assert deployed is not None
        resources = stack_resources(target, STACK)  # nested consumer stacks' too (ValidateFunction)
        lambda_ = target.client("lambda")
        functions = {
            name: lambda_.get_function_configuration(FunctionName=resources[f"{name.title()}Function"])[
                "Environment"
            ]["Variables"]
            for name in FUNCTIONS
        }
        yield Stack(emulator.endpoint, resources, functions)
    finally:
        emulator.stop()


def invoke(lam: Lambda, stack: Stack, name: str, event: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """Import functions/<name>'s handler in a clean interpreter and run `event` through it."""
    event_file = tmp / f"{name}-event.json"
    event_file.write_text(json.dumps(event))
    env = {
        **stack.functions[name],
        "AWS_ENDPOINT_URL": stack.endpoint,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "LAMBDA_TASK_ROOT": str(lam.task(name)),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", RUNNER, json.dumps(lam.sys_path(name)), str(event_file)],
        cwd=lam.task(name),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return dict(json.loads(line.removeprefix("RESULT ")))


def receive_event(stack: Stack, consumer: str) -> dict[str, Any]:
    """The messages waiting on <consumer>Queue, as the event source mapping would hand them over."""
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=stack.resources[f"{consumer}Queue"].rsplit("/", 1)[-1])["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    messages = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=5,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    assert messages, f"nothing on {consumer}Queue"
    return build_sqs_event(messages, arn, REGION)


def test_layer_is_stripped_and_compiled_for_its_python(unpacked: Lambda) -> None:
    python = unpacked.opt / "python"
    assert (python / "intake" / "records.py").is_file()
    for package in ("aws_lambda_powertools", "pydantic", "pydantic_core", "PIL"):
        assert (python / package).is_dir(), package
    everything = list(python.rglob("*"))
    assert not [p for p in everything if p.name in ("numpy", "tests") and p.is_dir()]
    assert not [p for p in everything if p.suffix == ".pyi" or p.name == "RECORD"]
    assert not (python / "bin").exists()
    assert not [m for m in PILLOW_UNUSED_MODULES if list((python / "PIL").glob(f"{m}.*"))]
    tag = sys.implementation.cache_tag
    pycs = list(python.rglob("*.pyc"))
    assert pycs and all(tag in p.name for p in pycs), "a .pyc for another Python"
    # Lambda loads a .pyc only if its magic number is this Python's; flags 1 = unchecked hash-based.
    header = importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little")
    assert all(p.read_bytes()[:8] == header for p in pycs)
    uncompiled = [
        p for p in python.rglob("*.py") if not (p.parent / "__pycache__" / f"{p.stem}.{tag}.pyc").is_file()
    ]
    assert not uncompiled
    assert all(list(unpacked.task(n).glob(f"__pycache__/handler.{tag}.pyc")) for n in FUNCTIONS)


def on_the_layer(
    lam: Lambda, name: str, code: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`code` in the clean interpreter with function `name`'s sys.path (argv[1]), then `args`."""
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, json.dumps(lam.sys_path(name)), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


# Runs in the clean interpreter on the layer: a client for each service intake.aws may call.
CLIENTS = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
import botocore
from intake import aws
for service in aws.SERVICES:
    aws._client(service)
try:
    aws._session().create_client("sqs", region_name="us-east-1")
except Exception as exc:
    print("sqs:", type(exc).__name__)
print(botocore.__file__)
"""


def test_the_layer_ships_its_botocore_with_data_for_our_services_alone(
    unpacked: Lambda, tmp_path: Path
) -> None:
    data = unpacked.opt / "python" / "botocore" / "data"
    assert sorted(p.name for p in data.iterdir() if p.is_dir()) == sorted(SERVICES)
    endpoints = json.loads((data / "endpoints.json").read_text())
    aws = next(p for p in endpoints["partitions"] if p["partition"] == "aws")
    assert set(aws["services"]) == {"dynamodb", "s3", "email", "sns", "ssm", "sts"}
    assert len(aws["regions"]) > 20  # every region stays: only other services go
    env = {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    done = on_the_layer(unpacked, "api", CLIENTS, cwd=tmp_path, env=env)
    # The layer's botocore shadows the runtime's, and knows no other service.
    assert done.stdout.splitlines() == ["sqs: UnknownServiceError", str(data.parent / "__init__.py")]


# Runs in the clean interpreter on the layer alone: both decoders the layer must carry.
DECODES = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
from intake.thumbnails import make_thumbnails
for name in sys.argv[2:]:
    with open(name, "rb") as f:
        print(name, [(t.width, t.height) for t in make_thumbnails(f.read(), 10**7)])
"""


def test_the_layer_decodes_heic_and_avif(unpacked: Lambda, tmp_path: Path) -> None:
    from tests.support import heif

    files = {"rotated.heic": heif.rotated("HEIF"), "alpha.avif": heif.with_alpha("AVIF")}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    done = on_the_layer(unpacked, "thumbnail", DECODES, *files, cwd=tmp_path)
    assert done.stdout.splitlines() == [
        "rotated.heic [(200, 400), (200, 400), (64, 128)]",
        "alpha.avif [(300, 200), (300, 200), (128, 85)]",
    ]


def test_every_handler_runs_one_event_in_the_lambda_layout(
    unpacked: Lambda, stack: Stack, tmp_path: Path
) -> None:
    owner, upload_id = "packager", uuid.uuid4().hex
    email = f"owner-{upload_id[:8]}@example.com"
    key = UploadKey(owner=owner, upload_id=upload_id, filename="photo.jpg")
    body = jpeg(1600, 1200)
    records = Records(stack.resources["IndexTable"], client=stack.client("dynamodb"))
    records.create_pending(key, owner_email=email, content_type="image/jpeg", size=len(body))
    stack.client("s3").put_object(
        Bucket=stack.resources["UploadBucket"],
        Key=key.key,
        Body=body,
        ContentType="image/jpeg",
        Metadata=encode_metadata(UploadMetadata(owner=owner, upload_id=upload_id, filename=key.filename)),
    )

    for name in ("validate", "thumbnail", "index"):
        ran = invoke(unpacked, stack, name, receive_event(stack, name.title()), tmp_path)
        assert ran["result"] == {"batchItemFailures": []}, name
        # Nothing came from the venv: only the task, the layer, the runtime links and the stdlib.
        allowed = (*ran["path"][:3], sys.base_prefix, os.path.realpath(sys.base_prefix))
        strays = [f for f in ran["files"] if not f.startswith(allowed)]
        assert not strays, strays
        assert not [f for f in ran["files"] if f.startswith(str(unpacked.runtime))], "the layer has the SDK"
        assert any(f.startswith(str(unpacked.opt)) and "pydantic_core" in f for f in ran["files"])

    record = records.get(upload_id)
    assert record and record.status == "ready", record
    thumbs = stack.client("s3").list_objects_v2(Bucket=stack.resources["ThumbnailBucket"])
    assert len([o for o in thumbs.get("Contents", []) if upload_id in o["Key"]]) == 3

    # The last stage published upload.finished: FinishedTopic -> NotifyQueue -> notify -> SES.
    ran = invoke(unpacked, stack, "notify", receive_event(stack, "Notify"), tmp_path)
    assert ran["result"] == {"batchItemFailures": []}
    # The emulator runs in this process: read SES's sent mail from its backend.
    sent = ses_backends["123456789012"][REGION].sent_messages
    mine = [m for m in sent if m.destinations["ToAddresses"] == [email]]
    assert len(mine) == 1 and upload_id in mine[0].body
    record = records.get(upload_id)
    assert record and record.notified and record.notified.status == "ready"

    # The API function: the owner lists their uploads (a REST proxy event past the Cognito authorizer).
    ran = invoke(unpacked, stack, "api", rest_event("GET", "/uploads", sub=owner), tmp_path)
    assert ran["result"]["statusCode"] == 200, ran["result"]
    assert upload_id in [item["upload_id"] for item in json.loads(ran["result"]["body"])["items"]]


def test_every_function_is_exercised() -> None:
    assert set(FUNCTIONS) == {"validate", "thumbnail", "index", "notify", "api"}, "add the new one above"


def rest_event(method: str, path: str, *, sub: str) -> dict[str, Any]:
    """What API Gateway (REST, Lambda proxy) sends once its Cognito authorizer accepted the token."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Authorization": "token", "Origin": "http://127.0.0.1:3000"},
        "multiValueHeaders": {"Authorization": ["token"], "Origin": ["http://127.0.0.1:3000"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "apiId": "packaging",
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": {"claims": {"sub": sub, "email": "owner@example.com", "email_verified": "true"}},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def test_make_deploy_stores_the_signing_key_as_a_secure_string(stack: Stack) -> None:
    from intake_tools.signing_key import public_key_pem

    ssm, cloudfront = stack.client("ssm"), stack.client("cloudfront")
    api = stack.functions["api"]
    parameter = ssm.get_parameter(Name=api["SIGNING_KEY_PARAMETER"], WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString"
    assert api["SIGNING_KEY_PARAMETER"] == f"/{STACK}/cloudfront/signing-key-a"
    encoded = cloudfront.get_public_key(Id=api["SIGNING_KEY_PAIR_ID"])["PublicKey"]["PublicKeyConfig"]
    assert encoded["EncodedKey"].strip() == public_key_pem(parameter["Value"]).strip()
