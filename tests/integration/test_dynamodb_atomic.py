"""Concurrent UpdateItem on one item through the local cloud's server never answers 500."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from localcloud import dynamodb_atomic
from localcloud.server import free_port


def test_concurrent_updates_of_one_item_all_apply() -> None:
    dynamodb_atomic.install()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        client = boto3.client(
            "dynamodb",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"total_max_attempts": 1}),  # a 500 must surface, not be retried away
        )
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

        def update(i: int) -> None:
            client.update_item(
                TableName="t",
                Key={"k": {"S": "one"}},
                UpdateExpression=f"SET a{i} = :v ADD n :one",
                ExpressionAttributeValues={":v": {"S": "x" * 50}, ":one": {"N": "1"}},
                ReturnValues="ALL_NEW",
            )

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(update, range(400)))
        item = client.get_item(TableName="t", Key={"k": {"S": "one"}})["Item"]
        assert item["n"] == {"N": "400"}
    finally:
        server.stop()
