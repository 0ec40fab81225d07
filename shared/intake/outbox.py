"""Notify's outbox, in its idempotency table next to powertools' records: claims and digests.

- A **claim** (`claim#<upload_id>#<version>#<status>`) puts one outcome of one upload in one digest. It
  is a conditional PutItem, so of any number of deliveries, duplicates and concurrent batches, exactly
  one digest gets the upload. `until` is the claiming invocation's deadline: until then its digest may
  still be in the making.
- A **digest** (`digest#<id>`) is one email: its members and the composed email, written after the
  claims and before the send, so any later delivery of a member's message can finish it (send it once,
  through powertools idempotency keyed by the digest id, and mark its members announced).

Both expire with the table's TTL (`expiration`), as powertools' records do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from intake import aws
from intake.notifications import Email
from intake.status import Status

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEEP_S = 7 * 24 * 3600  # as long as the idempotency records


@dataclass(frozen=True, order=True)
class Announcement:
    """One outcome of one upload: what must appear in exactly one email."""

    upload_id: str
    version: str
    status: Status

    @property
    def claim_id(self) -> str:
        return f"claim#{self.upload_id}#{self.version}#{self.status.value}"


@dataclass(frozen=True)
class Claim:
    digest_id: str
    until: float  # epoch seconds: the claiming invocation's deadline


@dataclass(frozen=True)
class Digest:
    digest_id: str
    owner: str
    members: tuple[Announcement, ...]
    email: Email

    def payload(self) -> dict[str, Any]:
        """What the idempotent send gets (its key is `digest_id`)."""
        e = self.email
        return {"digest_id": self.digest_id, "to": e.to, "subject": e.subject, "text": e.text}


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class Outbox:
    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    def claim(
        self, announcement: Announcement, claim: Claim, *, replacing: Claim | None = None
    ) -> Claim | None:
        """Claim `announcement` for `claim.digest_id`: None if this claim holds, else the claim in the way.

        With `replacing`, take over that claim only if it is still the one stored (an abandoned claim).
        """
        item = {
            "id": {"S": announcement.claim_id},
            "digest": {"S": claim.digest_id},
            "until": {"N": repr(claim.until)},
            "expiration": {"N": str(int(time.time()) + KEEP_S)},
        }
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(id)"}
        if replacing is not None:
            condition = {
                "ConditionExpression": "digest = :digest AND #until = :until",
                "ExpressionAttributeNames": {"#until": "until"},
                "ExpressionAttributeValues": {
                    ":digest": {"S": replacing.digest_id},
                    ":until": {"N": repr(replacing.until)},
                },
            }
        try:
            self.client.put_item(
                TableName=self.table, Item=item, ReturnValuesOnConditionCheckFailure="ALL_OLD", **condition
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
            old = cast("dict[str, Any]", exc.response.get("Item") or {})
            if "digest" not in old:  # not returned: treat it as a claim still in the making
                return Claim(digest_id="", until=float("inf"))
            return Claim(digest_id=old["digest"]["S"], until=float(old["until"]["N"]))
        return None

    def put_digest(self, digest: Digest) -> None:
        members = [
            {
                "M": {
                    "upload_id": {"S": m.upload_id},
                    "version": {"S": m.version},
                    "status": {"S": m.status.value},
                }
            }
            for m in digest.members
        ]
        e = digest.email
        self.client.put_item(
            TableName=self.table,
            Item={
                "id": {"S": f"digest#{digest.digest_id}"},
                "owner": {"S": digest.owner},
                "members": {"L": members},
                "to": {"S": e.to},
                "subject": {"S": e.subject},
                "text": {"S": e.text},
                "expiration": {"N": str(int(time.time()) + KEEP_S)},
            },
            ConditionExpression="attribute_not_exists(id)",
        )

    def get_digest(self, digest_id: str) -> Digest | None:
        item = self.client.get_item(
            TableName=self.table, Key={"id": {"S": f"digest#{digest_id}"}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        members = tuple(
            Announcement(m["M"]["upload_id"]["S"], m["M"]["version"]["S"], Status(m["M"]["status"]["S"]))
            for m in item["members"]["L"]
        )
        email = Email(to=item["to"]["S"], subject=item["subject"]["S"], text=item["text"]["S"])
        return Digest(digest_id=digest_id, owner=item["owner"]["S"], members=members, email=email)
