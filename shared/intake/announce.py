"""The notify stage: one email per final outcome.

Duplicates are stopped twice: powertools idempotency (in the handler) makes concurrent and retried
deliveries of one message send once, and the record's `notified` marker stops later publications of an
outcome that was already announced. On the last receive the consumer rule (consumer.py) records on
the upload that its email was not sent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from intake import mailer
from intake.consumer import Consumer
from intake.events import UploadFinished
from intake.finished_record import FinishedRecord
from intake.notifications import InvalidRecipient, compose_outcome_email
from intake.records import Records
from intake.settings import NotifySettings
from intake.status import derive

logger = Logger(child=True)
metrics = Metrics()


def announce(finished: UploadFinished, cfg: NotifySettings) -> dict[str, Any]:
    repo = Records(cfg.index_table)
    record = repo.get(finished.upload_id)
    if record is None:
        return {"skipped": "the upload was deleted"}
    outcome = derive(record.results)
    if (outcome.status, outcome.version) != (finished.status, finished.version):
        # The upload moved on (e.g. overwritten, or redriven after a failure); its new outcome has its own message.
        return {"skipped": f"stale: the upload is now {outcome.status}"}
    if record.announced(outcome):
        return {"skipped": "already announced"}
    to = record.owner_email
    detail: str
    if not to:
        detail = "no email address on the record"
    else:
        try:
            email = compose_outcome_email(
                filename=record.filename,
                status=outcome.status,
                reasons=list(outcome.reasons),
                upload_id=finished.upload_id,
                thumbnails=len(record.thumbnails),
                to=to,
            )
        except InvalidRecipient as exc:
            detail = f"not sent: {exc}"
        else:
            detail = "sent " + mailer.send(cfg.sender_email, email)
            metrics.add_metric(name="EmailsSent", unit=MetricUnit.Count, value=1)
    repo.mark_notified(finished.upload_id, version=finished.version, status=finished.status, detail=detail)
    logger.info(
        "announced", extra={"upload_id": finished.upload_id, "status": finished.status, "detail": detail}
    )
    return {"detail": detail}


def record_failure(cfg: NotifySettings, finished: UploadFinished, error: Exception, attempts: int) -> None:
    """On the last attempt: keep the outcome, but show that its email never went out (a redrive retries)."""
    Records(cfg.index_table).mark_notify_failed(
        finished.upload_id, f"email for {finished.status} not sent: {type(error).__name__}"
    )


def _finished(record: FinishedRecord) -> tuple[UploadFinished]:
    return (record.body,)


def consumer(
    announce_once: Callable[..., object], cfg: NotifySettings
) -> Consumer[FinishedRecord, UploadFinished]:
    """Notify as a queue consumer; `announce_once` is `announce` made idempotent (by the handler)."""
    return Consumer(
        name="notify",
        messages=_finished,
        handle=lambda finished: announce_once(finished=finished),
        record_failure=functools.partial(record_failure, cfg),
        max_receive_count=cfg.max_receive_count,
    )
