"""DynamoDB requests one at a time, as each is atomic on AWS.

moto's DynamoDB is not thread-safe: concurrent UpdateItem calls on one item from the threaded server
can fail with "dictionary changed size during iteration" (a 500 that AWS never returns). The local cloud
serves each DynamoDB request under one lock; the table's throughput here is far above what it needs.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from moto.dynamodb.responses import DynamoHandler

# Held while moto's DynamoDB serves a request; in-process readers of its tables (the bench) take it too.
LOCK = threading.Lock()
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    original = DynamoHandler.call_action

    @functools.wraps(original)
    def call_action(self: DynamoHandler) -> Any:
        with LOCK:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _installed = True
