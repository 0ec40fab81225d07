"""API Gateway's stage throttling: the stage's method settings (`throttlingRateLimit`,
`throttlingBurstLimit`), enforced per method with a token bucket, as API Gateway does.

Each method of the stage has a bucket that holds at most `burst` tokens and refills at `rate` tokens a
second; a request takes one, and a request that finds none gets the THROTTLED gateway response,
`429 {"message": "Too Many Requests"}`, before the authorizer or the function runs. A method's
settings are the ones under its own key in GetStage's `methodSettings` (`~1uploads/POST`), else the
stage-wide `*/*`; a method with no throttling setting is not throttled here (API Gateway would apply
the account's 10,000 requests/s). The settings are read through the API Gateway API (GetStage) at most
once per `refresh_s`, so an UpdateStage applies to the next requests, as on AWS within a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Limit", "StageThrottle", "TokenBucket", "limit_for", "stage_settings_reader"]

log = logging.getLogger("localcloud.api")

MethodSettings = Mapping[str, Mapping[str, Any]]  # GetStage's methodSettings


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens added per second
    burst: int  # the bucket's size


def limit_for(settings: MethodSettings, resource_path: str, http_method: str) -> Limit | None:
    """The throttling limit of one method: its own setting, else the stage-wide `*/*`."""
    own = resource_path.replace("/", "~1")  # GetStage's escaping: /uploads -> ~1uploads
    for key in (f"{own}/{http_method}", f"{own}/*", "*/*"):
        found = settings.get(key) or {}
        if "throttlingRateLimit" in found or "throttlingBurstLimit" in found:
            rate = float(found.get("throttlingRateLimit", 10000.0))
            burst = int(found.get("throttlingBurstLimit", 5000))
            return Limit(max(rate, 0.0), max(burst, 0))
    return None


class TokenBucket:
    """`limit.burst` tokens at first, refilled at `limit.rate` per second."""

    def __init__(self, limit: Limit, now: float) -> None:
        self.limit, self.tokens, self.at = limit, float(limit.burst), now

    def take(self, now: float) -> bool:
        self.tokens = min(float(self.limit.burst), self.tokens + (now - self.at) * self.limit.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class StageThrottle:
    """The stage's throttling, its settings read through `read_settings` at most every `refresh_s`."""

    def __init__(
        self,
        read_settings: Callable[[], MethodSettings],
        *,
        refresh_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.read_settings, self.refresh_s, self.clock = read_settings, refresh_s, clock
        self._settings: MethodSettings = {}
        self._read_at: float | None = None
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def _current(self, now: float) -> MethodSettings:
        if self._read_at is None or now - self._read_at >= self.refresh_s:
            self._read_at = now
            try:
                self._settings = self.read_settings()
            except Exception:  # keep the last settings read, as a stage keeps its deployed ones
                log.warning(
                    "could not read the stage's method settings; keeping the last ones", exc_info=True
                )
        return self._settings

    def admit(self, resource_path: str, http_method: str) -> bool:
        """Takes a token for one request to the method; False when its bucket is empty (429)."""
        now = self.clock()
        with self._lock:
            limit = limit_for(self._current(now), resource_path, http_method)
            if limit is None:
                return True
            key = (resource_path, http_method)
            bucket = self._buckets.get(key)
            if bucket is None or bucket.limit != limit:  # new settings start a full bucket
                bucket = self._buckets[key] = TokenBucket(limit, now)
            return bucket.take(now)


def stage_settings_reader(apigateway: Any, api_id: str, stage: str) -> Callable[[], MethodSettings]:
    """Reads the stage's method settings (GetStage)."""

    def read() -> MethodSettings:
        settings = apigateway.get_stage(restApiId=api_id, stageName=stage).get("methodSettings") or {}
        return dict(settings)

    return read
