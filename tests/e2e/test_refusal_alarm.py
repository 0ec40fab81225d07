"""The one failure nothing retries, as ops live it (docs/runbook.md, RefusalsNotAnnouncedAlarm).

A real fault (the API role loses its sns:Publish on FinishedTopic) stops the API announcing a multipart
upload it refuses at completion: the caller still gets its 400 and the record says why, but no email
goes out. The API counts it (EMF), the alarm fires and emails ops; ops find the upload in the API's
log and announce it with `intake ops announce`, as the runbook says; the owner gets exactly one email
(however often it is announced again), and the alarm returns to OK.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from typer.testing import CliRunner

from intake_cli.app import app
from localcloud.cloud import LocalCloud
from tests.e2e.conftest import Uploader, wait_for
from tests.e2e.test_api import User, new_user
from tests.e2e.test_multipart_api import SIZE, TOO_MANY, call, parts_one_mib_too_many, start
from tests.e2e.test_ops import alarm_state, emails, ops, ops_mailbox

pytestmark = pytest.mark.e2e


@pytest.fixture
def api_role_without_publish(cloud: LocalCloud) -> Iterator[None]:
    """The API role's inline policy without its PublishFinished statement, restored afterwards."""
    assert cloud.deployment
    iam, role = cloud.client("iam"), cloud.deployment.resources["ApiFunctionRole"]
    documents = {
        name: iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    }
    ((name, document),) = [
        (n, d) for n, d in documents.items() if any(s.get("Sid") == "PublishFinished" for s in d["Statement"])
    ]
    kept = [s for s in document["Statement"] if s.get("Sid") != "PublishFinished"]
    iam.put_role_policy(
        RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document | {"Statement": kept})
    )
    try:
        yield
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))


def logged_messages(cloud: LocalCloud, upload_id: str) -> list[str]:
    """The `finished_message` of the API's "refused upload not announced" lines for this upload."""
    assert cloud.deployment
    group = f"/aws/lambda/{cloud.deployment.resources['ApiFunction']}"
    events = cloud.client("logs").filter_log_events(
        logGroupName=group, filterPattern='"refused upload not announced"'
    )["events"]
    lines = [json.loads(e["message"]) for e in events if e["message"].startswith("{")]
    return [line["finished_message"] for line in lines if line.get("upload_id") == upload_id]


def test_a_refusal_the_api_cannot_announce_alarms_and_the_runbook_announces_it_once(
    cloud: LocalCloud, uploader: Uploader, api_role_without_publish: None
) -> None:
    assert cloud.deployment
    alarm = cloud.deployment.resources["RefusalsNotAnnouncedAlarm"]
    mailbox = ops_mailbox(cloud)
    wait_for(lambda: alarm_state(cloud, alarm) == "OK", 30, "the refusal alarm to be OK")
    alarm_emails_before = len(emails(cloud, mailbox, f'ALARM: "{alarm}"'))
    frank: User = new_user(cloud)

    created = start(cloud.api_url, frank, SIZE)
    upload_id = created["upload_id"]
    listed = parts_one_mib_too_many(cloud, created)
    refused = call(cloud.api_url, frank, "POST", f"{upload_id}/complete", {"parts": listed})
    assert (refused.status_code, refused.json()) == (400, {"message": TOO_MANY})
    item = requests.get(f"{cloud.api_url}/uploads/{upload_id}", headers=frank.auth, timeout=30).json()
    assert (item["status"], item["status_reasons"]) == ("rejected", [TOO_MANY])

    # Counted, alarmed, and ops are told.
    wait_for(lambda: alarm_state(cloud, alarm) == "ALARM", 60, "the refusal alarm to fire")
    wait_for(
        lambda: len(emails(cloud, mailbox, f'ALARM: "{alarm}"')) > alarm_emails_before,
        30,
        "the ALARM email to ops",
    )
    assert uploader.emails_to(frank.email) == []  # nobody announced it

    # The runbook: the API's log names the upload (and holds the message); `intake ops announce`
    # publishes its upload.finished again from the record.
    (message,) = wait_for(lambda: logged_messages(cloud, upload_id), 30, "the API's log line")
    assert json.loads(message) | {"version": "v"} == {
        "type": "upload.finished",
        "upload_id": upload_id,
        "status": "rejected",
        "version": "v",
    }
    # An unknown id beside it is refused in a sentence (exit code 1); the upload is still announced.
    result = CliRunner().invoke(
        app, ["ops", "announce", upload_id, "no-such-upload", "--json", "--endpoint", cloud.endpoint]
    )
    assert result.exit_code == 1, result.output
    answer = json.loads(result.stdout)
    assert answer["announced"] == [{"upload_id": upload_id, "status": "rejected", "result": "published"}]
    assert answer["errors"] == [f"no upload 'no-such-upload' in {cloud.outputs['IndexTableName']}"]
    (email,) = wait_for(lambda: uploader.emails_to(frank.email), 60, "the owner's email")
    assert email["subject"] == 'Your upload "big.jpg" was rejected' and f"- {TOO_MANY}" in email["body"]
    # Asked again (or the logged message published by hand): still one email.
    wait_for(
        lambda: ops(cloud, "announce", upload_id)["announced"][0]["result"] == "already announced",
        30,
        "the upload to be marked announced",
    )
    cloud.client("sns").publish(TopicArn=cloud.outputs["FinishedTopicArn"], Message=message)
    wait_for(lambda: uploader.queue_depth("NotifyQueueUrl") == 0, 90, "the notify queue to drain")
    assert len(uploader.emails_to(frank.email)) == 1
    wait_for(lambda: alarm_state(cloud, alarm) == "OK", 60, "the refusal alarm to return to OK")
