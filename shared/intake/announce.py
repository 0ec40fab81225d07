"""The notify stage: each finished upload appears in exactly one email, a burst in one digest.

**A burst** is everything of one owner that reaches a final state within one notify batch: the
event source mapping collects up to NotifyBatchSize messages for up to NotifyBatchingWindowSeconds,
and the batch is grouped by owner. A burst that straddles two batches makes two emails; no upload is in
both. The owner's preference (preferences.py) decides: `digest` one email per owner per batch, `each`
one per upload, `none` none.

**Exactly once per upload** (the message is delivered at least once; batches are redelivered,
processes die mid-batch, SES fails after some sends):
1. duplicates in the batch are merged; an upload already announced for this outcome (`notified` on its
   record), deleted, or since moved on to another outcome is skipped;
2. each remaining upload is **claimed** for a new digest in the outbox (outbox.py): a conditional write,
   so an upload belongs to exactly one digest, whatever else is running;
3. the **digest** (members and the composed email) is stored, then **sent once** (powertools
   idempotency, keyed by the digest id), then each member's record is marked `notified` (with the
   digest id and SES message id);
4. a later delivery that finds its upload claimed by a stored digest finishes that digest: the
   idempotent send returns the first send's result if there was one, else sends it; then it marks the
   members. A claim with no stored digest is taken over once its holder's deadline has passed (the
   holder died before the digest existed, so nothing was sent); before that the message is retried.
A crash after SES accepted an email and before powertools stored the result can still repeat that
email: SES has no idempotency key. That window is one DynamoDB write long.

On the last receive, an upload whose email could not be sent gets `notify_error` (as every consumer
records its failure before the DLQ); a redrive retries it.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from intake import mailer
from intake.consumer import receive_count
from intake.events import UploadFinished
from intake.finished_record import FinishedRecord
from intake.notifications import Email, Finished, InvalidRecipient, check_recipient, compose_digest_email
from intake.outbox import Announcement, Claim, Digest, Outbox
from intake.preferences import EmailPreference, UserSettings
from intake.record import UploadRecord
from intake.records import Records
from intake.settings import NotifySettings
from intake.status import derive

logger = Logger(child=True)
metrics = Metrics()

SendOnce = Callable[..., dict[str, Any]]  # send_once(digest=Digest.payload()), idempotent on digest_id


class Busy(Exception):
    """Another invocation is still composing the digest that claimed this upload: retry later."""


@dataclass(frozen=True)
class Delivery:
    """One upload.finished message of the batch."""

    message_id: str
    finished: UploadFinished
    attempts: int

    @property
    def announcement(self) -> Announcement:
        f = self.finished
        return Announcement(upload_id=f.upload_id, version=f.version, status=f.status)


@dataclass(frozen=True)
class Candidate:
    """An upload to announce: its outcome is final, current and not announced yet."""

    announcement: Announcement
    record: UploadRecord

    @property
    def finished(self) -> Finished:
        outcome = derive(self.record.results)
        return Finished(
            upload_id=self.record.upload_id,
            filename=self.record.filename,
            status=outcome.status.value,
            reasons=tuple(outcome.reasons),
            thumbnails=len(self.record.thumbnails),
        )


def send(digest: dict[str, Any], cfg: NotifySettings) -> dict[str, Any]:
    """Send one digest's email (the handler makes this idempotent on the digest id)."""
    email = Email(to=digest["to"], subject=digest["subject"], text=digest["text"])
    message_id = mailer.send(cfg.sender_email, email)
    metrics.add_metric(name="EmailsSent", unit=MetricUnit.Count, value=1)
    return {"message_id": message_id}


def group_by_recipient(candidates: Iterable[Candidate]) -> dict[tuple[str, str], list[Candidate]]:
    """(owner, owner_email) -> that owner's candidates, in batch order (pure)."""
    groups: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        groups[(candidate.record.owner, candidate.record.owner_email or "")].append(candidate)
    return dict(groups)


def split(candidates: list[Candidate], preference: EmailPreference) -> list[list[Candidate]]:
    """The emails for one recipient's candidates: one per upload, one for all, or none (pure)."""
    if not candidates or preference == EmailPreference.NONE:
        return []
    if preference == EmailPreference.EACH:
        return [[c] for c in candidates]
    return [candidates]


def unmailable(to: str, preference: EmailPreference) -> str | None:
    """Why no email goes to `to` (recorded as the `notified` detail), or None (pure)."""
    if preference == EmailPreference.NONE:
        return "not sent: the owner's email preference is none"
    if not to:
        return "no email address on the record"
    try:
        check_recipient(to)
    except InvalidRecipient as exc:
        return f"not sent: {exc}"
    return None


class Announcer:
    """One batch: announcements -> digests; `run` returns the message ids to deliver again."""

    def __init__(
        self,
        cfg: NotifySettings,
        send_once: SendOnce,
        deadline: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cfg, self.send_once, self.deadline, self.clock = cfg, send_once, deadline, clock
        self.records = Records(cfg.index_table)
        self.outbox = Outbox(cfg.idempotency_table)
        self.settings = UserSettings(cfg.user_settings_table)
        self.errors: dict[Announcement, Exception] = {}

    def run(self, deliveries: list[Delivery]) -> set[str]:
        by_announcement: dict[Announcement, list[Delivery]] = defaultdict(list)
        for delivery in deliveries:
            by_announcement[delivery.announcement].append(delivery)
        candidates = []
        for announcement in by_announcement:
            candidate = self._guard(announcement, functools.partial(self._candidate, announcement))
            if candidate is not None:
                candidates.append(candidate)
        for (owner, to), group in group_by_recipient(candidates).items():
            self._announce(owner, to, group)
        for announcement, error in self.errors.items():
            self._record_failure(announcement, error, by_announcement[announcement])
        return {d.message_id for a in self.errors for d in by_announcement[a]}

    def _guard(self, announcement: Announcement, work: Callable[[], Any]) -> Any:
        """Run `work`; an error fails this announcement's messages only."""
        try:
            return work()
        except Exception as exc:
            logger.exception("announcement failed", extra={"upload_id": announcement.upload_id})
            self.errors[announcement] = exc
            return None

    def _candidate(self, announcement: Announcement) -> Candidate | None:
        record = self.records.get(announcement.upload_id)
        skipped = "the upload was deleted"
        if record is not None:
            outcome = derive(record.results)
            if (outcome.status, outcome.version) != (announcement.status, announcement.version):
                # The upload moved on (overwritten, or redriven); its new outcome has its own message.
                skipped = f"stale: the upload is now {outcome.status}"
            elif record.announced(outcome):
                skipped = "already announced"
            else:
                return Candidate(announcement, record)
        logger.info("skipped", extra={"upload_id": announcement.upload_id, "reason": skipped})
        return None

    def _announce(self, owner: str, to: str, group: list[Candidate]) -> None:
        try:
            preference = self.settings.get(owner).email
        except Exception as exc:
            logger.exception("could not read the owner's preferences")
            self.errors.update({c.announcement: exc for c in group})
            return
        reason = unmailable(to, preference)
        if reason is not None:
            for c in group:
                self._guard(c.announcement, functools.partial(self._mark, [c.announcement], reason))
            return
        for emails in split(group, preference):
            self._digest(owner, to, emails)

    def _digest(self, owner: str, to: str, candidates: list[Candidate]) -> None:
        """Claim the candidates for a new digest and send it; finish the digests others hold."""
        claim = Claim(digest_id=uuid.uuid4().hex, until=self.deadline)
        members: list[Candidate] = []
        held: dict[str, tuple[Digest, list[Announcement]]] = {}
        for c in candidates:
            other = self._guard(c.announcement, functools.partial(self._claim, c, claim))
            if isinstance(other, Candidate):
                members.append(other)
            elif isinstance(other, Digest):
                held.setdefault(other.digest_id, (other, []))[1].append(c.announcement)
        if members:
            email = compose_digest_email([m.finished for m in members], to)
            digest = Digest(claim.digest_id, owner, tuple(m.announcement for m in members), email)
            self._deliver(digest, [m.announcement for m in members], store=True)
        for other, announcements in held.values():
            logger.info("finishing a digest another delivery started", extra={"digest": other.digest_id})
            self._deliver(other, announcements, store=False)

    def _claim(self, candidate: Candidate, claim: Claim) -> Candidate | Digest:
        """The candidate if `claim` now holds it, else the stored digest that does (Busy if none yet)."""
        announcement = candidate.announcement
        held = self.outbox.claim(announcement, claim)
        if held is None:
            return candidate
        digest = self.outbox.get_digest(held.digest_id) if held.digest_id else None
        if digest is not None:
            return digest
        if held.until < self.clock() and self.outbox.claim(announcement, claim, replacing=held) is None:
            return candidate  # its holder died before storing the digest: nothing was sent
        raise Busy(f"upload {announcement.upload_id} is claimed by digest {held.digest_id or '?'}")

    def _deliver(self, digest: Digest, ours: list[Announcement], *, store: bool) -> None:
        """Store (a new one), send once, mark every member announced; an error fails `ours`."""
        try:
            if store:
                self.outbox.put_digest(digest)
            result = self.send_once(digest=digest.payload())
            detail = f"sent {result['message_id']} (digest {digest.digest_id} of {len(digest.members)})"
            self._mark(list(digest.members), detail)
        except Exception as exc:
            logger.exception("digest not sent", extra={"digest": digest.digest_id})
            self.errors.update({a: exc for a in ours})
            return
        metrics.add_metric(name="UploadsAnnounced", unit=MetricUnit.Count, value=len(ours))

    def _mark(self, announcements: list[Announcement], detail: str) -> None:
        for a in announcements:
            self.records.mark_notified(a.upload_id, version=a.version, status=a.status, detail=detail)
            logger.info("announced", extra={"upload_id": a.upload_id, "status": a.status, "detail": detail})

    def _record_failure(
        self, announcement: Announcement, error: Exception, deliveries: list[Delivery]
    ) -> None:
        """On the last receive: keep the outcome, but show that its email never went out."""
        if max(d.attempts for d in deliveries) < self.cfg.max_receive_count:
            return
        logger.error(
            "last attempt failed; recording the failure", extra={"upload_id": announcement.upload_id}
        )
        try:
            self.records.mark_notify_failed(
                announcement.upload_id, f"email for {announcement.status} not sent: {type(error).__name__}"
            )
        except Exception:  # keep the original error: it is the one that explains the DLQ entry
            logger.exception("could not record the failure")


def parse(records: list[dict[str, Any]]) -> tuple[list[Delivery], list[str]]:
    """The batch's upload.finished messages, and the ids of records that are not one (they fail)."""
    deliveries, bad = [], []
    for raw in records:
        try:
            record = FinishedRecord.model_validate(raw)
        except ValidationError:
            logger.exception("not an upload.finished message", extra={"message_id": raw.get("messageId")})
            bad.append(str(raw.get("messageId")))
            continue
        deliveries.append(Delivery(record.messageId, record.body, receive_count(record)))
    return deliveries, bad


LambdaHandler = Callable[[dict[str, Any], LambdaContext], PartialItemFailureResponse]


def lambda_handler(
    cfg: NotifySettings, send_once: SendOnce, on_invoke: Callable[[LambdaContext], object]
) -> LambdaHandler:
    """Notify's entry point: the whole batch at once (to group it), partial batch failures reported.

    As powertools' BatchProcessor does for the other consumers, a batch whose every record failed
    raises, so Lambda counts a function error.
    """
    root_logger = Logger()
    flushed = Metrics()  # made here, after the environment is read: it takes POWERTOOLS_METRICS_NAMESPACE

    @root_logger.inject_lambda_context
    @flushed.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        on_invoke(context)
        records = list(event.get("Records") or [])
        deliveries, failed = parse(records)
        deadline = time.time() + context.get_remaining_time_in_millis() / 1000
        failed += sorted(Announcer(cfg, send_once, deadline).run(deliveries))
        if records and len(failed) == len(records):
            raise BatchProcessingError(f"all {len(records)} records failed", [])
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    return handler
