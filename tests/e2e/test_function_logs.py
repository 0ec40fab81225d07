"""The functions' logs reach CloudWatch Logs as on AWS: each function's log group gets one stream per
execution environment with the platform's START/END/REPORT lines and what the handler logged, written
with the function's execution role (its logs:CreateLogStream/PutLogEvents grants are evaluated)."""

from __future__ import annotations

import functools
import uuid

import pytest
import requests

from localcloud.authz.grants import ALLOWED
from localcloud.cloud import LocalCloud
from tests.e2e.conftest import Uploader, wait_for
from tests.e2e.test_api import new_user
from tests.support import images

pytestmark = pytest.mark.e2e
PLATFORM = ("START RequestId", "END RequestId", "REPORT RequestId")


def logged(cloud: LocalCloud, function: str, *needles: str) -> bool:
    """Whether every needle is in some line of the function's log group."""
    logs = cloud.client("logs")
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}", limit=10_000)["events"]
    messages = [str(e["message"]) for e in events]
    return all(any(needle in m for m in messages) for needle in needles)


def test_each_function_writes_its_log_to_its_log_group_as_its_role(
    cloud: LocalCloud, uploader: Uploader
) -> None:
    upload_id = uuid.uuid4().hex
    uploader.upload("erin", upload_id, "logged.jpg", images.jpeg(), email=f"{upload_id}@example.com")
    assert uploader.final(upload_id).status == "ready"
    user = new_user(cloud)  # and the API function
    assert requests.get(f"{cloud.api_url}/uploads", headers=user.auth, timeout=30).status_code == 200
    assert cloud.deployment is not None
    functions = list(cloud.deployment.code_dirs)
    notify = next(f for f in functions if f.endswith("-notify"))
    wait_for(functools.partial(logged, cloud, notify, upload_id, *PLATFORM), 30, "notify's lines")
    for name in functions:
        wait_for(functools.partial(logged, cloud, name, *PLATFORM), 30, f"{name}'s platform lines")
    lambda_ = cloud.client("lambda")
    roles = {lambda_.get_function_configuration(FunctionName=f)["Role"]: f for f in functions}
    written: dict[str, set[str]] = {}
    for entry in ALLOWED.entries():
        if entry.role in roles and entry.request.action.startswith("logs:"):
            written.setdefault(roles[entry.role], set()).add(entry.request.action)
            group = f"log-group:/aws/lambda/{roles[entry.role]}:log-stream:"
            assert entry.request.resource.split(":", 5)[5].startswith(group), entry.request
    assert written == {name: {"logs:CreateLogStream", "logs:PutLogEvents"} for name in functions}
