"""Signing in to the user pool: USER_PASSWORD_AUTH (with the new-password challenge) and refresh.

The calls are unauthenticated, so the client is unsigned and needs no AWS credentials.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from intake_cli.config import Settings, Tokens
from intake_cli.errors import IntakeError

# Refresh a little before the ID token expires, so it does not expire in flight.
EXPIRY_LEEWAY_S = 60


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified: the CLI only needs `exp` and `email`, the API verifies."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:
        raise IntakeError("the saved ID token is malformed: run `intake login`") from exc
    return claims if isinstance(claims, dict) else {}


def token_expired(token: str, now: float | None = None) -> bool:
    exp = jwt_claims(token).get("exp")
    return not isinstance(exp, int | float) or exp - EXPIRY_LEEWAY_S <= (now or time.time())


def _cognito(settings: Settings) -> Any:
    from botocore import UNSIGNED
    from botocore.config import Config

    from intake_tools.session import Target

    # InitiateAuth and friends are unauthenticated: unsigned, so no AWS credentials are needed, and the
    # endpoint is the one the settings name (AWS's or the local cloud's).
    return Target(endpoint_url=settings.cognito_endpoint, region=settings.region).client(
        "cognito-idp", config=Config(signature_version=UNSIGNED, retries={"max_attempts": 2})
    )


def _cognito_call(settings: Settings, operation: str, **kwargs: Any) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    try:
        return dict(getattr(_cognito(settings), operation)(**kwargs))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Error"), error.get("Message", "")
        if code in ("NotAuthorizedException", "UserNotFoundException"):
            raise IntakeError(f"sign-in refused: {message or 'wrong email or password'}") from exc
        raise IntakeError(f"sign-in failed ({code}): {message}") from exc
    except EndpointConnectionError as exc:
        raise IntakeError(f"cannot reach Cognito at {settings.cognito_endpoint}") from exc
    except BotoCoreError as exc:
        raise IntakeError(f"sign-in failed: {exc}") from exc


def _tokens(email: str, result: Mapping[str, Any], refresh_token: str | None = None) -> Tokens:
    return Tokens(
        email=email,
        id_token=result["IdToken"],
        access_token=result["AccessToken"],
        refresh_token=result.get("RefreshToken") or refresh_token,
    )


def sign_in(
    settings: Settings, email: str, password: str, new_password: Callable[[], str] | None = None
) -> Tokens:
    """USER_PASSWORD_AUTH; a NEW_PASSWORD_REQUIRED challenge asks `new_password` for the new one."""
    response = _cognito_call(
        settings,
        "initiate_auth",
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=settings.client_id,
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    challenge = response.get("ChallengeName")
    if challenge == "NEW_PASSWORD_REQUIRED":
        if new_password is None:
            raise IntakeError("this account must set a new password: pass --new-password")
        response = _cognito_call(
            settings,
            "respond_to_auth_challenge",
            ClientId=settings.client_id,
            ChallengeName=challenge,
            Session=response["Session"],
            ChallengeResponses={
                # With email as username, Cognito names the user by its internal username here.
                "USERNAME": response.get("ChallengeParameters", {}).get("USERNAME", email),
                "NEW_PASSWORD": new_password(),
            },
        )
        challenge = response.get("ChallengeName")
    if challenge or "AuthenticationResult" not in response:
        raise IntakeError(f"sign-in needs the {challenge} challenge, which the CLI does not support")
    return _tokens(email, response["AuthenticationResult"])


def refresh(settings: Settings, tokens: Tokens) -> Tokens:
    if not tokens.refresh_token:
        raise IntakeError("your session expired: run `intake login`")
    try:
        response = _cognito_call(
            settings,
            "initiate_auth",
            AuthFlow="REFRESH_TOKEN_AUTH",
            ClientId=settings.client_id,
            AuthParameters={"REFRESH_TOKEN": tokens.refresh_token},
        )
    except IntakeError as exc:
        raise IntakeError(
            f"your session expired and could not be renewed ({exc}): run `intake login`"
        ) from exc
    return _tokens(tokens.email, response["AuthenticationResult"], tokens.refresh_token)
