"""The upload page retries what AWS calls retryable: `POST /uploads` answered 502 (the API function's
environment died) and then 429 (throttled), and the presigned POST answered 503 by S3, each once (by
Playwright's route interception); the upload still completes and reaches `ready`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.cloud import LocalCloud
from tests.browser.test_upload_page import PIPELINE_TIMEOUT_MS, card, new_user, sign_in_on_page
from tests.support import images

pytestmark = pytest.mark.e2e


def test_page_retries_502_429_and_s3_503(cloud: LocalCloud, page: Any) -> None:
    seen: dict[str, list[int]] = {"api": [], "s3": []}
    api_faults = [502, 429]
    s3_faults = [503]

    def on_api(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        if api_faults:
            status = api_faults.pop(0)
            message = "Internal server error" if status == 502 else "Too Many Requests"
            seen["api"].append(status)
            route.fulfill(
                status=status, content_type="application/json", body=json.dumps({"message": message})
            )
            return
        seen["api"].append(201)
        route.continue_()

    def on_s3(route: Any) -> None:
        if route.request.method == "POST" and s3_faults:
            seen["s3"].append(s3_faults.pop(0))
            origin = route.request.headers.get("origin", "*")
            body = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
            route.fulfill(
                status=503,
                content_type="application/xml",
                headers={"Access-Control-Allow-Origin": origin},
                body=body,
            )
            return
        if route.request.method == "POST":
            seen["s3"].append(204)
        route.continue_()

    email = new_user(cloud)
    sign_in_on_page(page, cloud, email)
    page.locator("#account-email", has_text=email).wait_for()
    page.route(f"{cloud.api_url}/uploads", on_api)
    page.route(f"{cloud.endpoint}/**", on_s3)

    page.locator("#file-input").set_input_files(
        [{"name": "patient.jpg", "mimeType": "image/jpeg", "buffer": images.jpeg(400, 300)}]
    )
    ready = card(page, "patient.jpg", "ready")
    ready.locator("img").wait_for(timeout=PIPELINE_TIMEOUT_MS)
    assert seen == {"api": [502, 429, 201], "s3": [503, 204]}
    assert ready.locator(".card-error").is_hidden()
