"""How often each fault is injected, and how often it was."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, fields, replace

# Kinds of fault, as counted (the soak's JSON `faults` keys).
THROTTLE = "throttle"
SERVER_ERROR = "server_error"
CONNECTION_RESET = "connection_reset"
DUPLICATE_S3_EVENT = "duplicate_s3_event"
SQS_REDELIVERY = "sqs_redelivery"
STAGE_DELAY = "stage_delay"
FUNCTION_KILL = "function_kill"
API_KILL = "api_kill"
POLLER_RESTART = "poller_restart"
POISON = "poison"
KINDS = (
    THROTTLE,
    SERVER_ERROR,
    CONNECTION_RESET,
    DUPLICATE_S3_EVENT,
    SQS_REDELIVERY,
    STAGE_DELAY,
    FUNCTION_KILL,
    API_KILL,
    POLLER_RESTART,
    POISON,
)


@dataclass(frozen=True)
class Rates:
    """Probabilities per opportunity, and periods (seconds, 0 = never) for the faults that need none.

    The AWS-call rates apply to each call a consumer function makes to S3, DynamoDB, SNS or SES.
    botocore (intake.aws: standard mode, 3 retries) retries them, so a call fails for good with
    probability (sum of the three)^4, and SQS redelivery handles that. Throttling is the costly one:
    botocore waits up to 1, 2, 4 s before its retries, against a 3 s function timeout in the soak.
    """

    throttle: float = 0.005  # per call: the service's throttling error
    server_error: float = 0.003  # per call: the service's 500/503
    connection_reset: float = 0.002  # per call: the connection dropped before an answer
    duplicate_s3_event: float = 0.05  # per S3 event notification: published twice
    sqs_redelivery: float = 0.03  # per poller DeleteMessageBatch: acknowledged, not performed
    stage_delay: float = 0.1  # per stage poller ReceiveMessage: held back up to max_delay_s
    max_delay_s: float = 2.0
    function_kill_every_s: float = 10.0  # a busy consumer environment's process killed
    api_kill_every_s: float = 20.0  # a busy API environment's process killed (the client gets a 502)
    poller_restart_every_s: float = 30.0  # a poller stopped and started again
    poison: bool = True  # one unreadable message per consumer queue
    # Whose processes are killed: not notify by default. Killed after SES accepted its email and before
    # the record says so, notify sends that email again on redelivery (seen in the soak: SES takes no
    # idempotency token, so at-least-once processing cannot make this window empty, only small).
    function_kill_targets: tuple[str, ...] = ("validate", "thumbnail", "index")

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, float) and value < 0:
                raise ValueError(f"{field.name} must not be negative")
        if self.throttle + self.server_error + self.connection_reset > 1 or max(self._probabilities) > 1:
            raise ValueError("a probability (or the three AWS-call rates together) above 1")

    @property
    def _probabilities(self) -> tuple[float, ...]:
        return (self.throttle, self.server_error, self.connection_reset, self.duplicate_s3_event,
                self.sqs_redelivery, self.stage_delay)  # fmt: skip

    @classmethod
    def none(cls) -> Rates:
        """No fault at all (a baseline run)."""
        zero = {f.name: 0.0 for f in fields(cls) if f.type == "float"}
        return replace(cls(), **zero, poison=False)  # type: ignore[arg-type]


class Counts:
    """Thread-safe counts of injected faults by kind, each also by detail (service, function...)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kinds: Counter[str] = Counter()
        self._details: Counter[tuple[str, str]] = Counter()

    def add(self, kind: str, detail: str = "") -> None:
        with self._lock:
            self._kinds[kind] += 1
            if detail:
                self._details[(kind, detail)] += 1

    def snapshot(self) -> dict[str, int]:
        """Every kind, injected or not, with its count."""
        with self._lock:
            return {kind: self._kinds.get(kind, 0) for kind in KINDS} | dict(self._kinds)

    def details(self) -> dict[str, dict[str, int]]:
        with self._lock:
            out: dict[str, dict[str, int]] = {}
            for (kind, detail), n in sorted(self._details.items()):
                out.setdefault(kind, {})[detail] = n
            return out
