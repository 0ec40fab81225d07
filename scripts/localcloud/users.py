"""Cognito users for the local cloud: the ready-made demo user, and sign-in for tests and tools.

Users are created as an administrator would on AWS (AdminCreateUser with a verified email, then
AdminSetUserPassword with Permanent=True), so they can sign in at once without NEW_PASSWORD_REQUIRED.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "Intake-demo-2026!"  # meets Cognito's default password policy


@dataclass(frozen=True)
class Tokens:
    id_token: str
    access_token: str
    refresh_token: str


def create_user(cognito: Any, pool_id: str, email: str, password: str) -> str:
    """A confirmed user with a permanent password; returns its `sub`. Idempotent (resets the password)."""
    with contextlib.suppress(cognito.exceptions.UsernameExistsException):
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",  # no invitation email
        )
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
    user = cognito.admin_get_user(UserPoolId=pool_id, Username=email)
    return next(str(a["Value"]) for a in user["UserAttributes"] if a["Name"] == "sub")


def sign_in(cognito: Any, client_id: str, email: str, password: str) -> Tokens:
    """InitiateAuth with USER_PASSWORD_AUTH, as the CLI does."""
    result = cognito.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )["AuthenticationResult"]
    return Tokens(result["IdToken"], result["AccessToken"], result.get("RefreshToken", ""))
