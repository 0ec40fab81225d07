"""The local cloud counts DynamoDB requests per table and caller; the bench reports the index table's."""

from __future__ import annotations

import io
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))  # `bench` is not installed

from bench import index_requests
from localcloud.request_stats import RequestStats, table_requests

AUTH = "AWS4-HMAC-SHA256 Credential={key}/20261122/us-east-1/dynamodb/aws4_request, SignedHeaders=host"


def dynamodb_request(action: str, body: dict[str, Any], key: str = "ASIAROLE") -> dict[str, Any]:
    raw = json.dumps(body).encode()
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "HTTP_AUTHORIZATION": AUTH.format(key=key),
        "HTTP_X_AMZ_TARGET": f"DynamoDB_20120810.{action}",
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
    }


def test_dynamodb_requests_are_counted_per_table_and_the_body_reaches_the_emulator() -> None:
    seen: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        seen.append(body)
        start_response("400 Bad Request" if b"lost" in body else "200 OK", [])
        return [b""]

    stats = RequestStats(app)
    requests: list[tuple[str, dict[str, Any]]] = [
        ("UpdateItem", {"TableName": "index", "Key": {}}),
        ("UpdateItem", {"TableName": "index", "Key": {}, "ConditionExpression": "lost"}),
        ("GetItem", {"TableName": "index", "Key": {}}),
        ("PutItem", {"TableName": "idempotency", "Item": {}}),
        ("Query", {"TableName": "arn:aws:dynamodb:us-east-1:123456789012:table/index", "IndexName": "x"}),
        ("BatchWriteItem", {"RequestItems": {"index": [], "other": []}}),
        ("TransactWriteItems", {"TransactItems": [{"Update": {"TableName": "index"}}]}),
        ("DescribeTable", {"TableName": "index"}),  # not an item request
    ]
    for action, body in requests:
        stats(dynamodb_request(action, body), lambda *a: None)
    assert seen == [json.dumps(body).encode() for _, body in requests]
    assert table_requests(stats.table_counts(), "index") == {"writes": 4, "reads": 2, "refused_writes": 1}
    assert table_requests(stats.table_counts(), "idempotency") == {
        "writes": 1,
        "reads": 0,
        "refused_writes": 0,
    }
    assert stats.table_counts()[("index", "UpdateItem", "ASIAROLE", False)] == 1
    assert stats.table_counts()[("index", "UpdateItem", "ASIAROLE", True)] == 1


def test_the_bench_reports_index_requests_per_upload_by_function() -> None:
    batch = {
        "n": 10,
        "index_table": {
            "by_function": {
                "validate": {"writes": 1.0, "reads": 1.0, "lost_races": 0.0},
                "thumbnail": {"writes": 1.1, "reads": 1.0, "lost_races": 0.1},
                "index": {"writes": 1.3, "reads": 1.0, "lost_races": 0.1},
                "api": {"writes": 1.0, "reads": 0.0, "lost_races": 0.0},
            },
            "writes": 4.4,
            "reads": 3.0,
            "lost_races": 0.2,
        },
    }
    index_requests.report({"batches": [batch, {"n": 5}]})  # a batch without counts prints nothing
    by_function = batch["index_table"]["by_function"]  # type: ignore[index]
    assert [index_requests._met(by_function[f]) for f in ("validate", "thumbnail", "index")] == [
        "yes",
        "yes, but for lost races",
        "NO",
    ]
    # 210 writes of which 10 lost races over 200 uploads: 1.05 - 0.05 is not quite 1.0 in floats
    assert index_requests._met({"writes": 210 / 200, "reads": 1.0, "lost_races": 10 / 200}) != "NO"


Counts = Counter[tuple[str, str, str, bool]]


class FakeRequests:
    def __init__(self, counts: Counts) -> None:
        self.counts = counts

    def table_counts(self) -> Counts:
        return Counter(self.counts)


class FakeCloud:
    def __init__(self, counts: Counts) -> None:
        self.emulator = type("E", (), {"requests": FakeRequests(counts)})()
        self.deployment = type("D", (), {"resources": {"ValidateFunction": "intake-validate-x"}})()
        self.outputs = {"IndexTableName": "index"}


def test_per_upload_attributes_requests_to_functions(monkeypatch: Any) -> None:
    cloud = FakeCloud(Counter({("index", "GetItem", "K1", False): 1}))
    before = index_requests.snapshot(cloud)
    cloud.emulator.requests.counts.update(
        {
            ("index", "GetItem", "K1", False): 4,
            ("index", "UpdateItem", "K1", False): 4,
            ("index", "UpdateItem", "K1", True): 1,
            ("index", "PutItem", "test", False): 4,
            ("other", "PutItem", "K1", False): 9,
        }
    )
    monkeypatch.setattr(index_requests, "_callers", lambda: {"K1": "intake-validate-x"})
    found = index_requests.per_upload(cloud, before, 4)
    assert found["by_function"] == {
        "validate": {"writes": 1.25, "reads": 1.0, "lost_races": 0.25},
        "admin (bench, local cloud)": {"writes": 1.0, "reads": 0.0, "lost_races": 0.0},
    }
    assert (found["writes"], found["reads"], found["lost_races"]) == (2.25, 1.0, 0.25)
