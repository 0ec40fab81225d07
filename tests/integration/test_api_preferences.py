"""GET/PUT /me/preferences through the API handler (mock_aws): each caller's own email preference."""

from __future__ import annotations

import pytest

from tests.integration.test_api_handler import ALICE, BOB, SETTINGS_TABLE, Api
from tests.integration.test_api_handler import api as api  # the fixture


def test_a_caller_without_settings_gets_the_default(api: Api) -> None:
    assert api.call("GET", "/me/preferences")[:2] == (200, {"email": "digest"})


def test_put_stores_the_callers_own_preference_only(api: Api) -> None:
    assert api.call("PUT", "/me/preferences", body={"email": "each"})[:2] == (200, {"email": "each"})
    assert api.call("GET", "/me/preferences")[:2] == (200, {"email": "each"})
    assert api.call("GET", "/me/preferences", sub=BOB)[:2] == (200, {"email": "digest"})
    assert api.call("PUT", "/me/preferences", sub=BOB, body={"email": "none"})[:2] == (200, {"email": "none"})
    assert api.call("GET", "/me/preferences")[:2] == (200, {"email": "each"})
    item = api.dynamodb.get_item(TableName=SETTINGS_TABLE, Key={"owner": {"S": ALICE}})["Item"]
    assert item["email"] == {"S": "each"} and "updated_at" in item


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"email": "weekly"}, "email must be one of each, digest, none"),
        ({}, "email must be one of"),
        ({"email": "each", "owner": "someone-else"}, "unknown field: owner"),
        ("not json", "not valid JSON"),
    ],
)
def test_a_bad_preference_is_400_and_changes_nothing(api: Api, body: object, message: str) -> None:
    status, error, _ = api.call("PUT", "/me/preferences", body=body)
    assert status == 400 and message in error["message"], error
    assert api.call("GET", "/me/preferences")[:2] == (200, {"email": "digest"})


def test_an_unverified_email_may_not_read_or_set_preferences(api: Api) -> None:
    assert api.call("GET", "/me/preferences", email_verified="false")[0] == 403
    assert api.call("PUT", "/me/preferences", body={"email": "none"}, email_verified="false")[0] == 403
    assert api.call("GET", "/me/preferences")[:2] == (200, {"email": "digest"})
