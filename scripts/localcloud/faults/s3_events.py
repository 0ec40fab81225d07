"""S3 event notifications published twice, as S3 may deliver an event more than once.

Wraps moto's S3 -> SNS path (``moto.s3.notifications._send_sns_message``, on top of the local cloud's
delivery checks when those are installed); :meth:`DuplicateS3Events.uninstall` restores what it
wrapped, so install and uninstall in the reverse order of other hooks on the same path.
"""

from __future__ import annotations

import random
import threading
from typing import Any

from .rates import DUPLICATE_S3_EVENT, Counts


class DuplicateS3Events:
    def __init__(self, rate: float, counts: Counts, rng: random.Random | None = None) -> None:
        self.rate, self.counts = rate, counts
        self._rng = rng or random.Random()
        self._original: Any = None
        self._lock = threading.Lock()

    def wrap(self, original: Any) -> Any:
        """``original`` (account, event body, topic ARN, region) -> None, sending some events twice."""

        def send(account_id: str, event_body: Any, topic_arn: str, region_name: str) -> None:
            original(account_id, event_body, topic_arn, region_name)
            if self._rng.random() < self.rate and _is_object_event(event_body):
                self.counts.add(DUPLICATE_S3_EVENT, topic_arn.rsplit(":", 1)[-1])
                original(account_id, event_body, topic_arn, region_name)

        return send

    def install(self) -> None:
        from moto.s3 import notifications

        with self._lock:
            if self._original is None:
                self._original = notifications._send_sns_message
                notifications._send_sns_message = self.wrap(self._original)

    def uninstall(self) -> None:
        from moto.s3 import notifications

        with self._lock:
            if self._original is not None:
                notifications._send_sns_message = self._original
                self._original = None


def _is_object_event(event_body: Any) -> bool:
    # s3:TestEvent has no Records: S3 sends it once, when the configuration is set.
    return isinstance(event_body, dict) and bool(event_body.get("Records"))
