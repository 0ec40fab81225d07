"""Counts of the emulator's requests by service, action and caller, as a WSGI middleware.

Why: the local cloud's speed is the emulator's, and the emulator's work is the number of requests times
their cost. The bench reads these counts (per upload) to show which calls the pipeline and the local
cloud itself make. Counting reads headers only: it never touches the body.

Service and caller come from the SigV4 credential scope; the action from ``X-Amz-Target`` (JSON
services), the ``Action`` query parameter, or else the method and the first path segment (REST:
S3, Lambda). A query-protocol action sent in the body (SNS, SES, STS via boto3) counts as ``POST``.

DynamoDB item requests are also counted per table (``table_counts``, ``table_requests``): their
``TableName`` is in the JSON body, the one body this reads (and hands on unchanged).
"""

from __future__ import annotations

import io
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

ADMIN_KEY = "test"  # the local administrator's access key (the local cloud itself, tests, the bench)


def request_key(environ: Environ) -> tuple[str, str, str]:
    """(service, action, caller) of one request; caller is "admin" or "role" or "anonymous"."""
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    service, caller = "", "anonymous"
    if "Credential=" in authorization:
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            service = scope[3]
        caller = "admin" if scope[0] == ADMIN_KEY else "role"
    method = str(environ.get("REQUEST_METHOD", ""))
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    query = str(environ.get("QUERY_STRING", ""))
    if target:
        action = target.rsplit(".", 1)[-1]
    elif "Action=" in query:
        action = dict(parse_qsl(query)).get("Action", method)
    else:
        path = str(environ.get("PATH_INFO", "")).strip("/")
        if not service:
            service = "s3" if path and not path.startswith(("moto-api", "_localcloud")) else "other"
        segments = path.split("/")
        # S3: bucket requests and object requests; Lambda and other REST APIs: their first segment.
        what = segments[0] if service not in ("s3",) else ("object" if len(segments) > 1 else "bucket")
        action = f"{method} {what}".strip()
    return service or "other", action, caller


DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
DYNAMODB_READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})


def dynamodb_tables(environ: Environ) -> list[str]:
    """The tables a DynamoDB request names (TableName, RequestItems, TransactItems); the body stays readable."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ.pop("wsgi.input_terminated", None)
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return []
    if not isinstance(request, dict):
        return []
    tables = [request["TableName"]] if isinstance(request.get("TableName"), str) else []
    tables += list(request.get("RequestItems") or {})
    for item in request.get("TransactItems") or []:
        tables += [op["TableName"] for op in item.values() if isinstance(op, dict) and "TableName" in op]
    return [str(t).rsplit("/", 1)[-1] for t in tables]  # a table ARN counts as its name


def access_key(environ: Environ) -> str:
    """The access key id that signed the request ("" if unsigned): whose request it was."""
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    if "Credential=" not in authorization:
        return ""
    return authorization.split("Credential=", 1)[1].split("/", 1)[0]


# (table, action, access key id, refused: the answer was a 4xx such as a failed condition) -> requests
TableCounts = Counter[tuple[str, str, str, bool]]


def table_requests(counts: TableCounts, table: str) -> dict[str, int]:
    """Reads and writes of `table` (a failed conditional write counts: DynamoDB charges it too), and
    how many of the writes were refused (a failed condition: a lost race)."""
    mine = [(action, refused, n) for (name, action, _, refused), n in counts.items() if name == table]
    return {
        "writes": sum(n for action, _, n in mine if action in DYNAMODB_WRITES),
        "reads": sum(n for action, _, n in mine if action in DYNAMODB_READS),
        "refused_writes": sum(n for action, refused, n in mine if refused and action in DYNAMODB_WRITES),
    }


class RequestStats:
    """The middleware: ``counts()`` is a snapshot of every (service, action, caller) counted so far."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._tables: TableCounts = Counter()
        self._lock = threading.Lock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        key = request_key(environ)
        service, action, _ = key
        with self._lock:
            self._counts[key] += 1
        if service == "dynamodb" and action in DYNAMODB_READS | DYNAMODB_WRITES:
            tables, caller = dynamodb_tables(environ), access_key(environ)

            def answered(status: str, headers: Any, *exc_info: Any) -> Any:
                refused = status[:1] == "4"
                with self._lock:
                    for table in tables:
                        self._tables[(table, action, caller, refused)] += 1
                return start_response(status, headers, *exc_info)

            return self.app(environ, answered)
        return self.app(environ, start_response)

    def table_counts(self) -> TableCounts:
        """A snapshot of the DynamoDB item requests by (table, action, access key id, refused)."""
        with self._lock:
            return Counter(self._tables)

    def counts(self) -> Counter[tuple[str, str, str]]:
        with self._lock:
            return Counter(self._counts)


def difference(
    after: Counter[tuple[str, str, str]], before: Counter[tuple[str, str, str]]
) -> Counter[tuple[str, str, str]]:
    """The requests made between two snapshots."""
    return Counter({k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0) > 0})
