"""`make up ARGS="--param AllowedContentTypes=...,image/heic"`: the local cloud deploys with the value.

The cloud runs in a process of its own: moto's state is per process, and this session's cloud
(tests/e2e/conftest.py) already holds the stack `intake`. The child parses the command line as
`make up` does (demo.__main__.parse_arguments), starts a LocalCloud on free ports with the parameters
it gave, and reports what the stack and a function were deployed with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEIC = "image/jpeg,image/png,image/webp,image/gif,image/heic,image/heif,image/avif"

CHILD = """
import json, sys
from demo.__main__ import parse_arguments
from intake_build.artifacts import build
from localcloud.cloud import LocalCloud
from localcloud.server import free_port

_, parameters = parse_arguments(sys.argv[1:])
with LocalCloud(build(), port=free_port(), parameters=parameters) as cloud:
    stack = cloud.client("cloudformation").describe_stacks(StackName=cloud.deployment.stack_name)["Stacks"][0]
    function = cloud.deployment.resources["ValidateFunction"]
    config = cloud.client("lambda").get_function_configuration(FunctionName=function)
    print("RESULT " + json.dumps({
        "parameters": {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]},
        "environment": config["Environment"]["Variables"],
        "cdn_url": cloud.cdn_url,
    }))
"""


def test_make_up_params_reach_the_deployed_stack_and_functions() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(["scripts", "shared", os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("AWS_ENDPOINT_URL", None)
    argv = ["up", "--param", f"AllowedContentTypes={HEIC}", "--param", "LogRetentionDays=7"]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    assert result["parameters"]["AllowedContentTypes"] == HEIC
    assert result["parameters"]["LogRetentionDays"] == "7"
    assert result["environment"]["ALLOWED_CONTENT_TYPES"] == HEIC
    # The local defaults stay under what is given, and the local wiring is the cloud's own.
    assert result["parameters"]["FunctionTimeout"] == "10"
    assert result["parameters"]["CdnUrlOverride"] == result["cdn_url"]
