"""What the roles' grants are used for: every request the middleware ALLOWS for a role's session is
recorded (the role, the action, the resource, the deciding statement, and what is needed to evaluate it
again), once per distinct request. Served at /_localcloud/allowed; the end-to-end suite compares it
with the template's grants and re-evaluates it with each grant removed (tests/e2e/test_grants.py).

Cheap: one dict insert per allowed check, under a lock; always on while enforcing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .policy import Decision, Policy, Request, evaluate, role_arn


@dataclass(frozen=True)
class Allowed:
    """One allowed request of a role, with the policies it was evaluated against (but the role's own,
    which are the role's at evaluation time: :func:`reevaluate` takes them)."""

    role: str  # the role's ARN
    request: Request
    statement: str  # "<policy name>:<Sid or #index>" of the deciding statement
    resource_policy: Policy | None
    key_policy: Policy | None

    def summary(self) -> dict[str, str]:
        return {
            "role": self.role,
            "action": self.request.action,
            "resource": self.request.resource,
            "statement": self.statement,
        }


def _key(role: str, request: Request, statement: str) -> str:
    context = {k: v for k, v in request.context.items() if k != "aws:PrincipalArn"}
    return json.dumps(
        [role, request.action, request.resource, statement, context], sort_keys=True, default=str
    )


class AllowedRequests:
    """A thread-safe set of the distinct allowed requests of role sessions."""

    def __init__(self, limit: int = 200_000) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, Allowed] = {}
        self._limit = limit  # a long `make up` session stops recording new ones there (and counts them)
        self._dropped = 0

    def record(
        self, request: Request, decision: Decision, resource_policy: Policy | None, key_policy: Policy | None
    ) -> None:
        if ":assumed-role/" not in request.principal:
            return  # anonymous requests are not a role's grants
        role = role_arn(request.principal)
        key = _key(role, request, decision.statement)
        with self._lock:
            if key in self._seen:
                return
            if len(self._seen) >= self._limit:
                self._dropped += 1
                return
            self._seen[key] = Allowed(role, request, decision.statement, resource_policy, key_policy)

    def entries(self) -> list[Allowed]:
        with self._lock:
            return list(self._seen.values())

    def snapshot(self) -> dict[str, Any]:
        entries = self.entries()
        with self._lock:
            dropped = self._dropped
        return {"count": len(entries), "dropped": dropped, "allowed": [e.summary() for e in entries]}

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
            self._dropped = 0


ALLOWED = AllowedRequests()  # the emulator's (one per process)


def without(policies: Iterable[Policy], statement: str, action: str | None = None) -> list[Policy]:
    """The policies with ``statement`` ("<policy>:<Sid or #index>") removed, or only ``action`` removed
    from its Action list (the whole statement when it was the only one)."""
    changed: list[Policy] = []
    for policy in policies:
        kept: list[Mapping[str, Any]] = []
        for index, found in enumerate(policy.statements()):
            if f"{policy.name}:{found.get('Sid') or f'#{index}'}" != statement:
                kept.append(found)
                continue
            actions = [a for a in statement_actions(found) if a != action] if action else []
            if actions:
                kept.append({**found, "Action": actions})
        changed.append(Policy(policy.name, {**policy.document, "Statement": kept}))
    return changed


def statement_actions(statement: Mapping[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return [str(a) for a in actions] if isinstance(actions, list | tuple) else [str(actions)]


def reevaluate(entry: Allowed, identity: Iterable[Policy]) -> Decision:
    """The decision on a recorded request given other identity policies (e.g. one grant removed)."""
    return evaluate(entry.request, list(identity), entry.resource_policy, entry.key_policy)
