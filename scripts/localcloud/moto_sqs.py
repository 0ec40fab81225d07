"""moto's SQS ReceiveMessage without recounting the whole queue for every message it returns.

Why: for each message it hands out, moto's ``SQSBackend.receive_message`` checks the queue's retention
period through ``get_queue_attributes(queue, ["MessageRetentionPeriod"])``, which builds the full
attribute map three times, and every map counts the queue's visible, in-flight and delayed messages
(each message's ``visible`` and ``delayed`` read the clock through naive ``datetime`` arithmetic). A
receive of ten messages from a queue holding two hundred thus walked the queue sixty times: profiled
under the bench's 200-upload batch it was a sixth of the emulator's samples. The retention period is a
plain attribute of the queue (what that map reports for it), so it is read from there.

moto's SQS reads its clock (``unix_time``, ``unix_time_millis``) as "now in UTC as a naive datetime
minus the epoch", two ``datetime`` constructions per call; the same number is ``time.time()``. The
module's names are rebound to functions that return exactly that for "now" and defer to moto's for any
other instant.
"""

from __future__ import annotations

import datetime
import threading
import time
from typing import Any

from moto.core import utils as moto_utils
from moto.sqs import models as sqs_models

_ORIGINAL_RETENTION_CHECK = sqs_models.SQSBackend.is_message_valid_based_on_retention_period
_ORIGINAL_UNIX_TIME = moto_utils.unix_time
_ORIGINAL_UNIX_TIME_MILLIS = moto_utils.unix_time_millis
_lock = threading.Lock()
_installed = False


def unix_time(dt: datetime.datetime | None = None) -> float:
    """moto's ``unix_time``: seconds since the epoch of ``dt`` (naive UTC), of now when None."""
    if dt is None:
        return time.time()
    return _ORIGINAL_UNIX_TIME(dt)


def unix_time_millis(dt: datetime.datetime | None = None) -> float:
    return unix_time(dt) * 1000.0


def _message_within_retention(self: Any, queue_name: str, message: Any) -> bool:
    queue = self.get_queue(queue_name)
    retain_until = queue.message_retention_period + message.sent_timestamp / 1000
    return bool(retain_until > unix_time())


def install() -> None:
    """Idempotent."""
    global _installed
    with _lock:
        if _installed:
            return
        sqs_models.SQSBackend.is_message_valid_based_on_retention_period = _message_within_retention  # type: ignore[method-assign]
        vars(sqs_models)["unix_time"] = unix_time  # the names moto.sqs.models imported from core.utils
        vars(sqs_models)["unix_time_millis"] = unix_time_millis
        _installed = True


def original_retention_check(backend: Any, queue_name: str, message: Any) -> bool:
    """moto's own check (for the test that the fast path answers the same)."""
    return bool(_ORIGINAL_RETENTION_CHECK(backend, queue_name, message))


def original_unix_time(dt: datetime.datetime | None = None) -> float:
    return float(_ORIGINAL_UNIX_TIME(dt))
