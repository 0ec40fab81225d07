"""The notify stage: one email per final outcome.

Duplicates are stopped twice: powertools idempotency (in the handler) makes concurrent and retried
deliveries of one message send once, and the record's `notified` marker stops later publications of an
outcome that was already announced.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from intake import mailer
from intake.events import UploadFinished
from intake.notifications import InvalidRecipient, compose_outcome_email
from intake.records import Records, announced
from intake.settings import Settings
from intake.status import derive, results_of

logger = Logger(child=True)
metrics = Metrics()


def announce(finished: UploadFinished, cfg: Settings) -> dict[str, Any]:
    repo = Records(cfg.index_table)
    item = repo.get(finished.upload_id)
    if item is None:
        return {"skipped": "the upload was deleted"}
    outcome = derive(results_of(item))
    if (outcome.status, outcome.version) != (finished.status, finished.version):
        # The upload moved on (e.g. overwritten, or redriven after a failure); its new outcome has its own message.
        return {"skipped": f"stale: the upload is now {outcome.status}"}
    if announced(item, outcome):
        return {"skipped": "already announced"}
    to = item.get("owner_email")
    detail: str
    if not to:
        detail = "no email address on the record"
    else:
        try:
            email = compose_outcome_email(
                filename=item.get("filename", ""),
                status=outcome.status,
                reasons=list(outcome.reasons),
                upload_id=finished.upload_id,
                thumbnails=len(item.get("thumbnails", [])),
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


def record_failure(finished: UploadFinished, error: Exception, cfg: Settings) -> None:
    """On the last attempt: keep the outcome, but show that its email never went out (a redrive retries)."""
    Records(cfg.index_table).mark_notify_failed(
        finished.upload_id, f"email for {finished.status} not sent: {type(error).__name__}"
    )
