"""The page's email preference select (GET/PUT /me/preferences) in real Chromium."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.cloud import LocalCloud
from tests.browser.test_upload_page import new_user, sign_in_on_page

pytestmark = pytest.mark.e2e

LABEL = "Notifications of finished uploads"


def stored_preference(cloud: LocalCloud, email: str) -> str | None:
    attributes = cloud.client("cognito-idp").admin_get_user(
        UserPoolId=cloud.outputs["UserPoolId"], Username=email
    )
    sub = next(a["Value"] for a in attributes["UserAttributes"] if a["Name"] == "sub")
    item = (
        cloud.client("dynamodb")
        .get_item(TableName=cloud.outputs["UserSettingsTableName"], Key={"owner": {"S": sub}})
        .get("Item")
    )
    return item["email"]["S"] if item else None


def test_the_select_shows_and_saves_the_users_email_preference(cloud: LocalCloud, page: Any) -> None:
    email = new_user(cloud)
    sign_in_on_page(page, cloud, email)
    select = page.get_by_label(LABEL)
    page.wait_for_function("() => !document.querySelector('#email-pref').disabled")
    assert select.input_value() == "digest"  # the default, nothing stored yet
    assert stored_preference(cloud, email) is None

    select.select_option("each")
    page.get_by_text("Saved.").wait_for()
    assert stored_preference(cloud, email) == "each"

    page.reload()  # still signed in: the page reads the stored value back
    page.wait_for_function("() => document.querySelector('#email-pref').value === 'each'")
    select.select_option("none")
    page.get_by_text("Saved.").wait_for()
    assert stored_preference(cloud, email) == "none"
    assert [o.get_attribute("value") for o in select.locator("option").all()] == ["digest", "each", "none"]
