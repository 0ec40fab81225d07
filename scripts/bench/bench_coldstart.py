"""Benchmark 2: cold start and memory. How long a fresh interpreter takes to import each handler, then
to make its first AWS call; and each function's peak memory on one invocation.

What runs is what Lambda runs: the artifacts `make package` builds for AWS (the layer with its
third-party wheels for the runtime's Python, its own pruned botocore included, and `.pyc` compiled by
that Python, the function zips), unzipped into Lambda's layout (task directory, then /opt/python, then
the runtime's SDK: boto3 and botocore at the versions of requirements/dev.txt, which the layer's
shadow), run by an interpreter of the runtime's version. Without one (see
intake_build.artifacts.find_python), it falls back to this venv and says so.

Import: the CPU time (user + system) of `python -c "import handler; os._exit(0)"` (cwd and sys.path[0]
= the function's code, the function's environment set) minus that of `python -c "os._exit(0)"`,
medians of interleaved rounds; CPU time, because on a shared machine the wall time also counts other
processes' turns (the wall figures are reported beside it). Both end with os._exit: a Lambda cold
start never tears its interpreter down, and the teardown of a loaded one (freeing every module) cost
about 40 ms of CPU that the bench used to count as import.
Floor: the same figure for a module that imports only what every consumer must (botocore's session,
powertools' Logger, Metrics and BatchProcessor): no consumer can import in less.
Heaviest imports: `python -X importtime`, each module's own time summed by top-level package (a
standard-library module counts for the package that imported it), so the figures do not overlap.
First AWS call: inside the same fresh process, after the import, the time to the first response of a
DynamoDB call through intake.aws (client creation included), against a moto server on a free port.
Memory: one upload through the API (POST /uploads), the bench's 12 MP JPEG put as the presigned POST
would, then validate, thumbnail, index and notify on their events, each function in a fresh
interpreter of the same layout; VmHWM after the import and after the invocation (the peak resident set
of the whole process, which is what Lambda's "Max Memory Used" reports; not ru_maxrss, which Linux
carries over from the parent across the exec).
"""

from __future__ import annotations

import json
import logging
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import ROOT, median, subprocess_env

FUNCTIONS_DIR = ROOT / "functions"
# The cold-start targets, CPU ms of the import over a bare interpreter.
CONSUMER_TARGET_MS, API_TARGET_MS, FIRST_CALL_TARGET_MS = 150.0, 200.0, 40.0
# The AWS SDK the Lambda runtime provides (the layer's own shadows it), pinned as requirements/dev.txt pins it.
RUNTIME_SDK = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")

# What every consumer imports, whatever it does: the floor of its import (see the docstring).
FLOOR = (
    "import botocore.session\n"
    "from aws_lambda_powertools import Logger, Metrics\n"
    "from aws_lambda_powertools.utilities.batch import BatchProcessor\n"
)
EXIT = "\nimport os; os._exit(0)"  # no teardown: a Lambda environment is frozen, then killed

# Runs in the fresh interpreter: import the handler, then the first AWS call.
PROBE = """
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
import handler
t1, c1 = time.perf_counter(), time.process_time()
from intake import aws
aws.dynamodb().list_tables(Limit=1)
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "first_call_ms": (t2 - t1) * 1000,
                  "first_call_cpu_ms": (c2 - c1) * 1000}))
"""

# Runs in the fresh interpreter: import the handler, then one invocation on the event from stdin.
INVOKE = """
import json, sys, uuid
import handler
class Context:
    function_name, function_version, memory_limit_in_mb = "intake-bench", "$LATEST", 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:intake-bench"
    aws_request_id, log_group_name, log_stream_name = str(uuid.uuid4()), "/aws/lambda/bench", "bench"
    def get_remaining_time_in_millis(self): return 30000
def hwm():  # VmHWM: this process's peak RSS (ru_maxrss would carry the parent's over the exec)
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
imported = hwm()
result = handler.handler(json.loads(sys.stdin.read()), Context())
peak = hwm()
print(json.dumps({"imported_mb": imported, "peak_mb": peak, "result": result}, default=str))
"""


@dataclass(frozen=True)
class Layout:
    """Where each function's code and its layers are, and the interpreter that runs them."""

    python: str
    task: Callable[[str], Path]  # the function's code directory (cwd and sys.path[0])
    path: tuple[str, ...]  # after it, in order (PYTHONPATH)
    label: str


def functions() -> list[str]:
    from intake_build.artifacts import FUNCTIONS

    return list(FUNCTIONS)


def function_env(endpoint: str) -> dict[str, str]:
    """What the template gives every function (names from docs/architecture.md), pointing at moto."""
    return subprocess_env(
        AWS_ENDPOINT_URL=endpoint,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        INDEX_TABLE="intake-index",
        IDEMPOTENCY_TABLE="intake-idempotency",
        USER_SETTINGS_TABLE="intake-user-settings",
        THUMBNAIL_BUCKET="intake-thumbnails",
        UPLOAD_BUCKET="intake-uploads",
        FINISHED_TOPIC_ARN="arn:aws:sns:us-east-1:123456789012:intake-finished",
        SENDER_EMAIL="intake@example.com",
        CDN_URL="https://d111111abcdef8.cloudfront.net",
        SIGNING_KEY_PAIR_ID="K2JCJMDEHXQW5F",
        SIGNING_KEY_PARAMETER="/intake/cdn-signing-key",
        POWERTOOLS_SERVICE_NAME="intake",
        POWERTOOLS_METRICS_NAMESPACE="Intake",
        LOG_LEVEL="WARNING",
        PYDANTIC_DISABLE_PLUGINS="__all__",  # as the templates set it
    )


# --- the layouts ----------------------------------------------------------------------------------


def venv_layout() -> Layout:
    return Layout(
        sys.executable, lambda name: FUNCTIONS_DIR / name, (), "this venv (no runtime Python found)"
    )


def _sdk_requirements(target: Path) -> Path:
    """RUNTIME_SDK's blocks (pin and hashes) from requirements/dev.txt."""
    blocks, keep = [], False
    for line in (ROOT / "requirements" / "dev.txt").read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            keep = line.split("==")[0] in RUNTIME_SDK
        if keep and not line.lstrip().startswith("#"):
            blocks.append(line)
    target.write_text("\n".join(blocks) + "\n")
    return target


def _install_sdk(directory: Path, python_version: str, python: str) -> None:
    requirements = _sdk_requirements(directory.parent / "sdk.txt")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    pip += ["--no-deps", "--require-hashes", "--only-binary=:all:", "--python-version", python_version]
    pip += ["--target", str(directory), "-r", str(requirements)]
    subprocess.run(pip, check=True, capture_output=True)
    compile_ = "import compileall, sys; sys.exit(not compileall.compile_dir(sys.argv[1], quiet=1, workers=0))"
    subprocess.run([python, "-c", compile_, str(directory)], check=True, capture_output=True)


def lambda_layout(directory: Path) -> Layout:
    """The AWS artifacts unzipped as Lambda unzips them, or this venv without a runtime Python."""
    from intake_build.artifacts import RUNTIME_PYTHON, build, find_python

    python = find_python(RUNTIME_PYTHON)
    if python is None:
        return venv_layout()
    artifacts = build(directory / "build", dependencies=True, python_version=RUNTIME_PYTHON, require_pyc=True)
    with zipfile.ZipFile(artifacts.files["layer.zip"]) as layer:
        layer.extractall(directory / "opt")
    for name in functions():
        with zipfile.ZipFile(artifacts.files[f"{name}.zip"]) as code:
            code.extractall(directory / "task" / name)
    _install_sdk(directory / "runtime", RUNTIME_PYTHON, python)
    return Layout(
        python,
        lambda name: directory / "task" / name,
        (str(directory / "opt" / "python"), str(directory / "runtime")),
        f"the AWS artifacts (layer .pyc by Python {RUNTIME_PYTHON}), {python}",
    )


def _env(layout: Layout, env: dict[str, str]) -> dict[str, str]:
    if not layout.path:
        return env
    return {**env, "PYTHONPATH": os.pathsep.join(layout.path), "PYTHONNOUSERSITE": "1"}


# --- measuring ------------------------------------------------------------------------------------


def _children_cpu_s() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _run_ms(
    args: list[str], cwd: str, env: dict[str, str], stdin: str | None = None
) -> tuple[float, float, str]:
    """(wall ms, CPU ms, stdout) of one fresh interpreter."""
    cpu, started = _children_cpu_s(), time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, check=False)
    wall, cpu = (time.perf_counter() - started) * 1000, (_children_cpu_s() - cpu) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed in {cwd}:\n{done.stderr[-2000:]}")
    return wall, cpu, done.stdout


def _python(layout: Layout, *args: str) -> list[str]:
    return [layout.python, *args, "-c"]


def _own_times(stderr: str) -> list[tuple[int, str, float]]:
    """(depth, module, own ms) of each `-X importtime` line, in the order printed (children first)."""
    rows = []
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \| ( *)(\S+)", line)
        if match:
            rows.append((len(match.group(2)) // 2, match.group(3), int(match.group(1)) / 1000))
    return rows


def by_package(stderr: str) -> dict[str, float]:
    """Own import times summed by top-level package; a standard-library module counts for the nearest
    package above it that imported it (asyncio for powertools, http.client for botocore...)."""
    totals: dict[str, float] = defaultdict(float)
    owners: list[str] = []  # the owner at each depth on the way down
    for depth, module, own_ms in reversed(_own_times(stderr)):  # parents before their children
        del owners[depth:]
        package = module.split(".")[0]
        stdlib = package in sys.stdlib_module_names or package.startswith("_")
        owner = (owners[-1] if owners else "stdlib") if stdlib else package
        owners.append(owner)
        totals[owner] += own_ms
    return dict(totals)


def heaviest_imports(
    name: str, env: dict[str, str], layout: Layout | None = None, top: int = 3
) -> list[tuple[str, float]]:
    """Top-level packages by import time (`python -X importtime`: own times, with the standard library
    they pull in), largest first. The figures do not overlap: together they are the whole import."""
    layout = layout or venv_layout()
    done = subprocess.run(
        [*_python(layout, "-X", "importtime"), "import sys; sys.path.insert(0, '.'); import handler"],
        cwd=str(layout.task(name)),
        env=_env(layout, env),
        capture_output=True,
        text=True,
        check=False,
    )
    totals = by_package(done.stderr)
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]


def target_ms(name: str) -> float:
    return API_TARGET_MS if name == "api" else CONSUMER_TARGET_MS


def _import_rounds(layout: Layout, env: dict[str, str], names: list[str], rounds: int) -> dict[str, Any]:
    """Interleaved rounds: a bare interpreter, then each handler, rotating the order every round."""
    samples: dict[str, list[Any]] = defaultdict(list)
    env = _env(layout, env)
    for r in range(rounds):
        wall, cpu, _ = _run_ms([*_python(layout), EXIT], str(ROOT), env)
        samples["bare"].append(wall)
        samples["bare_cpu"].append(cpu)
        _, cpu, _ = _run_ms([*_python(layout), FLOOR + EXIT], str(layout.task(names[0])), env)
        samples["floor_cpu"].append(cpu)
        for name in names[r % len(names) :] + names[: r % len(names)]:
            cwd = str(layout.task(name))
            wall, cpu, _ = _run_ms(
                [*_python(layout), "import sys; sys.path.insert(0, '.'); import handler" + EXIT], cwd, env
            )
            samples[f"{name}:wall"].append(wall)
            samples[f"{name}:cpu"].append(cpu)
            _, _, out = _run_ms([*_python(layout), "import sys; sys.path.insert(0, '.')\n" + PROBE], cwd, env)
            samples[f"{name}:probe"].append(json.loads(out.strip().splitlines()[-1]))
    return samples


def run(rounds: int = 7, names: list[str] | None = None, layout: Layout | None = None) -> dict[str, Any]:
    """`layout`: None builds the AWS artifacts (lambda_layout); venv_layout() runs this venv's modules."""
    from moto.server import ThreadedMotoServer

    from localcloud.server import free_port

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="intake-coldstart-") as tmp:
            layout = layout or lambda_layout(Path(tmp))
            env = function_env(f"http://127.0.0.1:{port}")
            names = names or functions()
            samples = _import_rounds(layout, env, names, rounds)
            memory = invocation_memory(layout, env, names)
            return _results(layout, env, names, rounds, samples, memory)
    finally:
        server.stop()


def _results(
    layout: Layout,
    env: dict[str, str],
    names: list[str],
    rounds: int,
    samples: dict[str, list[Any]],
    memory: dict[str, dict[str, float]],
) -> dict[str, Any]:
    bare_ms, bare_cpu_ms = median(samples["bare"]), median(samples["bare_cpu"])
    results: dict[str, Any] = {
        "rounds": rounds,
        "layout": layout.label,
        "bare_interpreter_ms": bare_ms,
        "bare_interpreter_cpu_ms": bare_cpu_ms,
        "consumer_floor_ms": median(samples["floor_cpu"]) - bare_cpu_ms,
        "targets_ms": {
            "consumer": CONSUMER_TARGET_MS,
            "api": API_TARGET_MS,
            "first_aws_call": FIRST_CALL_TARGET_MS,
        },
        "functions": {},
    }
    for name in names:
        # CPU time is the figure: on a shared machine, wall time also counts other processes' turns.
        import_ms = median(samples[f"{name}:cpu"]) - bare_cpu_ms
        probes = samples[f"{name}:probe"]
        first_call_cpu_ms = median([p["first_call_cpu_ms"] for p in probes])
        results["functions"][name] = {
            "import_ms": import_ms,
            "import_wall_ms": median(samples[f"{name}:wall"]) - bare_ms,
            "in_process_import_ms": median([p["import_ms"] for p in probes]),
            "first_aws_call_ms": median([p["first_call_ms"] for p in probes]),
            "first_aws_call_cpu_ms": first_call_cpu_ms,
            "heaviest_imports_ms": heaviest_imports(name, env, layout),
            "target_ms": target_ms(name),
            "target_met": import_ms <= target_ms(name),
            "first_call_target_met": first_call_cpu_ms <= FIRST_CALL_TARGET_MS,
            **memory.get(name, {}),
        }
    return results


# --- memory: one upload through every function ----------------------------------------------------


def _invoke(layout: Layout, env: dict[str, str], name: str, event: dict[str, Any]) -> dict[str, Any]:
    cwd = str(layout.task(name))
    code = "import sys; sys.path.insert(0, '.')\n" + INVOKE
    _, _, out = _run_ms([*_python(layout), code], cwd, _env(layout, env), stdin=json.dumps(event))
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def invocation_memory(layout: Layout, env: dict[str, str], names: list[str]) -> dict[str, dict[str, float]]:
    """Peak RSS (MB) of each function's process after its import and after one invocation."""
    from bench import memory_events

    measured: dict[str, dict[str, float]] = {}
    for name, event in memory_events.upload_through_the_pipeline(
        env, lambda n, e: _invoke(layout, env, n, e)
    ):
        if name in names:
            measured[name] = {"imported_rss_mb": event["imported_mb"], "peak_rss_mb": event["peak_mb"]}
    return measured


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    print(json.dumps(run(), indent=2))
