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


def _check_recipient(to: str) -> None:
    if len(to) > _MAX_ADDRESS_CHARS or any(unicodedata.category(c) in _UNSAFE_CATEGORIES for c in to):
        raise InvalidRecipient(
            f"recipient {quoted(to)} contains whitespace, control characters or is too long"
        )
    if not _ADDRESS.fullmatch(to):
        raise InvalidRecipient(f"recipient {quoted(to)} is not a single e-mail address")


def compose_outcome_email(
    *, filename: str, status: str, reasons: list[str], upload_id: str, thumbnails: int, to: str
) -> Email:
    """Build the e-mail telling the uploader how their upload ended."""
    if status not in _OUTCOME:
        raise ValueError(
            f"status {quoted(status)} is not final, expected one of {', '.join(s for s in Status if s in FINAL_STATUSES)}"
        )
    _check_recipient(to)

    name = _one_line(filename) or "file"
    outcome = _OUTCOME[status]
    # Shorten the name, not the outcome: the subject must still say what happened.
    budget = MAX_SUBJECT_CHARS - len(f'Your upload "" {outcome}')
    subject = f'Your upload "{_shorten(name, budget)}" {outcome}'

    upload = _one_line(upload_id)
    lines = [f'Your upload "{name}" (id {upload}) {outcome}.', ""]
    if status == Status.READY:
        lines.append(
            "1 thumbnail was created." if thumbnails == 1 else f"{thumbnails} thumbnails were created."
        )
    else:
        lines.append("Reasons:" if status == Status.REJECTED else "What went wrong on our side:")
        cleaned = [_shorten(_one_line(r), _MAX_REASON_CHARS) for r in reasons]
        lines.extend(f"- {r}" for r in cleaned if r)
        if not any(cleaned):
            lines.append("- no reason was recorded")
        if status == Status.FAILED:
            lines += ["", "Please try uploading the file again later."]
    return Email(to=to, subject=subject, text="\n".join(lines) + "\n")
