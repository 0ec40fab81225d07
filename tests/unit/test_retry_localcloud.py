"""The local cloud's side of retries: the API stage's throttling (localcloud.api.throttle, on an
injected clock) and the fault hook that kills a function's execution environment mid-request
(FunctionPool.kill_next, on real worker processes; no emulator needed)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.api.throttle import Limit, StageThrottle, limit_for
from localcloud.invoker import FunctionPool, Observers
from localcloud.lambda_runtime import FunctionSpec

STAGE_WIDE: dict[str, dict[str, Any]] = {
    "*/*": {"throttlingBurstLimit": 3, "throttlingRateLimit": 2.0, "metricsEnabled": False}
}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_methods_own_setting_wins_over_the_stage_wide_one() -> None:
    settings = {
        **STAGE_WIDE,
        "~1uploads~1{upload_id}/GET": {"throttlingBurstLimit": 7, "throttlingRateLimit": 1},
    }
    assert limit_for(settings, "/uploads", "POST") == Limit(2.0, 3)
    assert limit_for(settings, "/uploads/{upload_id}", "GET") == Limit(1.0, 7)
    assert limit_for(settings, "/uploads/{upload_id}", "DELETE") == Limit(2.0, 3)
    assert limit_for({"*/*": {"metricsEnabled": True}}, "/uploads", "POST") is None  # not throttled
    assert limit_for({}, "/uploads", "POST") is None


def test_the_bucket_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    throttle = StageThrottle(lambda: STAGE_WIDE, clock=clock)
    assert [throttle.admit("/uploads", "POST") for _ in range(4)] == [True, True, True, False]
    assert throttle.admit("/uploads", "GET")  # each method has its own bucket
    clock.now += 0.5  # 2 tokens/s: one more
    assert [throttle.admit("/uploads", "POST") for _ in range(2)] == [True, False]
    clock.now += 60  # refilled to the burst, never beyond
    assert [throttle.admit("/uploads", "POST") for _ in range(4)] == [True, True, True, False]


def test_settings_are_reread_and_kept_when_unreadable() -> None:
    clock = Clock()
    current: list[Any] = [STAGE_WIDE]

    def read() -> Any:
        if isinstance(current[0], Exception):
            raise current[0]
        return current[0]

    throttle = StageThrottle(read, refresh_s=1.0, clock=clock)
    assert [throttle.admit("/uploads", "POST") for _ in range(4)] == [True, True, True, False]
    current[0] = {}  # UpdateStage removed the limit: applies once the front reads it again
    assert not throttle.admit("/uploads", "POST")
    clock.now += 1.0
    assert all(throttle.admit("/uploads", "POST") for _ in range(10))
    current[0] = {"*/*": {"throttlingBurstLimit": 0, "throttlingRateLimit": 0}}
    clock.now += 1.0
    assert not throttle.admit("/uploads", "POST")
    current[0] = RuntimeError("emulator down")
    clock.now += 1.0
    assert not throttle.admit("/uploads", "POST")  # the last settings read still apply


# --- killing an environment mid-request -------------------------------------------------------------

HANDLER = """
import os, time
from pathlib import Path

def handler(event, context):
    marks = Path(os.environ["MARKS"])
    (marks / f"started-{event['n']}").write_text(str(os.getpid()))
    time.sleep(event.get("sleep", 0))
    (marks / f"finished-{event['n']}").write_text(str(os.getpid()))
    return {"pid": os.getpid()}
"""


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[FunctionPool]:
    code = tmp_path / "code"
    code.mkdir()
    (code / "handler.py").write_text(textwrap.dedent(HANDLER))
    marks = tmp_path / "marks"
    marks.mkdir()
    spec = FunctionSpec(
        name="api",
        arn="arn:aws:lambda:us-east-1:123456789012:function:api",
        handler="handler.handler",
        code_dir=code,
        layer_dirs=(),
        environment={"MARKS": str(marks)},
        timeout_s=120,
        memory_mb=128,
        region="us-east-1",
        endpoint_url="http://127.0.0.1:1",
    )
    made = FunctionPool(spec, limit=1, init_timeout_s=30, parent=Observers())
    yield made
    made.close()


def killed(result: Any) -> bool:
    error = result.error or {}
    return (
        not result.ok
        and error.get("errorType") == "Runtime.ExitError"
        and "signal: killed" in error.get("errorMessage", "")
    )


def test_a_kill_lands_mid_handler(pool: FunctionPool, tmp_path: Path) -> None:
    warm = pool.invoke({"n": 0})
    assert warm.ok
    pool.kill_next(after_s=5.0)  # time enough to start the handler on a busy machine (it sleeps 60 s)
    result = pool.invoke({"n": 1, "sleep": 60})
    assert killed(result), result.error
    assert (tmp_path / "marks" / "started-1").exists()
    assert not (tmp_path / "marks" / "finished-1").exists()  # killed mid-request, not after
    assert pool.killed == 1 and pool.stats.snapshot()["errors"] == 1

    after = pool.invoke({"n": 2})  # a new environment: a cold start in another process
    assert after.ok and after.init_ms is not None and after.payload["pid"] != warm.payload["pid"]


def test_a_kill_after_the_handler_loses_the_reply(pool: FunctionPool, tmp_path: Path) -> None:
    pool.kill_next(after_s=60, count=2)
    for n in (1, 2):
        result = pool.invoke({"n": n})
        assert killed(result), result.error
        assert (tmp_path / "marks" / f"finished-{n}").exists()  # what the handler did stays done
    assert pool.killed == 2 and pool.invoke({"n": 3}).ok
    assert pool.environment_count == 1
