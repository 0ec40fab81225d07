"""API function: the uploads API behind API Gateway (REST, Cognito user pool authorizer, Lambda proxy).

The authorizer has already verified the ID token; its claims arrive in
`requestContext.authorizer.claims`. `sub` owns the uploads, `email` receives the outcome emails, and
a caller whose `email_verified` claim is not true is refused (403) on every route.
Importing this module reads and checks the function's settings (intake.settings.ApiSettings).
"""

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from intake.api import Caller, NotFound, NotOpenMultipart, PreferencesApi, UploadsApi
from intake.settings import ApiSettings
from intake.uploads import BadRequest, EmailNotVerified, email_verified, upload_method

settings = ApiSettings.from_env()
logger = Logger()
metrics = Metrics()
app = APIGatewayRestResolver(
    cors=CORSConfig(
        allow_origin=settings.cors_origin,
        allow_headers=["Authorization", "Content-Type"],
        max_age=600,
    )
)
uploads = UploadsApi(settings)
preferences = PreferencesApi(settings)


class Unauthorized(Exception):
    """No usable claims: API Gateway should never let such a request through."""


def _error(status: int, message: str) -> Response[str]:
    return Response(status, content_types.APPLICATION_JSON, json.dumps({"message": message}))


@app.exception_handler(BadRequest)  # type: ignore[untyped-decorator]
def bad_request(exc: BadRequest) -> Response[str]:
    return _error(400, str(exc))


@app.exception_handler(NotFound)  # type: ignore[untyped-decorator]
def not_found(exc: NotFound) -> Response[str]:
    return _error(404, "upload not found")


@app.exception_handler(NotOpenMultipart)  # type: ignore[untyped-decorator]
def not_open_multipart(exc: NotOpenMultipart) -> Response[str]:
    return _error(409, exc.message)


@app.exception_handler(Unauthorized)  # type: ignore[untyped-decorator]
def unauthorized(exc: Unauthorized) -> Response[str]:
    return _error(401, "Unauthorized")


@app.exception_handler(EmailNotVerified)  # type: ignore[untyped-decorator]
def email_not_verified(exc: EmailNotVerified) -> Response[str]:
    return _error(403, exc.message)


def body_text() -> str | None:
    """The request body as text; powertools decodes a body API Gateway had to base64-encode."""
    try:
        return app.current_event.decoded_body
    except ValueError:  # binascii.Error and UnicodeDecodeError both are
        raise BadRequest("the body is not valid JSON") from None


def caller() -> Caller:
    claims = app.current_event.request_context.authorizer.claims or {}
    sub = claims.get("sub")
    if not sub:
        raise Unauthorized
    if not email_verified(claims):
        raise EmailNotVerified
    return Caller(sub=sub, email=claims.get("email") or None)


@app.post("/uploads")
def create_upload() -> tuple[dict[str, Any], int]:
    method = upload_method(app.current_event.get_query_string_value("method"))
    created = uploads.create(caller(), body_text(), method)
    metrics.add_metric(name="UploadsPresigned", unit=MetricUnit.Count, value=1)
    return created, 201


@app.get("/uploads")
def list_uploads() -> dict[str, Any]:
    return uploads.list(caller(), app.current_event.query_string_parameters)


@app.get("/uploads/<upload_id>")
def get_upload(upload_id: str) -> dict[str, Any]:
    return uploads.get(caller(), upload_id)


@app.delete("/uploads/<upload_id>")
def delete_upload(upload_id: str) -> Response[str]:
    uploads.delete(caller(), upload_id)
    return Response(204, None, "")


# Multipart uploads: POST /uploads answers a part plan above the threshold; these go on.
@app.post("/uploads/<upload_id>/parts")
def part_urls(upload_id: str) -> dict[str, Any]:
    return uploads.part_urls(caller(), upload_id, body_text())


@app.get("/uploads/<upload_id>/parts")
def list_parts(upload_id: str) -> dict[str, Any]:
    return uploads.parts(caller(), upload_id)


@app.post("/uploads/<upload_id>/complete")
def complete_upload(upload_id: str) -> dict[str, Any]:
    return uploads.complete(caller(), upload_id, body_text())


@app.post("/uploads/<upload_id>/abort")
def abort_upload(upload_id: str) -> Response[str]:
    uploads.abort(caller(), upload_id)
    return Response(204, None, "")


@app.get("/me/preferences")
def get_preferences() -> dict[str, Any]:
    return preferences.get(caller())


@app.put("/me/preferences")
def put_preferences() -> dict[str, Any]:
    return preferences.put(caller(), body_text())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
