"""Clients that retry what AWS calls retryable, on the local cloud: the API function's environment killed
mid-request (the front answers 502 as API Gateway does) and the stage's throttling (429), and the CLI's
uploads going through both to a final record.

The session's cloud is shared: the kill hook is armed for the next invocations only, and a test that
lowers the stage's throttling (UpdateStage, as an operator would) restores it before it ends.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from intake.records import Records
from intake_cli import config
from intake_cli.api import IntakeApi
from intake_cli.retry import Retried, RetryPolicy
from localcloud.cloud import LocalCloud
from tests.e2e.conftest import wait_for
from tests.e2e.test_api import new_user
from tests.e2e.test_cli import Run, config_dir, run, signed_in, write  # noqa: F401  (fixtures)
from tests.support import images

pytestmark = pytest.mark.e2e


def api_pool(cloud: LocalCloud) -> Any:
    assert cloud.api is not None
    [pool] = cloud.api.functions.values()
    return pool


def stage_throttling(cloud: LocalCloud) -> dict[str, Any]:
    stage = cloud.client("apigateway").get_stage(restApiId=cloud.outputs["ApiId"], stageName="v1")
    return dict(stage["methodSettings"]["*/*"])


def set_stage_throttling(cloud: LocalCloud, burst: int, rate: float) -> None:
    cloud.client("apigateway").update_stage(
        restApiId=cloud.outputs["ApiId"],
        stageName="v1",
        patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(burst)},
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(rate)},
        ],
    )


def test_a_killed_api_function_answers_502_as_api_gateway(cloud: LocalCloud) -> None:
    user = new_user(cloud)
    pool = api_pool(cloud)
    killed_before = pool.killed
    assert cloud.api is not None
    cloud.api.kill_next()
    answer = requests.get(f"{cloud.api_url}/uploads", headers=user.auth, timeout=30)
    assert answer.status_code == 502 and answer.json() == {"message": "Internal server error"}
    assert answer.headers["Content-Type"] == "application/json" and answer.headers["x-amzn-RequestId"]
    assert "Access-Control-Allow-Origin" in answer.headers  # the DEFAULT_5XX gateway response's headers
    assert pool.killed == killed_before + 1
    again = requests.get(f"{cloud.api_url}/uploads", headers=user.auth, timeout=30)
    assert again.status_code == 200, again.text  # a new environment (a cold start) serves the next one


def test_cli_upload_survives_the_api_function_killed_mid_request(
    cloud: LocalCloud,
    signed_in: str,  # noqa: F811
    run: Run,  # noqa: F811
    tmp_path: Path,
    records: Records,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="intake_cli.retry")
    photo = write(tmp_path, "survivor.jpg", images.jpeg(320, 240))
    pool = api_pool(cloud)
    killed_before = pool.killed
    assert cloud.api is not None
    # POST /uploads dies twice: at once, then as the function's reply comes back (its pending record
    # is written, the answer lost). The third try gets a grant.
    cloud.api.kill_next(after_s=0.0)
    cloud.api.kill_next(after_s=60.0)

    result = run("upload", str(photo), "--wait", "--json", "--timeout", "90")

    assert result.exit_code == 0, result.output
    [uploaded] = json.loads(result.stdout)
    assert uploaded["status"] == "ready" and not uploaded.get("error"), uploaded
    assert pool.killed == killed_before + 2
    retried = [r.getMessage() for r in caplog.records if r.name == "intake_cli.retry"]
    assert len(retried) == 2 and all("POST /uploads" in m and "HTTP 502" in m for m in retried), retried

    record = wait_for(lambda: records.get(uploaded["upload_id"]), 30, "the upload's record")
    assert record.status == "ready" and record.filename == "survivor.jpg"
    wait_for(lambda: getattr(records.get(uploaded["upload_id"]), "notified", None), 60, "the outcome email")
    # The lost answer left a spare pending record: harmless, it expires with its URL.
    listed = json.loads(run("ls", "--json").stdout)["items"]
    spares = [i for i in listed if i["upload_id"] != uploaded["upload_id"]]
    assert spares and all(i["filename"] == "survivor.jpg" and i["status"] == "pending" for i in spares)


@pytest.fixture
def restored_throttling(cloud: LocalCloud) -> Iterator[dict[str, Any]]:
    deployed = stage_throttling(cloud)
    yield deployed
    set_stage_throttling(cloud, int(deployed["throttlingBurstLimit"]), float(deployed["throttlingRateLimit"]))
    time.sleep(1.2)  # the front re-reads the stage once a second: later tests see the deployed limits


def test_throttled_calls_get_429_and_the_upload_retries_through(
    cloud: LocalCloud,
    signed_in: str,  # noqa: F811
    restored_throttling: dict[str, Any],
    records: Records,
) -> None:
    # As deployed: the template's stage throttling (ThrottlingBurstLimit 100, ThrottlingRateLimit 50).
    assert (
        restored_throttling["throttlingBurstLimit"] == 100
        and restored_throttling["throttlingRateLimit"] == 50
    )
    settings, tokens = config.load_settings(), config.load_tokens()
    assert settings and tokens
    set_stage_throttling(cloud, 0, 0)  # every request is throttled, once the front has read it
    time.sleep(1.2)
    answer = requests.get(
        f"{cloud.api_url}/uploads", headers={"Authorization": f"Bearer {tokens.id_token}"}, timeout=30
    )
    assert answer.status_code == 429 and answer.json() == {"message": "Too Many Requests"}
    assert "Access-Control-Allow-Origin" in answer.headers  # DEFAULT_4XX: no THROTTLED response declared

    told: list[Retried] = []

    def sleep(seconds: float) -> None:
        # The first 429 lifts the throttling; the pause lets the front read the stage again.
        if len(told) == 1:
            set_stage_throttling(cloud, 100, 50)
            time.sleep(1.2)
        time.sleep(seconds)

    api = IntakeApi(settings, tokens, retry=RetryPolicy(sleep=sleep, on_retry=told.append))
    body = images.jpeg(200, 150)
    grant = api.upload_stream(io.BytesIO(body), "throttled.jpg", len(body))
    assert told and told[0].what == "POST /uploads" and told[0].reason == "HTTP 429"
    record = api.wait_final(grant["upload_id"], timeout_s=90)
    assert record["status"] == "ready"
    assert records.get(grant["upload_id"]) is not None
