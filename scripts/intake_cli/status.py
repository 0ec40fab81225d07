"""`intake ops status` as data: each consumer's queue and DLQ, and each alarm of the stack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from intake.status import CONSUMERS
from intake_cli.dlq import queue_counts
from intake_cli.target import Deployment, OpsTarget, describe, stack_resources

_ALARM_NAME_MAX = 255
_NAMES_PER_CALL = 100  # DescribeAlarms takes at most 100 names


def oldest_age(cloudwatch: Any, queue_url: str) -> float | None:
    """ApproximateAgeOfOldestMessage, the latest datapoint of the last 5 minutes (SQS has no such attribute)."""
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/SQS",
        MetricName="ApproximateAgeOfOldestMessage",
        Dimensions=[{"Name": "QueueName", "Value": queue_url.rstrip("/").rsplit("/", 1)[-1]}],
        StartTime=now - timedelta(minutes=5),
        EndTime=now,
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    if not points:
        return None
    return float(max(points, key=lambda p: p["Timestamp"])["Maximum"])


def stack_alarm_candidates(target: OpsTarget) -> dict[str, str]:
    """Physical id -> logical id of the stack's resources, nested consumer stacks included
    (intake_tools names theirs "<Consumer><id>", e.g. ThumbnailDLQDepthAlarm), that could be alarm names.
    CloudWatch then says which are alarms (alarm_status)."""
    return {
        physical: logical
        for logical, physical in stack_resources(target).items()
        if 0 < len(physical) <= _ALARM_NAME_MAX
    }


def queue_status(deployment: Deployment, consumer: str, sqs: Any, cloudwatch: Any) -> dict[str, Any]:
    url, dlq = deployment.queue_url(consumer), deployment.dlq_url(consumer)
    visible, in_flight = queue_counts(sqs, url)
    dead, dead_in_flight = queue_counts(sqs, dlq)
    return {
        "queue": consumer,
        "visible": visible,
        "in_flight": in_flight,
        "dlq_visible": dead,
        "dlq_in_flight": dead_in_flight,
        "oldest_age_s": oldest_age(cloudwatch, url),
        "queue_url": url,
        "dlq_url": dlq,
    }


def alarm_status(cloudwatch: Any, names: dict[str, str]) -> list[dict[str, Any]]:
    """The state of each alarm among `names` (alarm name -> logical id), those in ALARM first."""
    alarms = []
    listed = list(names)
    for start in range(0, len(listed), _NAMES_PER_CALL):
        chunk = listed[start : start + _NAMES_PER_CALL]
        for alarm in cloudwatch.describe_alarms(AlarmNames=chunk)["MetricAlarms"]:
            alarms.append(
                {
                    "name": alarm["AlarmName"],
                    "logical_id": names.get(alarm["AlarmName"], ""),
                    "state": alarm["StateValue"],
                    "reason": alarm.get("StateReason", ""),
                    "since": alarm.get("StateUpdatedTimestamp"),
                    "metric": f"{alarm.get('Namespace')}/{alarm.get('MetricName')}",
                }
            )
    alarms.sort(key=lambda a: (a["state"] != "ALARM", a["logical_id"]))
    return alarms


# The local cloud's count of the requests its permission checks denied (docs/architecture.md).
DENIALS_PATH = "/_localcloud/denials"


def local_denials(target: OpsTarget, timeout_s: float = 5) -> dict[str, Any] | None:
    """{"count", "recent", "enforcing"} from the local cloud; None on AWS or from an emulator without it."""
    if not target.is_local or not target.endpoint_url:
        return None
    import requests

    try:
        response = requests.get(target.endpoint_url.rstrip("/") + DENIALS_PATH, timeout=timeout_s)
        found = response.json() if response.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None
    return found if isinstance(found, dict) and "count" in found else None


def gather_status(deployment: Deployment) -> dict[str, Any]:
    target = deployment.target
    sqs, cloudwatch = target.client("sqs"), target.client("cloudwatch")
    queues = [queue_status(deployment, consumer, sqs, cloudwatch) for consumer in CONSUMERS]
    alarms = alarm_status(cloudwatch, stack_alarm_candidates(target))
    report = {"target": describe(target), "queues": queues, "alarms": alarms}
    denials = local_denials(target)
    if denials is not None:
        report["denials"] = denials
    return report
