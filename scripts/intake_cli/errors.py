"""The failures the CLI expects: each message is the one `error:` line the user sees (see output.fail)."""

from __future__ import annotations


class IntakeError(Exception):
    """An expected failure; str(exc) is a complete one-line message."""


class ApiError(IntakeError):
    """The uploads API refused a request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class OpsError(IntakeError):
    """A problem the operator can act on; the message says what to do."""
