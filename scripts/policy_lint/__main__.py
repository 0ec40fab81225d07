"""`python -m policy_lint`: audit every policy in the templates with parliament, offline.

Renders each policy (render.py) and runs parliament's checks on it: actions that do not exist,
resources of the wrong type for an action, condition keys an action does not support, malformed
statements. A finding fails the run unless allowlist.json explains it (resource, issue, the
statement it is about, and why it is right).

Runs in the scanner's virtualenv (.venv-scan), where parliament is installed.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .render import RenderedPolicy, rendered

ALLOWLIST = Path(__file__).with_name("allowlist.json")


@dataclass(frozen=True)
class Finding:
    policy: str  # the rendered policy's label
    resource: str  # its logical id
    issue: str  # parliament's issue code
    about: str  # the Sid (or #index) of the statement it concerns
    detail: str

    def __str__(self) -> str:
        return f"{self.policy}: {self.issue} {self.about} {self.detail}".rstrip()


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _on(statement: dict[str, Any], subject: str) -> dict[str, Any]:
    """A trust policy has no Resource, and in a key policy "*" is the key itself: audited on that
    role or key, so the actions are checked against its resource type. A statement on a whole
    service (the key policy's kms:* to the account) stays on "*", as written."""
    actions = statement.get("Action", [])
    wildcard = any(
        a == "*" or a.endswith(":*") for a in (actions if isinstance(actions, list) else [actions])
    )
    if statement.get("Resource", "*") == "*" and "NotResource" not in statement and not wildcard:
        return {**statement, "Resource": subject}
    return statement


def audit(policy: RenderedPolicy) -> list[Finding]:
    """Parliament's findings, statement by statement (so each names its statement's Sid)."""
    from parliament import analyze_policy_string

    found = []
    for index, statement in enumerate(_statements(policy.document)):
        audited = _on(statement, policy.subject) if policy.subject else statement
        if policy.kind == "trust" and "Resource" not in audited:
            audited = {**audited, "Resource": policy.subject}
        document = {"Version": policy.document.get("Version", "2012-10-17"), "Statement": [audited]}
        analyzed = analyze_policy_string(json.dumps(document), include_community_auditors=False)
        sid = str(statement.get("Sid") or f"#{index}")
        for finding in analyzed.findings:
            detail = json.dumps(finding.detail, default=str) if finding.detail else ""
            found.append(Finding(policy.label, policy.resource, finding.issue, sid, detail))
    return found


def allowed(finding: Finding, allowlist: list[dict[str, str]]) -> bool:
    """Whether an entry explains the finding: same resource and issue, and its "about" (if given)
    the finding's statement. Every entry must say why (its "reason")."""
    return any(
        entry["resource"] == finding.resource
        and entry["issue"] == finding.issue
        and entry.get("about", finding.about) == finding.about
        for entry in allowlist
    )


def main() -> int:
    allowlist = json.loads(ALLOWLIST.read_text())["allow"]
    unexplained = [e for e in allowlist if not str(e.get("reason", "")).strip()]
    if unexplained:
        print(f"policy-lint: every {ALLOWLIST.name} entry needs a reason: {json.dumps(unexplained)}")
        return 1
    policies = rendered()
    findings = [f for policy in policies for f in audit(policy)]
    refused = [f for f in findings if not allowed(f, allowlist)]
    for finding in refused:
        print(f"policy-lint: {finding}")
    unused = [e for e in allowlist if not any(allowed(f, [e]) for f in findings)]
    for entry in unused:
        print(f"policy-lint: allowlist entry matches nothing (remove it): {json.dumps(entry)}")
    print(
        f"policy-lint: {len(policies)} policies, {len(findings)} findings, "
        f"{len(findings) - len(refused)} explained in {ALLOWLIST.name}, {len(refused)} left"
    )
    return 1 if refused or unused else 0


if __name__ == "__main__":
    sys.exit(main())
