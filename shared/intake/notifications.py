"""Outcome e-mails for finished uploads (composition only; sending is elsewhere)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from intake.status import FINAL_STATUSES, Status
from intake.text import quoted

MAX_SUBJECT_CHARS = 150
_MAX_REASON_CHARS = 500
_MAX_ADDRESS_CHARS = 254  # RFC 5321 path limit

_OUTCOME: dict[str, str] = {
    Status.READY: "is ready",
    Status.REJECTED: "was rejected",
    Status.FAILED: "could not be processed",
}
# One mailbox, no display name, no list: anything else is refused, not repaired.
# Control, format (e.g. bidi overrides), surrogate, separator and line-break categories.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})
_ADDRESS = re.compile(r"[^@\s,;:<>()\[\]\"\\]+@[^@\s,;:<>()\[\]\"\\]+\.[^@\s,;:<>()\[\]\"\\.]+")


class InvalidRecipient(ValueError):
    """The recipient is not a single plausible e-mail address."""


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str


def _one_line(text: str) -> str:
    """Replace control/format characters and line breaks (incl. U+2028) with spaces.

    User text ends up in a mail header; a CR/LF there would let it add headers.
    """
    cleaned = "".join(" " if unicodedata.category(c) in _UNSAFE_CATEGORIES else c for c in text)
    return " ".join(cleaned.split())


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def check_recipient(to: str) -> None:
    """Raise InvalidRecipient unless `to` is one plausible mailbox."""
    if len(to) > _MAX_ADDRESS_CHARS or any(unicodedata.category(c) in _UNSAFE_CATEGORIES for c in to):
        raise InvalidRecipient(
            f"recipient {quoted(to)} contains whitespace, control characters or is too long"
        )
    if not _ADDRESS.fullmatch(to):
        raise InvalidRecipient(f"recipient {quoted(to)} is not a single e-mail address")


def _thumbnails_sentence(thumbnails: int) -> str:
    # A ready upload without thumbnails is a document or media file (intake.signatures), never an image.
    if thumbnails == 0:
        return "No thumbnails are made for this kind of file."
    return "1 thumbnail was created." if thumbnails == 1 else f"{thumbnails} thumbnails were created."


def compose_outcome_email(
    *, filename: str, status: str, reasons: list[str], upload_id: str, thumbnails: int, to: str
) -> Email:
    """Build the e-mail telling the uploader how their upload ended."""
    if status not in _OUTCOME:
        raise ValueError(
            f"status {quoted(status)} is not final, expected one of {', '.join(s for s in Status if s in FINAL_STATUSES)}"
        )
    check_recipient(to)

    name = _one_line(filename) or "file"
    outcome = _OUTCOME[status]
    # Shorten the name, not the outcome: the subject must still say what happened.
    budget = MAX_SUBJECT_CHARS - len(f'Your upload "" {outcome}')
    subject = f'Your upload "{_shorten(name, budget)}" {outcome}'

    upload = _one_line(upload_id)
    lines = [f'Your upload "{name}" (id {upload}) {outcome}.', ""]
    if status == Status.READY:
        lines.append(_thumbnails_sentence(thumbnails))
    else:
        lines.append("Reasons:" if status == Status.REJECTED else "What went wrong on our side:")
        cleaned = [_shorten(_one_line(r), _MAX_REASON_CHARS) for r in reasons]
        lines.extend(f"- {r}" for r in cleaned if r)
        if not any(cleaned):
            lines.append("- no reason was recorded")
        if status == Status.FAILED:
            lines += ["", "Please try uploading the file again later."]
    return Email(to=to, subject=subject, text="\n".join(lines) + "\n")


# --- digests: one email for several finished uploads of one owner ---------------------------------

# A digest longer than this starts with the counts per outcome (every upload is still listed).
DIGEST_COUNTS_AFTER = 5
_MAX_DIGEST_REASONS = 3  # reasons shown per upload in a digest (the page has them all)

_SHORT: dict[str, str] = {Status.READY: "ready", Status.REJECTED: "rejected", Status.FAILED: "failed"}


@dataclass(frozen=True)
class Finished:
    """One finished upload as an email tells of it."""

    upload_id: str
    filename: str
    status: str
    reasons: tuple[str, ...] = ()
    thumbnails: int = 0


def outcome_counts(uploads: list[Finished]) -> str:
    """'2 ready, 1 rejected' (final statuses in a fixed order, zero counts left out)."""
    counts = {s: sum(1 for u in uploads if u.status == s) for s in _SHORT}
    return ", ".join(f"{n} {_SHORT[s]}" for s, n in counts.items() if n)


def _digest_line(upload: Finished) -> list[str]:
    name = _shorten(_one_line(upload.filename) or "file", MAX_SUBJECT_CHARS)
    head = f'- "{name}" (id {_one_line(upload.upload_id)}) {_OUTCOME[upload.status]}'
    if upload.status == Status.READY:
        return [f"{head}: {_thumbnails_sentence(upload.thumbnails).lower()}"]
    reasons = [_shorten(_one_line(r), _MAX_REASON_CHARS) for r in upload.reasons]
    reasons = [r for r in reasons if r] or ["no reason was recorded"]
    more = len(reasons) - _MAX_DIGEST_REASONS
    lines = [f"{head}:", *(f"    {r}" for r in reasons[:_MAX_DIGEST_REASONS])]
    return lines + ([f"    and {more} more"] if more > 0 else [])


def compose_digest_email(uploads: list[Finished], to: str) -> Email:
    """One email for `uploads` (one owner's): a single upload gets the plain outcome email.

    Every upload is listed (failed first, then rejected, then ready; by name within each); a long list
    starts with the counts per outcome.
    """
    if not uploads:
        raise ValueError("a digest needs at least one upload")
    for upload in uploads:
        if upload.status not in _OUTCOME:
            raise ValueError(f"status {quoted(upload.status)} is not final")
    if len(uploads) == 1:
        (one,) = uploads
        return compose_outcome_email(
            filename=one.filename,
            status=one.status,
            reasons=list(one.reasons),
            upload_id=one.upload_id,
            thumbnails=one.thumbnails,
            to=to,
        )
    check_recipient(to)
    counts = outcome_counts(uploads)
    subject = _shorten(f"Your {len(uploads)} uploads have finished: {counts}", MAX_SUBJECT_CHARS)
    lines = [f"{len(uploads)} of your uploads have finished.", ""]
    if len(uploads) > DIGEST_COUNTS_AFTER:
        lines += [f"In all: {counts}.", ""]
    order = {Status.FAILED: 0, Status.REJECTED: 1, Status.READY: 2}
    for upload in sorted(uploads, key=lambda u: (order[Status(u.status)], u.filename, u.upload_id)):
        lines.extend(_digest_line(upload))
    if any(u.status == Status.FAILED for u in uploads):
        lines += ["", "Please try uploading the files that could not be processed again later."]
    return Email(to=to, subject=subject, text="\n".join(lines) + "\n")
