"""Benchmark 2: cold start. How long a fresh interpreter takes to import each handler, and then to make
its first AWS call.

Import: the CPU time (user + system) of `python -c "import handler"` (cwd and sys.path[0] =
functions/<name>, the function's environment set) minus that of `python -c pass`, medians of
interleaved rounds; CPU time, because on a shared machine the wall time also counts other processes'
turns (the wall figures are reported beside it).
First AWS call: inside the same fresh process, after the import, the time to the first response of a
DynamoDB call through intake.aws (client creation included), against a moto server on a free port.
Modules come from this venv, with their .pyc, as they come from the layer's .pyc on Lambda.
"""

from __future__ import annotations

import json
import logging
import os
import re
import resource
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any

from bench.common import ROOT, median, subprocess_env

FUNCTIONS_DIR = ROOT / "functions"

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
        THUMBNAIL_BUCKET="intake-thumbnails",
        UPLOAD_BUCKET="intake-uploads",
        FINISHED_TOPIC_ARN="arn:aws:sns:us-east-1:123456789012:intake-finished",
        SENDER_EMAIL="intake@example.com",
        CDN_URL="https://d111111abcdef8.cloudfront.net",
        SIGNING_KEY_PAIR_ID="K2JCJMDEHXQW5F",
        SIGNING_KEY_PARAMETER="/intake/cdn-signing-key",
        POWERTOOLS_SERVICE_NAME="intake",
        POWERTOOLS_METRICS_NAMESPACE="Intake",
        LOG_LEVEL="INFO",
    )


def _children_cpu_s() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _run_ms(args: list[str], cwd: str, env: dict[str, str]) -> tuple[float, float, str]:
    """(wall ms, CPU ms, stdout) of one fresh interpreter."""
    cpu, started = _children_cpu_s(), time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall, cpu = (time.perf_counter() - started) * 1000, (_children_cpu_s() - cpu) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed in {cwd}:\n{done.stderr[-2000:]}")
    return wall, cpu, done.stdout


def heaviest_imports(name: str, env: dict[str, str], top: int = 4) -> list[tuple[str, float]]:
    """Top-level packages by cumulative import time (python -X importtime), largest first."""
    cwd = str(FUNCTIONS_DIR / name)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import sys; sys.path.insert(0, '.'); import handler"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    totals: dict[str, float] = defaultdict(float)
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
        if match and "." not in match.group(3) and match.group(3) != "handler":
            totals[match.group(3)] = max(totals[match.group(3)], int(match.group(1)) / 1000)
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]


def run(rounds: int = 7, names: list[str] | None = None) -> dict[str, Any]:
    from moto.server import ThreadedMotoServer

    from localcloud.server import free_port

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        env = function_env(f"http://127.0.0.1:{port}")
        names = names or functions()
        bare: list[float] = []
        bare_cpu: list[float] = []
        walls: dict[str, list[float]] = {n: [] for n in names}
        cpus: dict[str, list[float]] = {n: [] for n in names}
        probes: dict[str, list[dict[str, float]]] = {n: [] for n in names}
        for r in range(rounds):
            # Interleaved: a bare interpreter, then each handler, rotating the order every round.
            wall, cpu, _ = _run_ms([sys.executable, "-c", "pass"], str(ROOT), env)
            bare.append(wall)
            bare_cpu.append(cpu)
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                wall, cpu, _ = _run_ms(
                    [sys.executable, "-c", "import sys; sys.path.insert(0, '.'); import handler"],
                    str(FUNCTIONS_DIR / name),
                    env,
                )
                walls[name].append(wall)
                cpus[name].append(cpu)
                _, _, out = _run_ms(
                    [sys.executable, "-c", "import sys; sys.path.insert(0, '.')\n" + PROBE],
                    str(FUNCTIONS_DIR / name),
                    env,
                )
                probes[name].append(json.loads(out.strip().splitlines()[-1]))
        bare_ms, bare_cpu_ms = median(bare), median(bare_cpu)
        results: dict[str, Any] = {
            "rounds": rounds,
            "bare_interpreter_ms": bare_ms,
            "bare_interpreter_cpu_ms": bare_cpu_ms,
            "functions": {},
        }
        for name in names:
            # CPU time is the figure: on a shared machine, wall time also counts other processes' turns.
            import_ms = median(cpus[name]) - bare_cpu_ms
            results["functions"][name] = {
                "import_ms": import_ms,
                "import_wall_ms": median(walls[name]) - bare_ms,
                "in_process_import_ms": median([p["import_ms"] for p in probes[name]]),
                "first_aws_call_ms": median([p["first_call_ms"] for p in probes[name]]),
                "first_aws_call_cpu_ms": median([p["first_call_cpu_ms"] for p in probes[name]]),
                "heaviest_imports_ms": heaviest_imports(name, env),
                "target_met": import_ms <= 200,
            }
        return results
    finally:
        server.stop()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    print(json.dumps(run(), indent=2))
