"""Property-based requests generated from infra/cloudformation/openapi.yaml against the local API front,
signed in with a real Cognito ID token: no server errors, and every answer is one the document declares
(status code, content type, body schema)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from localcloud import users
from localcloud.cloud import LocalCloud
from tests.e2e.conftest import wait_for
from tests.support import images

pytestmark = pytest.mark.e2e
OPENAPI = Path(__file__).resolve().parents[2] / "infra" / "cloudformation" / "openapi.yaml"
ALLOWED = ("image/jpeg", "image/png", "image/webp", "image/gif")  # the template's defaults
MAX_UPLOAD_BYTES = 26214400
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_path(OPENAPI)
# Valid requests only: the point is that the API honours its own document (the 400s for invalid input
# are tested in test_api.py and the handler's integration tests).
schema.config.generation.update(modes=[GenerationMode.POSITIVE])


@pytest.fixture(scope="module")
def id_token(cloud: LocalCloud) -> str:
    cognito = cloud.client("cognito-idp")
    client_id = cloud.outputs["UserPoolClientId"]
    return users.sign_in(cognito, client_id, users.DEMO_EMAIL, users.DEMO_PASSWORD).id_token


@pytest.fixture(scope="module")
def known_ids(cloud: LocalCloud, id_token: str) -> list[str]:
    """Uploads that exist, so that generated ids sometimes hit one: a ready one, with thumbnails and
    metadata, and a pending one."""
    headers = {"Authorization": id_token}
    body = images.jpeg(200, 100)
    request: dict[str, Any] = {"filename": "known.jpg", "content_type": "image/jpeg", "size": len(body)}
    ready = requests.post(
        f"{cloud.api_url}/uploads",
        json=request | {"metadata": {"title": "Known", "description": "d", "tags": ["x"]}},
        headers=headers,
        timeout=30,
    ).json()
    form = ready["upload"]
    requests.post(form["url"], data=form["fields"], files={"file": ("f", body, "image/jpeg")}, timeout=30)
    pending = requests.post(f"{cloud.api_url}/uploads", json=request, headers=headers, timeout=30).json()

    def is_ready() -> bool:
        item = requests.get(f"{cloud.api_url}/uploads/{ready['upload_id']}", headers=headers, timeout=30)
        return bool(item.json().get("status") == "ready")

    wait_for(is_ready, 60, "the known upload to be ready")
    return [ready["upload_id"], pending["upload_id"]]


def steer(case: Any, known_ids: list[str]) -> None:
    """Point half the generated cases at data the API accepts, so the success answers (201 with a
    presigned form, pages with items, an upload with its URLs) are checked against the document too."""
    seed = sum(map(ord, repr(case.body) + repr(case.path_parameters) + repr(case.query)))
    if seed % 2:
        return
    if case.operation.label == "POST /uploads" and isinstance(case.body, dict):
        case.body["content_type"] = ALLOWED[seed % len(ALLOWED)]
        case.body["size"] = 1 + seed % MAX_UPLOAD_BYTES
    if case.path_parameters and "upload_id" in case.path_parameters:
        case.path_parameters["upload_id"] = known_ids[seed % len(known_ids)]


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_honours_its_openapi_document(
    case: Any, cloud: LocalCloud, id_token: str, known_ids: list[str]
) -> None:
    steer(case, known_ids)
    case.call_and_validate(
        base_url=cloud.api_url, headers={"Authorization": f"Bearer {id_token}"}, checks=CHECKS, timeout=30
    )
