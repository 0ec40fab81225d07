"""A large file on the upload page, in real Chromium against the local cloud: it goes by multipart in
parallel parts; the connection to S3 drops after two parts (Playwright resets every later part PUT,
retries included), the page says the upload failed and can resume; after a reload the same file is
dropped again, the page resumes it, says so, sends only the three missing parts, and the upload
ends `ready` with its thumbnail.

The e2e stack cuts multipart uploads above 5 MiB into parts of 5 MiB (tests/e2e/conftest.py), so a
22 MiB file has five parts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from localcloud.cloud import LocalCloud
from tests.browser.test_upload_page import PIPELINE_TIMEOUT_MS, card, new_user, sign_in_on_page
from tests.e2e.test_multipart_cli import big_jpeg

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
SIZE = 22 * MIB  # parts of 5 MiB: 5, 5, 5, 5 and 2


def part_number(url: str) -> int | None:
    query = parse_qs(urlsplit(url).query)
    return int(query["partNumber"][0]) if "partNumber" in query and "uploadId" in query else None


def test_a_large_upload_resumes_after_a_dropped_connection_and_a_reload(
    cloud: LocalCloud, page: Any, tmp_path: Path
) -> None:
    photo = tmp_path / "harbour.jpg"
    big_jpeg(photo, SIZE)
    stored: list[int] = []  # part numbers whose PUT went through to S3
    dropped: list[int] = []
    allowed = [2]  # how many part PUTs may still go through

    def on_s3(route: Any) -> None:
        number = part_number(route.request.url)
        if route.request.method != "PUT" or number is None:
            route.continue_()
            return
        if allowed[0] > 0:
            allowed[0] -= 1
            stored.append(number)
            route.continue_()
            return
        dropped.append(number)
        route.abort("connectionreset")

    email = new_user(cloud)
    sign_in_on_page(page, cloud, email)
    page.locator("#account-email", has_text=email).wait_for()
    page.route(f"{cloud.endpoint}/**", on_s3)

    page.locator("#file-input").set_input_files(str(photo))
    failed = card(page, "harbour.jpg", "error")
    failed.wait_for(timeout=120_000)
    assert "Drop the same file again to resume." in failed.locator(".card-error").inner_text()
    upload_id = failed.get_attribute("data-upload-id")
    first = list(stored)
    assert upload_id and len(first) == 2 and dropped  # two parts in S3, the others refused

    # A reload: the session and the open upload are remembered (sessionStorage, localStorage).
    allowed[0] = 100
    page.reload()
    page.locator("#account-email", has_text=email).wait_for()
    stored.clear()
    page.locator("#file-input").set_input_files(str(photo))
    resumed = card(page, "harbour.jpg")
    resumed.locator(".note", has_text="Resumed: 2 of 5 parts already uploaded.").wait_for()
    ready = card(page, "harbour.jpg", "ready")
    ready.locator("img").wait_for(timeout=PIPELINE_TIMEOUT_MS)
    assert ready.get_attribute("data-upload-id") == upload_id  # the same upload, continued
    assert sorted(stored) == sorted(set(range(1, 6)) - set(first))  # only the missing parts
    assert page.locator("li.upload").count() == 1  # the listed pending card became this one
    assert page.evaluate("localStorage.getItem('intake.multipart.v1')") == "{}"
