"""`python -m demo.cycle` (`make cycle`): start and stop `make up` again and again while a reader polls
DescribeStacks throughout, as a test harness, a second terminal or `intake ops status` would.

Each cycle runs `python -m demo up` as a process of its own, on the ports `make up` uses, and:

- calls DescribeStacks (the root by name, and every stack) every 0.2 s from the moment it starts;
- once it is up, checks what CloudFormation answers: DescribeStacks lists exactly the root and its
  nested stacks, every one `*_COMPLETE`; ListStackResources has no row without a logical id; there
  are as many customer-managed KMS keys as the templates declare;
- stops it with SIGTERM or SIGINT (in turn), and checks that it exits promptly and frees its ports.

It prints one line per cycle and a summary (`--json`: one JSON line too), and exits 0 only if every
cycle was clean.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from intake_tools.session import Target
from localcloud.api import API_PORT
from localcloud.cdn import CDN_PORT
from localcloud.deploy import STACK, TEMPLATE
from localcloud.server import HOST, PORT, port_free

PORTS = (PORT, API_PORT, CDN_PORT)
SCRIPTS = Path(__file__).resolve().parents[1]
READY_LINE = "Ctrl-C stops it."
SIGNALS = (signal.SIGTERM, signal.SIGINT)
POLL_INTERVAL_S = 0.2


@dataclass
class Cycle:
    number: int
    signal: str
    started: bool = False
    start_s: float = 0.0
    exited: bool = False
    exit_code: int | None = None
    stop_s: float = 0.0
    ports_free: bool = False
    polls: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.started and self.exited and self.exit_code == 0 and self.ports_free and not self.problems


class Poller:
    """DescribeStacks, named and unnamed, every 0.2 s until stopped; what went wrong is kept."""

    def __init__(self, endpoint: str) -> None:
        config = Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=60)
        self.cloudformation = Target.local(endpoint).client("cloudformation", config=config)
        self.calls = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="describe-stacks-poller", daemon=True)

    def start(self) -> Poller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(70)

    def _run(self) -> None:
        while not self._stop.wait(POLL_INTERVAL_S):
            for kwargs in ({"StackName": STACK}, {}):
                try:
                    self.cloudformation.describe_stacks(**kwargs)
                    self.calls += 1
                except EndpointConnectionError:
                    pass  # not listening yet
                except ClientError as exc:
                    # Before CreateStack the root does not exist yet: AWS's own answer, not a problem.
                    if "does not exist" not in str(exc):
                        self.errors.append(f"DescribeStacks{kwargs or ''}: {exc}")
                except Exception as exc:  # an answer botocore cannot parse, for one
                    self.errors.append(f"DescribeStacks{kwargs or ''}: {type(exc).__name__}: {exc}")


def declared_keys() -> int:
    """The customer-managed KMS keys the template declares (its nested stacks declare none)."""
    return TEMPLATE.read_text().count("Type: AWS::KMS::Key\n")


def check_stacks(endpoint: str) -> list[str]:
    """What CloudFormation and KMS answer once `make up` says it is up, against what the template says."""
    target = Target.local(endpoint)
    cloudformation = target.client("cloudformation")
    problems: list[str] = []
    rows = [
        row
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=STACK)
        for row in page["StackResourceSummaries"]
    ]
    blank = [row for row in rows if not row.get("LogicalResourceId") or not row.get("ResourceType")]
    if blank:
        problems.append(f"ListStackResources({STACK}) has {len(blank)} row(s) without a logical id or type")
    nested = {
        row["PhysicalResourceId"] for row in rows if row["ResourceType"] == "AWS::CloudFormation::Stack"
    }
    stacks = cloudformation.describe_stacks()["Stacks"]
    names = sorted(stack["StackName"] for stack in stacks)
    if names != sorted({STACK} | nested):
        problems.append(f"DescribeStacks lists {names}, the template makes {sorted({STACK} | nested)}")
    for stack in stacks:
        if not stack["StackStatus"].endswith("_COMPLETE") or "ROLLBACK" in stack["StackStatus"]:
            problems.append(f"stack {stack['StackName']} is {stack['StackStatus']}")
    kms = target.client("kms")
    keys = [
        key["KeyId"]
        for page in kms.get_paginator("list_keys").paginate()
        for key in page["Keys"]
        if kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"].get("KeyManager") == "CUSTOMER"
    ]
    if len(keys) != declared_keys():
        problems.append(f"{len(keys)} customer-managed KMS keys, the template declares {declared_keys()}")
    return problems


class Output:
    """Copies the process's output to `log` on a thread of its own, noting when READY_LINE comes."""

    def __init__(self, process: subprocess.Popen[str], log: IO[str]) -> None:
        self.process, self.log = process, log
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="demo-up-output", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.write(line)
            self.log.flush()
            if line.strip() == READY_LINE:
                self.ready.set()

    def wait_ready(self, timeout_s: float) -> bool:
        """True once it is up; False if the process ends or `timeout_s` passes first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.process.poll() is None:
            if self.ready.wait(0.5):
                return True
        return self.ready.is_set()

    def join(self) -> None:
        """The last lines, once the process has ended (bounded, as the process has closed its end)."""
        self._thread.join(10)


def environment() -> dict[str, str]:
    """`make up`'s environment: this one, with the tooling in scripts/ and shared/ importable."""
    paths = [str(SCRIPTS), str(SCRIPTS.parent / "shared"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), "PYTHONUNBUFFERED": "1"}


def ports_free(timeout_s: float) -> bool:
    """Whether `make up`'s ports are all free, waiting up to `timeout_s` for them to be."""
    deadline = time.monotonic() + timeout_s
    while True:
        if all(port_free(HOST, port) for port in PORTS):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def run_cycle(
    number: int,
    signum: signal.Signals,
    log: IO[str],
    *,
    start_timeout_s: float = 300,
    stop_timeout_s: float = 60,
) -> Cycle:
    cycle = Cycle(number, signum.name)
    endpoint = f"http://{HOST}:{PORT}"
    began = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "demo", "up"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment(),
    )
    output = Output(process, log)
    poller = Poller(endpoint).start()
    try:
        cycle.started = output.wait_ready(start_timeout_s)
        cycle.start_s = time.monotonic() - began
        poller.stop()
        cycle.polls = poller.calls
        cycle.problems += poller.errors[:5]
        if cycle.started:
            try:
                cycle.problems += check_stacks(endpoint)
            except Exception as exc:  # each is what the cycle reports
                cycle.problems.append(f"reading the stacks: {type(exc).__name__}: {exc}")
        else:
            cycle.problems.append(f"not up after {cycle.start_s:.0f}s (exit code {process.poll()})")
    finally:
        poller.stop()
        stopping = time.monotonic()
        if process.poll() is None:
            process.send_signal(signum)
        try:
            cycle.exit_code = process.wait(stop_timeout_s)
            cycle.exited = True
        except subprocess.TimeoutExpired:
            cycle.problems.append(f"still running {stop_timeout_s:.0f}s after {signum.name}: killed")
            process.kill()
            process.wait()
        cycle.stop_s = time.monotonic() - stopping
        output.join()
        cycle.ports_free = ports_free(10)
    return cycle


def run(
    cycles: int, log: IO[str], *, start_timeout_s: float = 300, stop_timeout_s: float = 60
) -> list[Cycle]:
    results = []
    for number in range(1, cycles + 1):
        if not ports_free(10):
            raise RuntimeError(
                f"ports {PORTS} on {HOST} are in use: is a local cloud running? (stop it first)"
            )
        result = run_cycle(
            number,
            SIGNALS[(number - 1) % len(SIGNALS)],
            log,
            start_timeout_s=start_timeout_s,
            stop_timeout_s=stop_timeout_s,
        )
        results.append(result)
        line = (
            f"cycle {number:>3} {'ok ' if result.ok else 'BAD'} start {result.start_s:5.1f}s"
            f"  {result.signal:7} exit {result.exit_code} in {result.stop_s:4.1f}s"
            f"  ports {'free' if result.ports_free else 'HELD'}  polls {result.polls}"
        )
        print(line, flush=True)
        for problem in result.problems:
            print(f"      {' '.join(problem.split())[:300]}", flush=True)
    return results


def summary(results: Sequence[Cycle]) -> dict[str, Any]:
    started = [r for r in results if r.started]
    return {
        "cycles": len(results),
        "ok": sum(r.ok for r in results),
        "started": len(started),
        "exited": sum(r.exited and r.exit_code == 0 for r in results),
        "ports_free": sum(r.ports_free for r in results),
        "mean_start_s": round(sum(r.start_s for r in started) / len(started), 1) if started else None,
        "max_stop_s": round(max((r.stop_s for r in results), default=0.0), 1),
        "mean_cycle_s": round(sum(r.start_s + r.stop_s for r in results) / len(results), 1)
        if results
        else None,
        "describe_stacks_calls": sum(r.polls for r in results),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="demo.cycle", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--log", type=Path, default=Path("build/cycle.log"), help="`make up`'s output")
    parser.add_argument("--json", action="store_true", help="also print the summary as one JSON line")
    args = parser.parse_args(argv)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    with args.log.open("w") as log:
        results = run(args.cycles, log)
    report = summary(results)
    print(
        f"{report['ok']}/{report['cycles']} clean: {report['started']} started, {report['exited']} exited 0,"
        f" ports free after {report['ports_free']}; start {report['mean_start_s']}s on average,"
        f" stop {report['max_stop_s']}s at most, {report['mean_cycle_s']}s per cycle;"
        f" {report['describe_stacks_calls']} DescribeStacks calls (log: {args.log})"
    )
    if args.json:
        print(json.dumps({**report, "results": [asdict(r) for r in results]}))
    return 0 if report["ok"] == report["cycles"] else 1


if __name__ == "__main__":
    sys.exit(main())
