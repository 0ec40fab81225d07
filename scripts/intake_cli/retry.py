"""The one retry policy of the uploads client: every API call, presigned upload and download goes
through :meth:`RetryPolicy.call`, so the CLI, `make demo` and any tool built on :class:`IntakeApi`
(a soak, a bench) retry alike.

What is retried: the answers AWS itself calls retryable at this boundary (429 from API Gateway's
throttling, 502 when the function's environment dies, 503 and 504) and network errors (connection
refused or reset, timeouts, a body cut short). Every other answer is final. Between tries the client
sleeps a capped exponential backoff with full jitter (uniform in [0, min(cap, base * 2^n)]), as the
AWS SDKs do; a presigned request also stops once its URL has expired, since S3 would then refuse it.

`POST /uploads` is retried too: a try whose answer was lost may have left a pending record, which
is harmless (it reads as `expired` and DynamoDB's TTL removes it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import requests
import tenacity

from intake_cli.errors import IntakeError

__all__ = [
    "DEFAULT_POLICY",
    "RETRY_STATUSES",
    "TRANSIENT_ERRORS",
    "Retried",
    "RetryPolicy",
    "UrlExpired",
    "after_tries",
    "retryable",
]

log = logging.getLogger("intake_cli.retry")

#: Too Many Requests, Bad Gateway, Service Unavailable, Gateway Timeout.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: Connection refused/reset/aborted, connect and read timeouts, a response body cut short.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class UrlExpired(IntakeError):
    """A presigned request still failed when its URL expired: retrying it can no longer succeed."""


@dataclass(frozen=True)
class Retried:
    """One retry about to happen (what `on_retry` is told): try `attempt` failed with `reason`."""

    what: str
    attempt: int
    reason: str  # "HTTP 502" or the exception's class name
    delay_s: float


def retryable(response: requests.Response) -> bool:
    return response.status_code in RETRY_STATUSES


def after_tries(policy: RetryPolicy, failure: requests.Response | BaseException) -> str:
    """' (after N tries)' when `failure` is a retryable one that `policy` retried, else ''."""
    if isinstance(failure, requests.Response):
        retried = retryable(failure)
    else:
        retried = isinstance(failure, TRANSIENT_ERRORS)
    return f" (after {policy.attempts} tries)" if retried and policy.attempts > 1 else ""


def _reason(outcome: tenacity.Future | None) -> str:
    if outcome is None:
        return "no answer"
    if outcome.failed:
        return type(outcome.exception()).__name__
    return f"HTTP {outcome.result().status_code}"


class _StopAt(tenacity.stop.stop_base):
    """Stop when the next try would start at or after `expires_at` (a presigned URL's expiry)."""

    def __init__(self, expires_at: float, clock: Callable[[], float]) -> None:
        self.expires_at, self.clock = expires_at, clock

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return self.clock() + (retry_state.upcoming_sleep or 0.0) >= self.expires_at


@dataclass(frozen=True)
class RetryPolicy:
    """How many tries, how long between them; `sleep` and `clock` (epoch seconds) are injectable."""

    attempts: int = 6  # tries in all, the first included
    base_s: float = 0.25
    cap_s: float = 8.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time  # epoch time: URL expiries are wall-clock instants
    on_retry: Callable[[Retried], None] | None = field(default=None, compare=False)

    def with_attempts(self, attempts: int) -> RetryPolicy:
        return replace(self, attempts=max(1, attempts))

    def call(
        self,
        send: Callable[[], requests.Response],
        *,
        what: str,
        expires_at: float | None = None,
    ) -> requests.Response:
        """Run `send` until it answers with a status that is not retryable, or tries run out.

        Returns the last response, which may still be a retryable status once tries run out; raises
        the last network error the same way; raises :class:`UrlExpired` when the next try would
        start after `expires_at` (epoch seconds, a presigned URL's expiry). `what` names the request
        in messages and in `on_retry`. `send` must be repeatable: it re-sends any body from its start.
        """
        stop: tenacity.stop.stop_base = tenacity.stop_after_attempt(self.attempts)
        if expires_at is not None:
            stop = stop | _StopAt(expires_at, self.clock)
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(TRANSIENT_ERRORS) | tenacity.retry_if_result(retryable),
            wait=tenacity.wait_random_exponential(multiplier=self.base_s, max=self.cap_s),
            stop=stop,
            sleep=self.sleep,
            before_sleep=lambda state: self._told(what, state),
            retry_error_callback=lambda state: self._give_up(what, state, expires_at),
        )
        response: requests.Response = retrying(send)
        return response

    def _told(self, what: str, state: tenacity.RetryCallState) -> None:
        event = Retried(what, state.attempt_number, _reason(state.outcome), state.upcoming_sleep)
        log.info("%s: try %d failed (%s); again in %.2f s", what, event.attempt, event.reason, event.delay_s)
        if self.on_retry is not None:
            self.on_retry(event)

    def _give_up(
        self, what: str, state: tenacity.RetryCallState, expires_at: float | None
    ) -> requests.Response:
        outcome = state.outcome
        assert outcome is not None  # tenacity gives up only after a try
        if expires_at is not None and _StopAt(expires_at, self.clock)(state):
            when = datetime.fromtimestamp(expires_at, UTC).strftime("%H:%M:%S UTC")
            raise UrlExpired(
                f"{what} failed ({_reason(outcome)}, {state.attempt_number} tries) and its presigned URL "
                f"expired at {when}: ask for a new one (start again)"
            )
        response: requests.Response = outcome.result()  # raises the last network error
        return response


#: What the CLI uses: six tries over about 4 s on average (8 s at most) before it gives up.
DEFAULT_POLICY = RetryPolicy()
