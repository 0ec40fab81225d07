"""Each user's settings: how they want to hear of their finished uploads.

`email` is one of:
- `digest` (the default): the uploads of a burst are announced in one email (see announce.py);
- `each`: one email per upload;
- `none`: no email (the record still shows the outcome, and that it was not mailed).

Stored in the user-settings table (USER_SETTINGS_TABLE), one item per user keyed by `owner` (the
Cognito `sub`, as on the upload records): the API reads and writes the caller's own item, notify reads
one item per owner per batch. Not a Cognito custom attribute: notify would need the AdminGetUser API
(a low per-account rate quota, and cognito-idp rights for a consumer), and the ID token carries a
changed attribute only after the next sign-in or refresh. A user without an item has the default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from intake import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class EmailPreference(StrEnum):
    EACH = "each"
    DIGEST = "digest"
    NONE = "none"


DEFAULT_EMAIL_PREFERENCE = EmailPreference.DIGEST


class InvalidPreferences(ValueError):
    """The request body is not a valid preferences object; the message says why, in one sentence."""


@dataclass(frozen=True)
class Preferences:
    email: EmailPreference = DEFAULT_EMAIL_PREFERENCE

    def to_json(self) -> dict[str, Any]:
        return {"email": self.email.value}


def parse_preferences(body: str | None) -> Preferences:
    """`{"email": "each" | "digest" | "none"}`, nothing else."""
    try:
        payload = json.loads(body or "")
    except ValueError:
        raise InvalidPreferences("the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidPreferences("the body must be a JSON object")
    unknown = sorted(set(payload) - {"email"})
    if unknown:
        raise InvalidPreferences(f"unknown field: {unknown[0][:64]}")
    allowed = ", ".join(p.value for p in EmailPreference)
    value = payload.get("email")
    if not isinstance(value, str) or value not in set(EmailPreference):
        raise InvalidPreferences(f"email must be one of {allowed}")
    return Preferences(email=EmailPreference(value))


class UserSettings:
    """The user-settings table: GetItem and PutItem of one user's item."""

    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    def get(self, owner: str) -> Preferences:
        item = self.client.get_item(
            TableName=self.table, Key={"owner": {"S": owner}}, ProjectionExpression="email"
        ).get("Item")
        stored = (item or {}).get("email", {}).get("S")
        if stored in set(EmailPreference):
            return Preferences(email=EmailPreference(stored))
        return Preferences()

    def put(self, owner: str, preferences: Preferences) -> Preferences:
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self.client.put_item(
            TableName=self.table,
            Item={"owner": {"S": owner}, "email": {"S": preferences.email.value}, "updated_at": {"S": now}},
        )
        return preferences
