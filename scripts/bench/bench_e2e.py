"""Benchmark 3: the whole pipeline on the local cloud, N uploads at once.

Each upload takes the product's path: POST /uploads on the local API (Cognito ID token of the demo
user), then the presigned POST to S3. Latency runs from the moment S3 accepted the file to the record's
`ready` (its `updated_at` once settled) and to the email (`notified.at`); every clock is this machine's.
Proof of completion: every record final and notified, and exactly one SES email that names its upload
id (read from the emulator's SES backend, which runs in this process).

Where the time goes: each stage's result carries the time it was written (`stage_<name>.at`), the
pollers count invocations, cold starts and handler durations, and the thumbnail engine is timed alone
on the same image, so the handler time splits into our CPU work and calls to the emulator; a probe
times one trivial emulator call every 0.25 s during the batch (moto serves every AWS API from one
Python process, so its latency under load is the local cloud's bottleneck).
"""

from __future__ import annotations

import concurrent.futures
import io
import json
import logging
import random
import threading
import time
from collections import Counter
from datetime import datetime
from typing import Any

from PIL import Image, ImageDraw

from bench import cpu, index_requests
from bench.common import median, percentile
from intake.status import STAGES

REGION_ACCOUNT = ("123456789012", "us-east-1")

# The end-to-end targets on a 2-core machine: (batch size, measure, bound, "max"|"min").
TARGETS = (
    (50, "upload to ready p95 s", 3.0, "max"),
    (200, "uploads/s", 20.0, "min"),
    (200, "POST /uploads p50 ms", 50.0, "max"),
)


def target_checks(batches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target against the batch of its size (not met when that batch did not run)."""
    measures = {
        "upload to ready p95 s": lambda b: b["ready_s"]["p95"],
        "uploads/s": lambda b: b["uploads_per_s"],
        "POST /uploads p50 ms": lambda b: b["api_ms_p50"],
    }
    by_n = {b["n"]: b for b in batches}
    checks = []
    for n, measure, bound, kind in TARGETS:
        batch = by_n.get(n)
        value = measures[measure](batch) if batch else float("nan")
        met = batch is not None and (value <= bound if kind == "max" else value >= bound)
        sign = "<=" if kind == "max" else ">="
        checks.append(
            {"batch": n, "measure": measure, "value": value, "target": f"{sign} {bound:g}", "met": met}
        )
    return checks


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def sample_jpegs(count: int = 4, size: tuple[int, int] = (1600, 1200)) -> list[bytes]:
    """A few distinct photo-like JPEGs (a phone photo scaled down: realistic work for every stage)."""
    rng = random.Random(5)
    out = []
    for _ in range(count):
        image = Image.effect_noise(size, 20).convert("RGB")
        draw = ImageDraw.Draw(image)
        for _ in range(12):
            x, y = rng.randrange(size[0]), rng.randrange(size[1])
            colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            draw.ellipse((x, y, x + size[0] // 4, y + size[1] // 4), fill=colour)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=88)
        out.append(buffer.getvalue())
    return out


class Client:
    """The CLI's upload path (`intake_cli.api.IntakeApi.upload_stream`): POST /uploads, then the
    presigned POST, each retried as the CLI retries (429, 502, 503, 504, network errors, with capped
    exponential backoff and jitter). Every retry is counted by what was retried and why."""

    def __init__(self, api_url: str, email: str, password: str) -> None:
        from intake_cli import config
        from intake_cli.api import IntakeApi
        from intake_cli.cognito import sign_in
        from intake_cli.retry import RetryPolicy

        settings = config.discover(api_url=api_url)  # the ids from the API front's config.js
        self.api = IntakeApi(
            settings, sign_in(settings, email, password), retry=RetryPolicy(on_retry=self._retried)
        )
        self._lock = threading.Lock()
        self.retries: Counter[str] = Counter()  # "what: reason" -> retries so far

    def _retried(self, retried: Any) -> None:
        with self._lock:
            self.retries[f"{retried.what}: {retried.reason}"] += 1

    def retries_so_far(self) -> Counter[str]:
        with self._lock:
            return Counter(self.retries)

    def upload(self, filename: str, body: bytes) -> dict[str, Any]:
        started = time.time()
        granted: list[float] = []
        grant = self.api.upload_stream(
            io.BytesIO(body),
            filename,
            len(body),
            content_type="image/jpeg",
            on_start=lambda _size: granted.append(time.time()),
        )
        uploaded = time.time()
        return {
            "upload_id": grant["upload_id"],
            "started": started,
            "api_s": granted[0] - started,
            "s3_s": uploaded - granted[0],
            "uploaded": uploaded,
        }


class InProcessTable:
    """The one DynamoDB call the bench's waiting needs, GetItem, read from moto's backend in this process.

    Waiting must not load what it measures: a Query of every record twice a second over HTTP was a
    tenth of the emulator's work during a batch. This reads the table under the lock the emulator's
    DynamoDB requests hold (localcloud.dynamodb_atomic), with no HTTP and no response serializer.
    """

    def get_item(self, *, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        from moto.dynamodb.models import dynamodb_backends
        from moto.dynamodb.models.dynamo_type import DynamoType
        from moto.dynamodb.models.utilities import DynamoJsonEncoder

        from localcloud import dynamodb_atomic

        account, region = REGION_ACCOUNT
        with dynamodb_atomic.LOCK:
            table = dynamodb_backends[account][region].get_table(TableName)
            item = table.get_item(DynamoType(next(iter(Key.values()))))
            if item is None:
                return {}
            return {"Item": json.loads(json.dumps(item.to_json()["Attributes"], cls=DynamoJsonEncoder))}


def _wait_final(records: Any, ids: set[str], timeout_s: float) -> dict[str, Any]:
    """Read each pending record (in process) until every id is final and notified."""
    deadline = time.monotonic() + timeout_s
    done: dict[str, Any] = {}
    while True:
        for upload_id in sorted(ids - set(done)):
            item = records.get(upload_id)
            if item is not None and item.notified:
                done[upload_id] = item
        if len(done) == len(ids) or time.monotonic() > deadline:
            return done
        time.sleep(0.25)


def _sent_emails() -> list[Any]:
    from moto.ses.models import ses_backends

    account, region = REGION_ACCOUNT
    return list(ses_backends[account][region].sent_messages)


def _poller_stats(cloud: Any) -> dict[str, dict[str, Any]]:
    stats = {}
    for poller in cloud.pollers:
        snap = poller.snapshot()
        name = str(snap["function"]).rsplit("-", 1)[-1]
        stats[name] = snap
    return stats


def _diff_stats(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, snap in after.items():
        prior = before.get(name, {})
        seen = len(prior.get("durations_ms", []))
        durations = snap["durations_ms"][seen:] if seen <= len(snap["durations_ms"]) else snap["durations_ms"]
        out[name] = {
            "invocations": snap["invocations"] - prior.get("invocations", 0),
            "cold_starts": snap["cold_starts"] - prior.get("cold_starts", 0),
            "errors": snap["errors"] - prior.get("errors", 0),
            "messages": snap["messages_deleted"] - prior.get("messages_deleted", 0),
            "handler_ms_p50": median(durations),
            "handler_ms_p95": percentile(durations, 95),
            "busy_s": sum(durations) / 1000,
            "environments": snap["environments"],
        }
    return out


class EmulatorProbe:
    """Times one trivial API call (DynamoDB DescribeLimits) every 0.25 s: the emulator's own latency."""

    def __init__(self, cloud: Any) -> None:
        self.client = cloud.client("dynamodb")
        self.latencies_ms: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="emulator-probe", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            started = time.perf_counter()
            try:
                self.client.describe_limits()
            except Exception:  # a failed probe is no latency sample
                continue
            self.latencies_ms.append((time.perf_counter() - started) * 1000)

    def __enter__(self) -> EmulatorProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def run_batch(cloud: Any, client: Client, records: Any, n: int, concurrency: int) -> dict[str, Any]:
    with EmulatorProbe(cloud) as probe:
        batch = _run_batch(cloud, client, records, n, concurrency)
    batch["emulator_call_ms"] = {
        "p50": percentile(probe.latencies_ms, 50),
        "p95": percentile(probe.latencies_ms, 95),
        "max": max(probe.latencies_ms, default=float("nan")),
    }
    return batch


def _spread(values: list[float]) -> dict[str, float]:
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "max": max(values, default=0)}


def _timings(
    finals: dict[str, Any], uploaded_at: dict[str, float]
) -> tuple[list[float], list[float], dict[str, list[float]], dict[str, int]]:
    """Seconds from upload to ready, to email and to each stage's result; the count of each status."""
    ready_s, email_s = [], []
    stage_s: dict[str, list[float]] = {s: [] for s in STAGES}
    statuses: dict[str, int] = {}
    for upload_id, item in finals.items():
        statuses[item.status.value] = statuses.get(item.status.value, 0) + 1
        t0 = uploaded_at[upload_id]
        ready_s.append(_epoch(item.updated_at) - t0)
        email_s.append(_epoch(item.notified.at) - t0)
        for stage in STAGES:
            result = item.results.get(stage)
            if result is not None and result.at:
                stage_s[stage].append(_epoch(result.at) - t0)
    return ready_s, email_s, stage_s, statuses


def _requests_per_upload(before: Counter[Any], after: Counter[Any], n: int) -> list[tuple[str, float]]:
    """The emulator's requests during the batch per upload, by "service action (caller)", most first."""
    made = Counter({k: v - before.get(k, 0) for k, v in after.items() if v > before.get(k, 0)})
    return [(f"{s} {a} ({c})", count / n) for (s, a, c), count in made.most_common()]


def _run_batch(cloud: Any, client: Client, records: Any, n: int, concurrency: int) -> dict[str, Any]:
    bodies = sample_jpegs()
    emails_before = len(_sent_emails())
    stats_before = _poller_stats(cloud)
    requests_before = cloud.emulator.requests.counts()
    retries_before = client.retries_so_far()
    index_before = index_requests.snapshot(cloud)
    cpu_before = cpu.snapshot()
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(n, concurrency)) as pool:
        futures = [
            pool.submit(client.upload, f"bench-{i:04d}.jpg", bodies[i % len(bodies)]) for i in range(n)
        ]
        uploads = [f.result() for f in futures]
    uploaded_all = time.time()
    by_id = {u["upload_id"]: u for u in uploads}
    finals = _wait_final(records, set(by_id), timeout_s=300 + 3 * n)
    finished = time.time()
    cpu_used = cpu.snapshot() - cpu_before
    requests_made = _requests_per_upload(requests_before, cloud.emulator.requests.counts(), n)

    ready_s, email_s, stage_s, statuses = _timings(finals, {u: by_id[u]["uploaded"] for u in by_id})
    emails = _sent_emails()[emails_before:]
    per_upload = {u: sum(1 for m in emails if f"(id {u})" in m.body) for u in by_id}
    # Emails that name no upload of this batch: the ops alarm notifications (SNS email via SES).
    others = sum(1 for m in emails if not any(f"(id {u})" in m.body for u in by_id))
    last = max((_epoch(i.notified.at) for i in finals.values()), default=finished)
    return {
        "n": n,
        "concurrency": min(n, concurrency),
        "upload_s_total": uploaded_all - started,
        "api_ms_p50": median([u["api_s"] * 1000 for u in uploads]),
        "s3_post_ms_p50": median([u["s3_s"] * 1000 for u in uploads]),
        "ready_s": _spread(ready_s),
        "email_s": _spread(email_s),
        "stage_done_s_p50": {s: percentile(v, 50) for s, v in stage_s.items()},
        "stage_done_s_p95": {s: percentile(v, 95) for s, v in stage_s.items()},
        "uploads_per_s": n / (last - started) if last > started else float("nan"),
        "final": len(finals),
        "statuses": statuses,
        "emails": len(emails),
        "uploads_with_exactly_one_email": sum(1 for c in per_upload.values() if c == 1),
        "uploads_with_several_emails": sum(1 for c in per_upload.values() if c > 1),
        "other_emails": others,
        "functions": _diff_stats(stats_before, _poller_stats(cloud)),
        "cpu": cpu.physical_limit(cpu_used, n, last - started),
        "requests_per_upload": sum(per for _, per in requests_made),
        "requests_by_call": requests_made,
        "client_retries": dict(client.retries_so_far() - retries_before),
        "index_table": index_requests.per_upload(cloud, index_before, n),
    }


def engine_ms(body: bytes, rounds: int = 5) -> float:
    """Our CPU work in the thumbnail stage, alone: the engine on the same image, in this process."""
    from intake.thumbnails import make_thumbnails

    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        make_thumbnails(body, 40_000_000)
        times.append((time.perf_counter() - started) * 1000)
    return median(times)


def run(counts: tuple[int, ...] = (50, 200), concurrency: int = 50, cloud: Any = None) -> dict[str, Any]:
    """Start a local cloud on free ports (or use `cloud`) and push each batch through it."""
    from intake_build.artifacts import build
    from localcloud.cloud import LocalCloud
    from localcloud.server import free_port

    logging.getLogger("localcloud").setLevel(logging.WARNING)
    if cloud is not None:
        return {"local_cloud_startup_s": float("nan"), **run_on(cloud, counts, concurrency)}
    started = time.monotonic()
    # Generous timeouts (the 6x ratio kept): on a small machine the emulator answers slowly under this
    # load, and a batch killed at its timeout comes back as a retry plus a cold start, which feeds the
    # overload. Slowness should show as latency here, not as retries that AWS would not see.
    parameters = {"FunctionTimeout": "120", "QueueVisibilityTimeout": "720"}
    with LocalCloud(build(), port=free_port(), parameters=parameters) as running:
        startup_s = time.monotonic() - started
        return {"local_cloud_startup_s": startup_s, **run_on(running, counts, concurrency)}


def run_on(cloud: Any, counts: tuple[int, ...], concurrency: int) -> dict[str, Any]:
    from intake.records import Records
    from localcloud import users

    cognito = cloud.client("cognito-idp")
    # The local cloud made the demo user (this makes sure of it).
    users.create_user(cognito, cloud.outputs["UserPoolId"], users.DEMO_EMAIL, users.DEMO_PASSWORD)
    client = Client(cloud.api_url, users.DEMO_EMAIL, users.DEMO_PASSWORD)
    records = Records(cloud.outputs["IndexTableName"], client=InProcessTable())  # type: ignore[arg-type]
    batches = [run_batch(cloud, client, records, n, concurrency) for n in counts]
    return {"thumbnail_engine_ms": engine_ms(sample_jpegs(1)[0]), "batches": batches}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2, default=str))
