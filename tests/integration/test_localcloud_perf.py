"""The local cloud's speed-ups of moto change no answer: each memo or fast path against moto's own."""

from __future__ import annotations

from typing import Any, ClassVar, cast

import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from localcloud import moto_dispatch, moto_serialize

HOSTS = [
    None,
    "moto_api",
    "dynamodb.us-east-1.amazonaws.com",
    "sqs.us-east-1.amazonaws.com",
    "s3.amazonaws.com",
    "s3",
    "sns.eu-west-1.amazonaws.com",
    "lambda.us-east-1.amazonaws.com",
    "cognito-idp.us-east-1.amazonaws.com",
    "nothing.example.com",
]


def test_dispatch_memo_answers_as_moto_does() -> None:
    moto_dispatch.install()
    app = DomainDispatcherApplication(create_backend_app)
    for _ in range(2):  # the first call fills the memo, the second reads it
        for host in HOSTS:
            assert app.get_backend_for_host(host) == moto_dispatch.original_backend_for_host(app, host), host
    from moto import backends

    assert list(backends.list_of_moto_modules()) == moto_dispatch.original_moto_modules()


def _serialize(service: str, operation: str, result: Any, transformers: Any = None) -> Any:
    from moto.core.responses import ActionContext, ActionResult
    from moto.core.serialize import get_serializer_class
    from moto.core.utils import get_service_model

    class Response:
        RESPONSE_KEY_PATH_TO_TRANSFORMER = transformers

    model = get_service_model(service)
    protocol = model.metadata["protocol"]
    context = ActionContext(
        model,
        model.operation_model(operation),
        get_serializer_class(service, protocol),
        cast(Any, Response()),
    )
    return ActionResult(result).execute_result(context)


def _item(i: int) -> dict[str, Any]:
    return {
        "upload_id": {"S": f"u{i}"},
        "size": {"N": str(i * 1000)},
        "flag": {"BOOL": i % 2 == 0},
        "nothing": {"NULL": True},
        "blob": {"B": "aGVsbG8="},
        "tags": {"SS": ["a", "b"]},
        "results": {
            "M": {"validate": {"M": {"ok": {"BOOL": True}, "reasons": {"L": [{"S": "x"}, {"N": "1"}]}}}}
        },
    }


class Meta:
    serialization_aliases: ClassVar[dict[str, str]] = {"QueueUrl": "url"}


class QueueLike:
    Meta = Meta

    def __init__(self) -> None:
        self.url = "http://q"


CASES: list[tuple[str, str, Any, Any]] = [
    (
        "dynamodb",
        "UpdateItem",
        {"Attributes": _item(1), "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 1}},
        None,
    ),
    (
        "dynamodb",
        "Query",
        {
            "Items": [_item(i) for i in range(3)],
            "Count": 3,
            "ScannedCount": 3,
            "LastEvaluatedKey": {"upload_id": {"S": "u2"}},
        },
        None,
    ),
    ("dynamodb", "GetItem", {"Item": _item(7)}, None),
    (
        "dynamodb",
        "DescribeLimits",
        {"AccountMaxReadCapacityUnits": 20000, "TableMaxWriteCapacityUnits": "10"},
        None,
    ),
    (
        "sqs",
        "ReceiveMessage",
        {
            "Messages": [
                {
                    "MessageId": "m",
                    "ReceiptHandle": "r",
                    "Body": "b",
                    "Attributes": {"SentTimestamp": "1"},
                    "MessageAttributes": {"a": {"DataType": "String", "StringValue": "v"}},
                }
            ]
        },
        None,
    ),
    ("sqs", "GetQueueUrl", QueueLike(), None),
    ("sqs", "GetQueueUrl", {"QueueUrl": "http://q"}, {"QueueUrl": lambda v: "changed"}),
    ("sns", "Publish", {"MessageId": "m1"}, None),
    ("dynamodb", "PutItem", {}, None),
]


@pytest.mark.parametrize(("service", "operation", "result", "transformers"), CASES)
def test_serializer_fast_path_answers_as_moto_does(
    service: str, operation: str, result: Any, transformers: Any
) -> None:
    moto_serialize.install()
    fast = [
        _serialize(service, operation, result, transformers) for _ in range(2)
    ]  # fills, then reads the memo
    with moto_serialize.moto_own():
        own = _serialize(service, operation, result, transformers)
    assert fast[0] == own and fast[1] == own


def test_emulator_keeps_connections_alive_and_ends_them_on_stop() -> None:
    import http.client

    from localcloud.server import Emulator, free_port

    emulator = Emulator(port=free_port())
    emulator.start()
    try:
        connection = http.client.HTTPConnection(emulator.host, emulator.port, timeout=10)
        # A body the app does not read (an unknown S3 bucket's PUT answers 404 without it) is drained,
        # so the next request on the same connection is read from its own first byte.
        for body in (b"x" * 70_000, b""):
            connection.request("PUT", "/no-such-bucket/key", body=body, headers={"Authorization": ""})
            answer = connection.getresponse()
            answer.read()
            assert answer.status in (403, 404) and answer.getheader("Connection") is None
        connection.request("GET", "/_localcloud/denials")  # state-independent: the local authz's counter
        answer = connection.getresponse()
        assert answer.status == 200 and answer.read().startswith(b"{")
        assert len(emulator.connections) == 1  # all three requests on one connection
    finally:
        emulator.stop()
    # Stopping ends the kept-alive connection too: nothing is served on it any more.
    with pytest.raises((OSError, http.client.HTTPException)):
        connection.request("GET", "/_localcloud/denials")
        connection.getresponse().read()


def test_sqs_fast_paths_answer_as_moto_does() -> None:
    import datetime

    from moto.sqs.models import sqs_backends

    from localcloud import moto_sqs

    moto_sqs.install()
    instant = datetime.datetime(2024, 2, 29, 12, 30, 15, 123456)
    assert moto_sqs.unix_time(instant) == moto_sqs.original_unix_time(instant)
    assert moto_sqs.unix_time_millis(instant) == moto_sqs.original_unix_time(instant) * 1000
    before = moto_sqs.original_unix_time()
    now = moto_sqs.unix_time()
    # moto's "now" is a datetime, truncated to the microsecond; time.time() is not: a read in the same
    # microsecond can be up to 1 us above moto's later one (about 1 run in 20 failed without the margin).
    assert before <= now <= moto_sqs.original_unix_time() + 1e-6

    backend = sqs_backends["123456789012"]["eu-west-3"]
    backend.create_queue("perf-retention", MessageRetentionPeriod="60")
    backend.send_message("perf-retention", "fresh")
    backend.send_message("perf-retention", "old")
    fresh, old = list(backend.get_queue("perf-retention")._messages)
    cast(Any, old).sent_timestamp -= 61_000  # past the retention period
    for message in (fresh, old):
        assert backend.is_message_valid_based_on_retention_period(
            "perf-retention", message
        ) == moto_sqs.original_retention_check(backend, "perf-retention", message)
    assert [m.body for m in backend.receive_message("perf-retention", 10, 0, 30)] == ["fresh"]
    backend.delete_queue("perf-retention")


def _tree(node: Any) -> Any:
    """A validated syntax tree as plain data (moto's nodes have no equality of their own)."""
    if isinstance(node, list | tuple):
        return [_tree(n) for n in node]
    if isinstance(node, dict):
        return {k: _tree(v) for k, v in node.items()}
    if hasattr(node, "__dict__"):
        fields = {k: _tree(v) for k, v in vars(node).items() if k not in ("parent", "_localcloud_source")}
        return (type(node).__name__, fields)
    return node


@pytest.mark.parametrize(
    "expression",
    [
        "SET #s = :s, results.#v = :r, updated_at = :t ADD rev :one REMOVE #ttl",
        "SET a = if_not_exists(a, :zero) + :one, l = list_append(l, :l)",
        "REMOVE results.#v DELETE tags :tag",
    ],
)
def test_update_validator_on_a_fresh_parse_validates_as_moto_does(expression: str) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.parsing.validators import UpdateExpressionValidator

    from localcloud import moto_dynamodb

    moto_dynamodb.install()
    table = cast(Any, Table)(
        "t",
        account_id="123456789012",
        region="us-east-1",
        schema=[{"AttributeName": "id", "KeyType": "HASH"}],
        attr=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    values: dict[str, dict[str, Any]] = {
        ":s": {"S": "ready"},
        ":r": {"M": {"ok": {"BOOL": True}}},
        ":t": {"S": "2024-01-01T00:00:00Z"},
        ":one": {"N": "1"},
        ":zero": {"N": "0"},
        ":l": {"L": [{"S": "x"}]},
        ":tag": {"SS": ["a"]},
    }
    names = {"#s": "status", "#v": "validate", "#ttl": "expires_at_epoch"}

    def item() -> Item:
        attrs = {
            "id": {"S": "u1"},
            "a": {"N": "2"},
            "l": {"L": []},
            "tags": {"SS": ["a", "b"]},
            "results": {"M": {"validate": {"M": {}}}},
            "expires_at_epoch": {"N": "5"},
        }
        return Item(DynamoType({"S": "u1"}), None, attrs)

    fresh = moto_dynamodb.UpdateExpressionParser.make(expression)  # noted: validated on a new parse
    validated = UpdateExpressionValidator(fresh, names, values, item(), table).validate()
    original = moto_dynamodb.original_parse(expression)  # not noted: moto's deepcopy
    expected = UpdateExpressionValidator(original, names, values, item(), table).validate()
    assert _tree(validated) == _tree(expected)
    assert _tree(fresh) == _tree(original)  # neither tree was changed by validating
