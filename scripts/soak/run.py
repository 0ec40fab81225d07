"""One soak: a local cloud of its own (free ports, short timeouts so redeliveries come within
seconds), faults armed, N uploads pushed through the API at a set concurrency, a wait until the
pipeline is quiet, then the ledger from the emulator's state."""

from __future__ import annotations

import logging
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from intake_build.artifacts import build
from localcloud import users
from localcloud.cloud import LocalCloud
from localcloud.faults import FaultPlan, Rates
from localcloud.faults import poison as poisons
from localcloud.faults.plan import set_concurrency
from localcloud.lambda_runtime import FunctionSpec, InvokeResult
from localcloud.server import free_port

from . import state
from .client import Client, sign_in_api
from .images import write_samples
from .ledger import Ledger, reconcile
from .report import as_json

SOAK_EMAIL = "soak@example.com"
SOAK_PASSWORD = "Intake-soak-2026!"  # meets Cognito's default password policy
# Every client is 127.0.0.1: WAF's rate-based rules would count the whole soak as one client.
# Notify's batch is cut to the other consumers' 10: a digest batch of the template's 100 runs past
# the soak's short function timeout on a loaded small machine (a 1,000-upload soak timed out 9 of
# 26 notify batches and dead-lettered 3 healthy messages). The window is e2e's, so nothing idles.
PARAMETERS = {
    "ApiRateLimitPerIp": "2000000000",
    "ApiRateLimitPerUser": "2000000000",
    "NotifyBatchSize": "10",
    "NotifyBatchingWindowSeconds": "2",
}
QUIET_CHECKS = 3  # consecutive quiet looks (0.5 s apart) before the pipeline counts as done

log = logging.getLogger("soak")


@dataclass(frozen=True)
class Options:
    uploads: int = 2000
    concurrency: int = 16
    backlog: int = 100  # uploads in the pipeline at most (sent, not yet announced)
    bad_rate: float = 0.02  # share of uploads that are truncated JPEGs (must end rejected)
    rates: Rates = field(default_factory=Rates)
    seed: int | None = None
    timeout_s: float | None = None  # default: 600 s + 1 s per upload
    # Short, so redeliveries come within seconds (the queues' visibility timeout is 6x, the template's
    # ratio; a poison message reaches its DLQ after 5 receives), long enough for a batch of 10 on a
    # loaded small machine.
    function_timeout_s: int = 6
    # Each consumer mapping's MaximumConcurrency (the template's is 10 per stage: 30 processes and
    # their cold starts on a small machine push batches past the short timeout, and every timeout's
    # new environment starts cold again).
    consumer_concurrency: int | None = 3

    @property
    def parameters(self) -> dict[str, str]:
        timeout = self.function_timeout_s
        return {**PARAMETERS, "FunctionTimeout": str(timeout), "QueueVisibilityTimeout": str(6 * timeout)}

    @property
    def deadline_s(self) -> float:
        return self.timeout_s if self.timeout_s is not None else 600.0 + self.uploads


class Invocations:
    """Invocations, errors and timeouts per consumer (an invoker observer: survives poller restarts)."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()  # observers are told on each invoking thread

    def invoked(self, spec: FunctionSpec, result: InvokeResult) -> None:
        name = spec.name.rsplit("-", 1)[-1]
        with self._lock:
            self.counts[(name, "invocations")] += 1
            self.counts[(name, "errors")] += 0 if result.ok else 1
            self.counts[(name, "timeouts")] += 1 if result.timed_out else 0

    def snapshot(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            items = sorted(self.counts.items())
        for (name, what), n in items:
            out.setdefault(name, {})[what] = n
        return out


@dataclass
class Watch:
    """What the progress shows and the quiet check reads, looked up from the emulator."""

    announced: int = 0
    queued: int = 0
    poisoned: int = 0
    quiet: bool = False


def look(cloud: LocalCloud, uploaded: set[str], poison: Mapping[str, str], all_sent: bool) -> Watch:
    """One look at the pipeline: quiet when every upload made is announced, no queue holds a message
    (visible or in flight) and every poison is in its DLQ."""
    announced = {i for e in state.sent_emails(SOAK_EMAIL) for i in e.upload_ids}
    main, dead = state.queues(cloud.outputs)
    queued = sum(q.total for q in main.values())
    poisoned = sum(1 for consumer, body in poison.items() if body in dead[consumer].bodies)
    done = all_sent and uploaded <= announced and queued == 0 and poisoned == len(poison)
    return Watch(len(uploaded & announced), queued, poisoned, done)


def wait_quiet(
    cloud: LocalCloud,
    client: Client,
    poison: Mapping[str, str],
    sent: Callable[[], bool],
    deadline: float,
    show: Callable[[Watch], None],
) -> bool:
    """Look every 0.5 s until the pipeline is quiet QUIET_CHECKS times in a row; False at the deadline."""
    streak = 0
    while time.monotonic() < deadline:
        with client.tally.lock:
            uploaded = {u.upload_id for u in client.tally.uploaded}
        watch = look(cloud, uploaded, poison, sent())
        show(watch)
        streak = streak + 1 if watch.quiet else 0
        if streak >= QUIET_CHECKS:
            return True
        time.sleep(0.5)
    return False


def choose_files(
    count: int, good: list[Path], bad: Path, bad_rate: float, seed: int | None
) -> list[tuple[Path, bool]]:
    """(file, is bad) for each upload: the good JPEGs in turn, a truncated one at `bad_rate`."""
    rng = random.Random(seed)
    files = []
    for i in range(count):
        is_bad = rng.random() < bad_rate
        files.append((bad if is_bad else good[i % len(good)], is_bad))
    return files


class Drive:
    """Uploads in the background with a progress bar, until the pipeline is quiet."""

    def __init__(self, cloud: LocalCloud, client: Client, plan: FaultPlan, console: Console) -> None:
        self.cloud, self.client, self.plan = cloud, client, plan
        self.progress = Progress(
            TextColumn("{task.description:<34}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )

    def run(
        self, files: list[tuple[Path, bool]], concurrency: int, poison: Mapping[str, str], deadline_s: float
    ) -> bool:
        progress, n = self.progress, len(files)
        with progress:
            sent = progress.add_task("uploads sent (API + presigned POST)", total=n)
            announced = progress.add_task("uploads final and announced", total=n)
            dead = progress.add_task("poison messages in their DLQs", total=len(poison))
            faults = progress.add_task("faults injected", total=None)
            pool, futures = self.client.start(files, concurrency, lambda: progress.advance(sent))

            def show(watch: Watch) -> None:
                self.client.backlog.announced(watch.announced)
                progress.update(announced, completed=watch.announced)
                progress.update(dead, completed=watch.poisoned)
                total = sum(self.plan.counts.snapshot().values())
                progress.update(faults, description=f"faults injected: {total}, queued: {watch.queued}")

            try:
                return wait_quiet(
                    self.cloud,
                    self.client,
                    poison,
                    lambda: _all_done(futures),
                    time.monotonic() + deadline_s,
                    show,
                )
            finally:
                self.client.backlog.open()
                pool.shutdown(wait=False, cancel_futures=True)


def _all_done(futures: list[Future[None]]) -> bool:
    return all(f.done() for f in futures)


def _poison_bodies(sent: Mapping[str, str]) -> dict[str, str]:
    return {consumer: poisons.body(consumer) for consumer in sent}


def soak(options: Options, console: Console) -> tuple[Ledger, dict[str, Any], dict[str, dict[str, int]]]:
    """Run one soak; (the ledger, the figures of the JSON line, the fault counts by kind and detail)."""
    plan = FaultPlan(options.rates, seed=options.seed)
    cloud = LocalCloud(build(), port=free_port(), parameters=options.parameters)
    plan.install(cloud)
    invocations = Invocations()
    with cloud, tempfile.TemporaryDirectory(prefix="intake-soak-") as folder:
        cloud.invoker.observers.add(invocations)
        if options.consumer_concurrency:
            set_concurrency(cloud, options.consumer_concurrency)
        owner = users.create_user(
            cloud.client("cognito-idp"), cloud.outputs["UserPoolId"], SOAK_EMAIL, SOAK_PASSWORD
        )
        client = Client(sign_in_api(cloud.api_url, SOAK_EMAIL, SOAK_PASSWORD), backlog=options.backlog)
        good, bad = write_samples(Path(folder))
        files = choose_files(options.uploads, good, bad, options.bad_rate, options.seed)
        plan.arm(cloud)
        started = time.monotonic()
        try:
            poison = _poison_bodies(plan.send_poison(cloud))
            quiet = Drive(cloud, client, plan, console).run(
                files, options.concurrency, poison, options.deadline_s
            )
        finally:
            plan.disarm()
        duration_s = time.monotonic() - started
        if quiet:  # what the last faults set in motion finishes now
            wait_quiet(cloud, client, poison, lambda: True, time.monotonic() + 60, lambda _: None)
        snapshot = state.read(cloud.outputs, cloud.client("dynamodb"), cloud.client("s3"), owner, SOAK_EMAIL)
    ledger = reconcile(client.tally.uploaded, snapshot, poison, client_failures=len(client.tally.failures))
    extra = {
        "quiet": quiet,
        "client_restarts": client.tally.restarts,
        "client_errors": client.tally.failures[:5],
        "invocations": invocations.snapshot(),
    }
    figures = as_json(ledger, plan.counts.snapshot(), duration_s, extra)
    if not quiet:
        figures["problems"]["not_quiet"] = 1
        figures["ok"] = False
    return ledger, figures, plan.counts.details()
