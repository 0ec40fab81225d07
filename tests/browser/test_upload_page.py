"""The upload page in real Chromium against the local cloud: sign-in, uploads, live status, thumbnails,
pagination, delete, sign-out. Each test signs in as its own user."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from intake.records import Records
from localcloud.cloud import LocalCloud
from localcloud.users import create_user, sign_in
from tests.e2e.conftest import wait_for
from tests.support import images

pytestmark = pytest.mark.e2e

PASSWORD = "Browser-pass-1A!"
PIPELINE_TIMEOUT_MS = 90_000  # cold Lambda-like workers on a busy machine; usually a few seconds


def new_user(cloud: LocalCloud) -> str:
    email = f"web-{uuid.uuid4().hex[:10]}@example.com"
    create_user(cloud.client("cognito-idp"), cloud.outputs["UserPoolId"], email, PASSWORD)
    return email


def sign_in_on_page(page: Any, cloud: LocalCloud, email: str, password: str = PASSWORD) -> None:
    page.goto(cloud.cdn_url)  # where the page lives, with the template's CSP
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def card(page: Any, filename: str, status: str | None = None) -> Any:
    selector = f'li.upload[data-filename="{filename}"]'
    return page.locator(selector + (f'[data-status="{status}"]' if status else ""))


def test_sign_in_upload_and_watch(cloud: LocalCloud, page: Any) -> None:
    email = new_user(cloud)
    sign_in_on_page(page, cloud, email)
    page.locator("#account-email", has_text=email).wait_for()

    sunset = images.jpeg(800, 600)
    page.locator("#file-input").set_input_files(
        [
            {"name": "sunset.jpg", "mimeType": "image/jpeg", "buffer": sunset},
            {"name": "logo.png", "mimeType": "image/png", "buffer": images.png_with_alpha()},
            {"name": "broken.jpg", "mimeType": "image/jpeg", "buffer": images.truncated_jpeg()},
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not an image"},
        ]
    )

    # Refused by the API: the card says why, and nothing was granted.
    refused = card(page, "notes.txt", "error")
    refused.locator(".card-error", has_text="not allowed").wait_for()
    assert refused.get_attribute("data-upload-id") is None

    for name in ("sunset.jpg", "logo.png"):
        ready = card(page, name, "ready")
        ready.locator("img").wait_for(timeout=PIPELINE_TIMEOUT_MS)
        image = ready.locator("img")
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
        assert "ready" in ready.locator(".badge").inner_text()
        # The thumbnails come through the CloudFront front, with the URLs the API signed.
        source = str(image.evaluate("img => img.currentSrc"))
        assert source.startswith(cloud.cdn_url + "/thumbnails/") and "Key-Pair-Id=" in source
    rejected = card(page, "broken.jpg", "rejected")
    rejected.wait_for(timeout=PIPELINE_TIMEOUT_MS)
    assert "truncated" in rejected.locator(".reasons").inner_text()
    assert rejected.locator("img").count() == 0

    # The page shows what the index holds.
    records = Records(cloud.outputs["IndexTableName"], client=cloud.client("dynamodb"))
    for name, status in (("sunset.jpg", "ready"), ("logo.png", "ready"), ("broken.jpg", "rejected")):
        upload_id = card(page, name).get_attribute("data-upload-id")
        item = records.get(upload_id)
        assert item and item.status == status and item.filename == name

    # A reload keeps the session and lists the same uploads from the API.
    page.reload()
    for name in ("sunset.jpg", "logo.png", "broken.jpg"):
        card(page, name).wait_for()
    card(page, "sunset.jpg", "ready").locator("img").wait_for()

    # Download: the original, byte for byte, under its name; the page stays.
    with page.expect_download() as download:
        card(page, "sunset.jpg").get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == "sunset.jpg"
    assert Path(download.value.path()).read_bytes() == sunset

    # Delete, after confirming. (Once the pipeline is done with it: a late stage write racing the delete
    # could leave a stray record, which the API never shows but this check would see.)
    doomed = card(page, "logo.png")
    doomed_id = doomed.get_attribute("data-upload-id")
    wait_for(lambda: getattr(records.get(doomed_id), "notified", None), 30, "the outcome email of logo.png")
    page.once("dialog", lambda dialog: dialog.accept())
    doomed.get_by_role("button", name="Delete").click()
    doomed.wait_for(state="detached")
    assert records.get(doomed_id) is None

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.evaluate("sessionStorage.getItem('intake.session')") is None
    assert page.locator("li.upload").count() == 0


def test_new_password_and_wrong_password(cloud: LocalCloud, page: Any) -> None:
    email = f"web-{uuid.uuid4().hex[:10]}@example.com"
    cloud.client("cognito-idp").admin_create_user(
        UserPoolId=cloud.outputs["UserPoolId"],
        Username=email,
        TemporaryPassword="Temp-pass-1A!",
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    sign_in_on_page(page, cloud, email, "Wrong-pass-1A!")
    page.locator("#error", has_text="Incorrect email or password").wait_for()

    sign_in_on_page(page, cloud, email, "Temp-pass-1A!")
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password, again").fill(PASSWORD)
    page.get_by_role("button", name="Set password and sign in").click()
    page.locator("#account-email", has_text=email).wait_for()
    page.locator("#empty").wait_for()  # a new user has no uploads


def test_list_paginates(cloud: LocalCloud, page: Any) -> None:
    email = new_user(cloud)
    token = sign_in(cloud.client("cognito-idp"), cloud.outputs["UserPoolClientId"], email, PASSWORD).id_token
    names = [f"granted-{n:02}.png" for n in range(14)]
    for name in names:  # granted but never sent: pending records, no pipeline work
        response = requests.post(
            f"{cloud.api_url}/uploads",
            json={"filename": name, "content_type": "image/png", "size": 100},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 201, response.text

    sign_in_on_page(page, cloud, email)
    load_more = page.get_by_role("button", name="Load more")
    load_more.wait_for()
    shown = page.locator("li.upload .name").all_inner_texts()
    assert shown == names[::-1][:12]  # newest first, one page
    load_more.click()
    card(page, names[0]).wait_for()
    assert page.locator("li.upload .name").all_inner_texts() == names[::-1]
    assert load_more.is_hidden()


def test_a_listing_that_ends_after_an_upload_starts_does_not_say_no_uploads(
    cloud: LocalCloud, page: Any
) -> None:
    # The first listing is held back until the new upload's card is on the page, then answers empty.
    held: list[Any] = []

    def is_listing(url: str) -> bool:
        path = url.split("?")[0]
        return path.startswith(cloud.api_url) and path.endswith("/uploads")

    page.route(
        lambda url: is_listing(url),
        lambda route: held.append(route) if route.request.method == "GET" else route.continue_(),
    )
    email = new_user(cloud)
    sign_in_on_page(page, cloud, email)
    page.locator("#account-email", has_text=email).wait_for()
    for _ in range(300):  # Playwright calls route handlers only while the page is waited on
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the page listed the uploads after sign-in"

    page.locator("#file-input").set_input_files(
        [{"name": "early.jpg", "mimeType": "image/jpeg", "buffer": images.jpeg(64, 48)}]
    )
    card(page, "early.jpg").wait_for()
    held.pop().fulfill(status=200, content_type="application/json", body='{"items": [], "next_cursor": null}')
    page.unroute(lambda url: is_listing(url))

    card(page, "early.jpg", "ready").wait_for(timeout=PIPELINE_TIMEOUT_MS)
    assert page.locator("#empty").is_hidden()


def test_the_page_icon_is_served_by_the_distribution(cloud: LocalCloud, page: Any) -> None:
    # A browser asks for the page's icon; one the bucket lacks is a 403 from CloudFront (and a denied
    # s3:ListBucket for the origin), so the page names one it ships.
    page.goto(cloud.cdn_url)
    href = page.locator('link[rel="icon"]').get_attribute("href")
    assert href and not href.startswith("data:")
    answer = page.request.get(f"{cloud.cdn_url}/{href}")
    assert answer.status == 200
    assert answer.headers["content-type"] == "image/svg+xml"
