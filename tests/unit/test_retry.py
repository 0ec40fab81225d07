"""The clients' one retry policy (intake_cli.retry), with an injected sleep and clock: which answers it
retries, how long it waits (capped exponential backoff, full jitter), when it stops (tries, URL expiry),
and how presigned URLs tell their expiry (intake_cli.transfer)."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from intake_cli.retry import RETRY_STATUSES, Retried, RetryPolicy, UrlExpired, after_tries
from intake_cli.transfer import upload_expiry, url_expiry


class Clock:
    """Epoch time that moves only when the policy sleeps."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def response(status: int) -> requests.Response:
    made = requests.Response()
    made.status_code = status
    return made


def scripted(outcomes: Iterable[int | Exception]) -> tuple[Callable[[], requests.Response], list[int]]:
    """A `send` that answers each outcome in turn (a status, or an exception to raise)."""
    pending = list(outcomes)
    calls: list[int] = []

    def send() -> requests.Response:
        calls.append(1)
        outcome = pending.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return response(outcome)

    return send, calls


def policy(clock: Clock, **overrides: Any) -> RetryPolicy:
    return RetryPolicy(sleep=clock.sleep, clock=clock, **overrides)


@pytest.mark.parametrize("status", sorted(RETRY_STATUSES))
def test_retryable_statuses_are_retried(status: int) -> None:
    clock = Clock()
    send, calls = scripted([status, status, 201])
    assert policy(clock).call(send, what="POST /uploads").status_code == 201
    assert len(calls) == 3 and len(clock.sleeps) == 2


@pytest.mark.parametrize("status", [200, 204, 400, 401, 403, 404, 409, 413, 500, 501])
def test_other_answers_are_final(status: int) -> None:
    clock = Clock()
    send, calls = scripted([status])
    assert policy(clock).call(send, what="GET /uploads").status_code == status
    assert len(calls) == 1 and clock.sleeps == []


@pytest.mark.parametrize(
    "error",
    [
        requests.ConnectionError("connection refused"),
        requests.ConnectionError("connection reset by peer"),
        requests.ConnectTimeout("connect timeout"),
        requests.ReadTimeout("read timeout"),
        requests.exceptions.ChunkedEncodingError("body cut short"),
    ],
)
def test_network_errors_are_retried(error: Exception) -> None:
    clock = Clock()
    send, calls = scripted([error, error, 200])
    assert policy(clock).call(send, what="GET /uploads").status_code == 200
    assert len(calls) == 3


def test_other_errors_are_not_retried() -> None:
    clock = Clock()
    send, calls = scripted([requests.exceptions.InvalidURL("no host")])
    with pytest.raises(requests.exceptions.InvalidURL):
        policy(clock).call(send, what="GET /uploads")
    assert len(calls) == 1


def test_tries_run_out_with_the_last_answer_or_error() -> None:
    clock = Clock()
    send, calls = scripted([503] * 6)
    last = policy(clock, attempts=6).call(send, what="GET /uploads")
    assert last.status_code == 503 and len(calls) == 6 and len(clock.sleeps) == 5
    assert after_tries(policy(clock, attempts=6), last) == " (after 6 tries)"

    send, calls = scripted([requests.ConnectionError("refused")] * 3)
    with pytest.raises(requests.ConnectionError, match="refused"):
        policy(clock, attempts=3).call(send, what="GET /uploads")
    assert len(calls) == 3
    assert after_tries(RetryPolicy(attempts=1), response(503)) == ""
    assert after_tries(RetryPolicy(), response(400)) == ""


def test_backoff_is_exponential_capped_and_fully_jittered(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        drawn.append((low, high))
        return high

    monkeypatch.setattr(random, "uniform", uniform)
    clock = Clock()
    send, _ = scripted([502] * 8 + [200])
    policy(clock, attempts=9, base_s=0.25, cap_s=3.0).call(send, what="POST /uploads")
    # Full jitter: each wait is drawn from [0, min(cap, base * 2^n)].
    assert drawn == [(0, 0.25), (0, 0.5), (0, 1.0), (0, 2.0), (0, 3.0), (0, 3.0), (0, 3.0), (0, 3.0)]
    assert clock.sleeps == [high for _, high in drawn]


def test_jittered_waits_stay_within_their_bounds() -> None:
    random.seed(7)
    clock = Clock()
    for _ in range(50):
        send, _ = scripted([429] * 5 + [200])
        policy(clock, attempts=6, base_s=0.1, cap_s=0.5).call(send, what="GET /uploads")
    bounds = [min(0.5, 0.1 * 2**n) for n in range(5)] * 50
    assert all(0 <= wait <= bound for wait, bound in zip(clock.sleeps, bounds, strict=True))
    assert len(set(clock.sleeps)) > 200  # jittered, not a fixed schedule


def test_each_retry_is_told() -> None:
    clock = Clock()
    told: list[Retried] = []
    send, _ = scripted([502, requests.ConnectionError("reset"), 201])
    policy(clock, on_retry=told.append).call(send, what="POST /uploads")
    assert [(t.what, t.attempt, t.reason) for t in told] == [
        ("POST /uploads", 1, "HTTP 502"),
        ("POST /uploads", 2, "ConnectionError"),
    ]
    assert [t.delay_s for t in told] == clock.sleeps


def test_retries_stop_when_the_url_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    clock = Clock()
    send, calls = scripted([503] * 10)
    # Waits of 0.25 and 0.5 s fit before the expiry; the next try would start 1.75 s in: too late.
    with pytest.raises(UrlExpired, match=r"the upload to S3 failed \(HTTP 503, 3 tries\).*expired"):
        policy(clock).call(send, what="the upload to S3", expires_at=clock.now + 1.0)
    assert len(calls) == 3 and clock.sleeps == [0.25, 0.5]


def test_an_expired_url_is_still_tried_once() -> None:
    clock = Clock()
    send, calls = scripted([403])  # S3 answers with its own "Request has expired"
    assert policy(clock).call(send, what="the download", expires_at=clock.now - 10).status_code == 403
    assert len(calls) == 1


# --- how presigned URLs tell their expiry ---------------------------------------------------------------


def s3() -> Any:
    return boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        endpoint_url="http://127.0.0.1:4566",
        config=Config(signature_version="s3v4"),
    )


def test_sigv4_presigned_get_and_put_expiry() -> None:
    before = datetime.now(UTC).replace(microsecond=0).timestamp()
    for method in ("get_object", "put_object"):
        url = s3().generate_presigned_url(method, Params={"Bucket": "b", "Key": "k"}, ExpiresIn=300)
        # Bounded by the clock read after signing: building clients on a loaded machine can take seconds.
        after = datetime.now(UTC).timestamp()
        expiry = url_expiry(url)
        assert expiry is not None and before + 300 <= expiry <= after + 300
        assert upload_expiry({"method": "PUT", "url": url}) == expiry


def test_presigned_post_expiry_is_its_policy_expiration() -> None:
    before = datetime.now(UTC).replace(microsecond=0).timestamp()
    post = s3().generate_presigned_post("b", "k", ExpiresIn=300)
    after = datetime.now(UTC).timestamp()  # not before + 2 s: a loaded machine may take longer to sign
    expiry = upload_expiry({"method": "POST", **post})
    assert expiry is not None and before + 300 <= expiry <= after + 300


def test_cloudfront_and_unknown_url_expiry() -> None:
    assert (
        url_expiry("https://d.example/thumbnails/a.jpg?Expires=1800000300&Signature=x&Key-Pair-Id=K")
        == 1800000300
    )
    policy_json = json.dumps({"Statement": [{"Condition": {"DateLessThan": {"AWS:EpochTime": 1800000600}}}]})
    safe = (
        base64.b64encode(policy_json.encode()).decode().replace("+", "-").replace("=", "_").replace("/", "~")
    )
    assert (
        url_expiry(f"https://d.example/uploads/a.jpg?Policy={safe}&Signature=x&Key-Pair-Id=K") == 1800000600
    )
    assert url_expiry("https://example.com/file.jpg") is None
    assert url_expiry("https://example.com/file.jpg?Expires=soon") is None
    assert upload_expiry({"method": "POST", "url": "http://s3", "fields": {"policy": "not base64!"}}) is None
