"""One local cloud for the whole e2e session, on a free port (a running `make up` keeps 4566)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from intake.keys import UploadKey
from intake.metadata import UploadMetadata, encode_metadata
from intake.records import Records, UploadRecord
from intake.status import FINAL_STATUSES
from intake_build.artifacts import build
from localcloud.cloud import LocalCloud
from localcloud.server import free_port

# Short timeouts so retries and the DLQ show within a minute; the 6x ratio of the template is kept.
# Every local client is 127.0.0.1, so WAF's per-IP rule counts the whole session as one client: its
# limit is raised (tests/e2e/test_waf.py lowers it through the WAFv2 API to see it block).
E2E_PARAMETERS = {"FunctionTimeout": "3", "QueueVisibilityTimeout": "18", "ApiRateLimitPerIp": "100000"}
# Notify gathers a batch (one digest email per owner) for 2 s, not the default 20: every email waits for it.
E2E_PARAMETERS["NotifyBatchingWindowSeconds"] = "2"
# Multipart uploads above 8 MiB in parts of 5 MiB (S3's smallest), not 100 MiB in parts of 16 MiB: an
# 11 MiB upload has three parts (tests/e2e/test_multipart_api.py), the page's resume test sends 22 MiB
# in five (tests/browser/test_multipart_page.py), the CLI's 150 MiB goes in 30 (test_multipart_cli.py).
E2E_PARAMETERS |= {
    "MultipartThresholdBytes": str(8 * 1024 * 1024),
    "MultipartMinPartBytes": str(5 * 1024 * 1024),
}
# HEIC/HEIF and AVIF are allowlist options (the template's default leaves them out): the session allows
# them so tests/e2e/test_heic_avif.py can push real ones through the pipeline; and PDFs
# (tests/e2e/test_filetypes.py: a document without thumbnails; the refusal of a type not allowed goes
# through video/mp4, so one stack serves both).
E2E_PARAMETERS["AllowedContentTypes"] = (
    "image/jpeg,image/png,image/webp,image/gif,image/heic,image/heif,image/avif,application/pdf"
)
# Alarm periods pass 30x faster: a 60 s period is 2 s (metric values such as ages stay real).
E2E_TIME_SCALE = 30.0


_SESSION_CLOUD = pytest.StashKey[LocalCloud]()
# Judges what the whole session did (the grants the functions' roles used): runs after everything else.
_RUNS_LAST = "test_grants.py"
_ON_CLOUD = ("e2e", "browser")  # the folders whose tests run on the session cloud


def _on_cloud(item: pytest.Item) -> bool:
    return item.path.parent.name in _ON_CLOUD


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The grants tests right after the last test on the session cloud (e2e, browser): later tests
    (mock_aws, packaging) reset moto's state, which the session cloud shares (one moto per process).
    The cloud stops right after that last test (:class:`StopAfterLastTestOnCloud`)."""
    last = [i for i in items if i.path.name == _RUNS_LAST and i.path.parent.name == "e2e"]
    rest = [i for i in items if i not in last]
    on_cloud = [n for n, i in enumerate(rest) if _on_cloud(i)]
    at = on_cloud[-1] + 1 if on_cloud else len(rest)
    items[:] = rest[:at] + last + rest[at:]
    if not config.pluginmanager.has_plugin(StopAfterLastTestOnCloud.NAME):
        config.pluginmanager.register(StopAfterLastTestOnCloud(), StopAfterLastTestOnCloud.NAME)


class StopAfterLastTestOnCloud:
    """Stops the session cloud in the teardown of the last test that may use it. Left running, its
    pollers (and alarms, fronts, function environments) would live on through the mock_aws tests,
    whose reset empties the moto they share: every poller retries 'queue does not exist' until pytest
    ends, and the last retries are printed after the summary. A plugin, not a conftest hook, so that it
    sees tests/browser's tests too."""

    NAME = "intake-e2e-session-cloud"

    def __init__(self) -> None:
        self.last: pytest.Item | None = None

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # The items as they will run: reordered and deselected (-k, -m) by every plugin.
        on_cloud = [i for i in session.items if _on_cloud(i)]
        self.last = on_cloud[-1] if on_cloud else None

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        if item is self.last:
            stop_session_cloud(item.config)


def session_cloud(config: pytest.Config) -> LocalCloud:
    """The session's one local cloud, started on first use and stopped after the last test on it (or
    when pytest ends, if it ends before). moto's state is per process, so a second cloud in this process
    would collide with the first (tests/browser shares it)."""
    if _SESSION_CLOUD not in config.stash:
        running = LocalCloud(
            build(), port=free_port(), parameters=E2E_PARAMETERS, time_scale=E2E_TIME_SCALE
        ).start()
        config.stash[_SESSION_CLOUD] = running
        config.add_cleanup(lambda: stop_session_cloud(config))
    return config.stash[_SESSION_CLOUD]


def stop_session_cloud(config: pytest.Config) -> None:
    running = config.stash.get(_SESSION_CLOUD, None)
    if running is not None:
        del config.stash[_SESSION_CLOUD]
        running.stop()


@pytest.fixture(scope="session")
def cloud(pytestconfig: pytest.Config) -> LocalCloud:
    return session_cloud(pytestconfig)


@pytest.fixture(scope="session")
def records(cloud: LocalCloud) -> Records:
    return Records(cloud.outputs["IndexTableName"], client=cloud.client("dynamodb"))


def wait_for(check: Callable[[], Any], timeout_s: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.25)


class Uploader:
    def __init__(self, cloud: LocalCloud, records: Records) -> None:
        self.cloud, self.records = cloud, records
        self.s3 = cloud.client("s3")

    def upload(
        self,
        owner: str,
        upload_id: str,
        filename: str,
        body: bytes,
        content_type: str = "image/jpeg",
        email: str | None = "owner@example.com",
    ) -> UploadKey:
        key = UploadKey(owner=owner, upload_id=upload_id, filename=filename)
        self.records.create_pending(key, owner_email=email, content_type=content_type, size=len(body))
        metadata = encode_metadata(UploadMetadata(owner=owner, upload_id=upload_id, filename=filename))
        self.s3.put_object(
            Bucket=self.cloud.outputs["UploadBucketName"],
            Key=key.key,
            Body=body,
            ContentType=content_type,
            Metadata=metadata,
        )
        return key

    def final(self, upload_id: str, timeout_s: float = 60) -> UploadRecord:
        def check() -> UploadRecord | None:
            item = self.records.get(upload_id)
            return item if item and item.status in FINAL_STATUSES and item.notified else None

        return wait_for(check, timeout_s, f"upload {upload_id} to be final and announced")  # type: ignore[no-any-return]

    def emails_to(self, address: str) -> list[dict[str, Any]]:
        data = requests.get(f"{self.cloud.endpoint}/moto-api/data.json", timeout=10).json()
        return [m for m in data["ses"]["Message"] if address in m["destinations"]["ToAddresses"]]

    def queue_depth(self, output: str) -> int:
        attributes = self.cloud.client("sqs").get_queue_attributes(
            QueueUrl=self.cloud.outputs[output],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


@pytest.fixture(scope="session")
def uploader(cloud: LocalCloud, records: Records) -> Uploader:
    return Uploader(cloud, records)
