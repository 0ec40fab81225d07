"""The soak's client: the `intake upload` command's own code (IntakeApi.upload_file: POST /uploads,
then the presigned POST), signed in as the soak's user.

An upload the client could not make (an API worker killed mid-request answers 502) is started again
from the beginning, as a user would run `intake upload` again, up to `attempts` times; each time is
counted. A POST /uploads that failed may leave a pending record behind: abandoned, it expires.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from intake_cli import config
from intake_cli.api import IntakeApi
from intake_cli.cognito import sign_in
from intake_cli.errors import IntakeError


@dataclass(frozen=True)
class Upload:
    """One upload the client made: S3 accepted its bytes."""

    upload_id: str
    filename: str
    bad: bool  # a file the pipeline must reject


@dataclass
class ClientTally:
    """What the client went through, across its threads."""

    uploaded: list[Upload] = field(default_factory=list)
    restarts: int = 0  # uploads started again after an error
    failures: list[str] = field(default_factory=list)  # uploads given up, with the last error
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def sign_in_api(api_url: str, email: str, password: str) -> IntakeApi:
    settings = config.discover(api_url=api_url)  # the user pool and client ids from the API's config.js
    return IntakeApi(settings, sign_in(settings, email, password))


class Backlog:
    """At most `limit` uploads in the pipeline (started, not yet announced): the client waits for the
    pipeline rather than piling thousands of messages into the queues (moto's SQS slows down as a
    queue deepens, and then every batch runs past its timeout)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._started = self._announced = 0
        self._changed = threading.Condition()

    def enter(self, timeout_s: float | None = None) -> bool:
        """Take a place in the pipeline, waiting for one (at most `timeout_s`); False if none came."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._started - self._announced < self.limit, timeout_s):
                return False
            self._started += 1
            return True

    def announced(self, count: int) -> None:
        """The pipeline has announced `count` uploads so far."""
        with self._changed:
            self._announced = count
            self._changed.notify_all()

    def open(self) -> None:
        """No limit any more (the soak is ending: no upload thread may stay blocked)."""
        with self._changed:
            self.limit = 2**62
            self._changed.notify_all()

    def give_back(self) -> None:
        """An upload given up: it will never be announced."""
        with self._changed:
            self._started -= 1
            self._changed.notify_all()


class Client:
    def __init__(
        self, api: IntakeApi, *, backlog: int = 1_000_000, attempts: int = 4, backoff_s: float = 0.5
    ) -> None:
        self.api, self.attempts, self.backoff_s = api, attempts, backoff_s
        self.tally = ClientTally()
        self.backlog = Backlog(backlog)

    def upload(self, path: Path, bad: bool) -> None:
        self.backlog.enter()
        error = ""
        for attempt in range(self.attempts):
            if attempt:
                with self.tally.lock:
                    self.tally.restarts += 1
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                grant = self.api.upload_file(path)
            except IntakeError as exc:
                error = str(exc)
                continue
            with self.tally.lock:
                self.tally.uploaded.append(Upload(str(grant["upload_id"]), path.name, bad))
            return
        self.backlog.give_back()
        with self.tally.lock:
            self.tally.failures.append(f"{path.name}: {error}")

    def start(
        self, files: list[tuple[Path, bool]], concurrency: int, on_done: Callable[[], None]
    ) -> tuple[ThreadPoolExecutor, list[Future[None]]]:
        """Upload every (path, bad) in the background, `concurrency` at a time; `on_done` after each."""
        pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="soak-upload")
        futures = []
        for path, bad in files:
            future = pool.submit(self.upload, path, bad)
            future.add_done_callback(lambda _: on_done())
            futures.append(future)
        return pool, futures
