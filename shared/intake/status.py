"""The record state machine: pure, so any order and any number of deliveries give the same record.

Each stage (validate, thumbnail, index) stores its own result, tagged with the object version it saw.
A result replaces an older one only if it is for a newer version, or for the same version and at least
as conclusive (done/rejected beat failed). The upload's status is then a function of the stored results,
so updates commute.

The thumbnails a record lists are derived the same way (`listed_thumbnails`): those of the current
thumbnail result, and none once the upload is rejected, whichever stage wrote last.

The status words, the stage names and the consumer names are defined here and nowhere else.

`expired` is never stored: a `pending` record carries a DynamoDB TTL (`expires_at_epoch`: the presigned
URL's lifetime plus a grace period) until its object arrives, when the first stage write removes it.
Past that time the record reads as `expired` (`read_status`) until DynamoDB deletes it, which it does
within days of the TTL, not at once.

    pending --object arrives--> processing --> ready | rejected | failed
    pending --TTL passes, no object--> expired (read only) --DynamoDB deletes the item--> gone
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, get_args


class Status(StrEnum):
    """An upload's status (a str: it compares, serializes and stores as the word itself)."""

    PENDING = "pending"
    PROCESSING = "processing"
    READY = "ready"
    REJECTED = "rejected"
    FAILED = "failed"
    EXPIRED = "expired"  # derived on read: pending past its TTL (see the module docstring)


FINAL_STATUSES: frozenset[Status] = frozenset({Status.READY, Status.REJECTED, Status.FAILED})

Stage = Literal["validate", "thumbnail", "index"]  # the consumers of S3 events, in pipeline order
STAGES: tuple[Stage, ...] = get_args(Stage)
ConsumerName = Literal[Stage, "notify"]  # every queue consumer: the stages, then notify
CONSUMERS: tuple[ConsumerName, ...] = (*STAGES, "notify")
StageState = Literal["done", "rejected", "failed"]

# A retry that finally succeeds must beat the failure recorded before it gave up, never the reverse.
RANK: Mapping[str, int] = {"failed": 1, "done": 2, "rejected": 2}


@dataclass(frozen=True)
class StageResult:
    stage: Stage
    state: StageState
    version: str
    at: str
    reasons: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def rank(self) -> int:
        return RANK[self.state]

    def to_item(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "version": self.version,
            "rank": self.rank,
            "at": self.at,
            "reasons": list(self.reasons),
            "details": dict(self.details),
        }

    @classmethod
    def from_item(cls, stage: Stage, item: Mapping[str, Any]) -> StageResult:
        return cls(
            stage=stage,
            state=item["state"],
            version=item["version"],
            at=item.get("at", ""),
            reasons=tuple(item.get("reasons", ())),
            details=item.get("details", {}),
        )


def supersedes(new: StageResult, old: StageResult | None) -> bool:
    """Whether `new` may replace `old` (records.py applies it to the item it read, and writes on the
    condition that the item is still that one)."""
    if old is None or new.version > old.version:
        return True
    return new.version == old.version and new.rank >= old.rank


@dataclass(frozen=True)
class Outcome:
    status: Status
    version: str | None
    reasons: tuple[str, ...] = ()

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


def derive(results: Mapping[str, StageResult]) -> Outcome:
    """The upload's status from its stage results; only results for the newest version count."""
    if not results:
        return Outcome(Status.PENDING, None)
    version = max(result.version for result in results.values())
    current = [results[stage] for stage in STAGES if stage in results and results[stage].version == version]
    rejected = [r for r in current if r.state == "rejected"]
    failed = [r for r in current if r.state == "failed"]
    if rejected:
        return Outcome(Status.REJECTED, version, _reasons(rejected))
    if failed:
        return Outcome(Status.FAILED, version, _reasons(failed))
    if len(current) == len(STAGES):
        return Outcome(Status.READY, version)
    return Outcome(Status.PROCESSING, version)


def listed_thumbnails(results: Mapping[str, StageResult]) -> list[Mapping[str, Any]]:
    """The thumbnails the record lists: the current version's thumbnail result's, none if rejected.

    A rejected upload's thumbnails are deleted (intake.stages), so listing them would point at nothing;
    a thumbnail stage that finishes after the rejection still stores its result, which lists nothing.
    """
    outcome = derive(results)
    made = results.get("thumbnail")
    if outcome.status == Status.REJECTED or made is None or made.state != "done":
        return []
    if made.version != outcome.version:
        return []
    return list(made.details.get("thumbnails", ()))


def read_status(stored: Status, expires_at_epoch: int | None, now_epoch: float) -> Status:
    """The status a reader sees: a pending upload whose TTL has passed (its object never came) is expired."""
    if stored == Status.PENDING and expires_at_epoch is not None and expires_at_epoch <= now_epoch:
        return Status.EXPIRED
    return stored


def _reasons(results: list[StageResult]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for result in results:
        for reason in result.reasons:
            seen.setdefault(reason, None)
    return tuple(seen)
