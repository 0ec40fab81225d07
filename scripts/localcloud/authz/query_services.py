"""Query-protocol requests (form body with Action=...): SNS and SES; other services by their Action
on "*"."""

from __future__ import annotations

from . import resources
from .checks import Caller, Check, base_context, kms_checks

Form = dict[str, str]


def sns(action: str, form: Form, caller: Caller) -> list[Check]:
    arn = form.get("TopicArn") or form.get("TargetArn") or "*"
    policy, key = resources.topic(caller.account, caller.region, arn) if arn != "*" else (None, None)
    found = [Check(f"sns:{action}", arn, base_context(caller), policy)]
    if action == "Publish":  # publishing to an encrypted topic: a data key through SNS
        found += kms_checks(caller, key, ("kms:GenerateDataKey", "kms:Decrypt"), "sns")
    return found


def _address(value: str) -> str:
    """The address of "Name <a@b>" or "a@b"."""
    return value.rsplit("<", 1)[-1].rstrip(">").strip()


def ses(action: str, form: Form, caller: Caller) -> list[Check]:
    # SES authorizes sending on the identity of the From address (and checks ses:FromAddress).
    source = _address(form.get("Source", ""))
    context = {**base_context(caller), "ses:FromAddress": source}
    if action not in ("SendEmail", "SendRawEmail", "SendTemplatedEmail", "SendBulkTemplatedEmail"):
        return [Check(f"ses:{action}", "*", context)]
    arn = f"arn:aws:ses:{caller.region}:{caller.account}:identity/{source}"
    return [Check(f"ses:{action}", arn, context)]


_SERVICES = {"sns": sns, "ses": ses, "email": ses}


def checks(service: str, form: Form, caller: Caller) -> list[Check]:
    action = form.get("Action", "")
    parse = _SERVICES.get(service)
    if parse is not None:
        return parse(action, form, caller)
    name = "cloudwatch" if service == "monitoring" else service
    return [Check(f"{name}:{action}", "*", base_context(caller))]
