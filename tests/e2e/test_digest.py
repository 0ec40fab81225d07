"""Digest emails on the local cloud.

- A burst of 20 uploads from one user, with every upload.finished message delivered again (twice as
  the upload finishes, once more after all were announced): each upload appears in exactly one email.
- The preference is the user's: the CLI sets it through the API, and notify follows it
  (tests/e2e/test_cli.py); the page's select: tests/browser/test_preferences_page.py.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from intake.records import Records
from intake.status import FINAL_STATUSES
from localcloud.cloud import LocalCloud
from tests.e2e.conftest import Uploader, wait_for
from tests.support import images

pytestmark = pytest.mark.e2e

BURST = 20


def listed_ids(emails: list[dict[str, object]]) -> Counter[str]:
    """How many of these emails list each upload id (a digest line or a single email: "(id <id>)")."""
    return Counter(i for m in emails for i in re.findall(r"\(id ([0-9a-f]+)\)", str(m["body"])))


def test_a_burst_with_duplicate_deliveries_is_announced_once_per_upload(
    cloud: LocalCloud, uploader: Uploader, records: Records
) -> None:
    owner = f"digest-{uuid.uuid4().hex[:10]}"
    address = f"{owner}@example.com"
    ids = [uuid.uuid4().hex for _ in range(BURST)]
    body = images.jpeg(320, 240)
    with ThreadPoolExecutor(8) as pool:  # one burst: all twenty at once
        list(pool.map(lambda u: uploader.upload(owner, u, f"photo-{u[:6]}.jpg", body, email=address), ids))

    sqs, queue = cloud.client("sqs"), cloud.outputs["NotifyQueueUrl"]
    messages: dict[str, str] = {}

    def deliver_again(upload_id: str, times: int) -> None:
        for _ in range(times):
            sqs.send_message(QueueUrl=queue, MessageBody=messages[upload_id])

    def announced() -> bool:
        done = 0
        for upload_id in ids:
            record = records.get(upload_id)
            if record is None or record.status not in FINAL_STATUSES:
                continue
            if upload_id not in messages:  # just finished: duplicate its upload.finished, twice
                finished = {"type": "upload.finished", "upload_id": upload_id}
                finished |= {"status": record.status.value, "version": str(record.status_version)}
                messages[upload_id] = json.dumps(finished)
                deliver_again(upload_id, 2)
            done += record.notified is not None
        return done == len(ids)

    wait_for(announced, 180, "every upload of the burst to be announced")
    for upload_id in ids:  # a late redelivery of the whole burst
        deliver_again(upload_id, 1)
    wait_for(lambda: uploader.queue_depth("NotifyQueueUrl") == 0, 90, "the notify queue to drain")

    emails = uploader.emails_to(address)
    assert listed_ids(emails) == Counter({u: 1 for u in ids}), [m["subject"] for m in emails]
    assert len(emails) <= BURST
    print(f"\n{BURST} uploads, {3 * BURST} duplicate deliveries: {len(emails)} emails")
    details = {r.notified.detail for u in ids if (r := records.get(u)) is not None and r.notified}
    assert all(" (digest " in d for d in details) and len(details) == len(emails)
