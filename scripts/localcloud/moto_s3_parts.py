"""moto's state dump (`GET /moto-api/data.json`, where the tests read SES's sent mail) with S3 multipart
parts in it.

Why: moto keeps every model instance it ever made for that dump, the parts of multipart uploads
included (a part is a FakeKey with no bucket). Reading a FakeKey's `status` looks its bucket up when the
restore state moves to RESTORED, which it does at once for a part: the lookup raises NoSuchBucket, the
dump answers 500, and after the first UploadPart no test of the session could read the emails again.
A part has no bucket and nothing to announce, so its status is the state machine's alone.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.moto_api._internal.managed_state_model import ManagedState
from moto.s3.models import FakeKey

_lock = threading.Lock()
_installed = False
_ORIGINAL_STATUS: property = FakeKey.status  # type: ignore[assignment]


def _status(key: Any) -> str | None:
    if key.bucket_name is None:  # a multipart upload's part
        return ManagedState.status.fget(key)  # type: ignore[attr-defined, no-any-return]
    return _ORIGINAL_STATUS.fget(key)  # type: ignore[misc, no-any-return]


def install() -> None:
    """Idempotent."""
    global _installed
    with _lock:
        if _installed:
            return
        FakeKey.status = property(_status, _ORIGINAL_STATUS.fset)  # type: ignore[assignment, method-assign]
        _installed = True
