"""SES: sends one composed email."""

from __future__ import annotations

from intake import aws
from intake.notifications import Email


def send(sender: str, email: Email) -> str:
    """Send and return SES's message id."""
    response = aws.ses().send_email(
        Source=sender,
        Destination={"ToAddresses": [email.to]},
        Message={
            "Subject": {"Data": email.subject, "Charset": "UTF-8"},
            "Body": {"Text": {"Data": email.text, "Charset": "UTF-8"}},
        },
    )
    return response["MessageId"]
