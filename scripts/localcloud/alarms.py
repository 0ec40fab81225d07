"""CloudWatch metric alarms, evaluated locally as CloudWatch does it (moto stores alarms, never runs them).

The first half is pure: datapoints in, state out, following "Alarm evaluation" and "Configuring how
CloudWatch alarms treat missing data" in the CloudWatch user guide:

- each alarm looks at an *evaluation range* of a few more periods than ``EvaluationPeriods`` (N);
- with at least N real datapoints in the range, the N most recent real ones decide, and
  ``TreatMissingData`` is not used: ALARM when at least ``DatapointsToAlarm`` (M) of them breach;
- with none, ``missing`` gives INSUFFICIENT_DATA, ``ignore`` keeps the state, ``breaching`` ALARM and
  ``notBreaching`` OK;
- with fewer than N, ``breaching``/``notBreaching`` fill the gap; ``missing``/``ignore`` decide on the
  real ones, and when the oldest one breaches, is at least M periods old and every newer one breaches
  too, ``missing`` goes to ALARM early (the documented "premature alarm") while ``ignore`` keeps the state.

The second half, :class:`AlarmLoop`, runs in the local cloud's process: each tick it lets
:mod:`localcloud.metrics` sample, aggregates what moto's CloudWatch holds into periods, evaluates every
alarm, sets its state on a transition and publishes the standard alarm notification to its actions.
A *time scale* shortens the periods (60 s pass in ``60 / scale`` s) so a demo does not wait minutes;
metric values (ages, durations) stay real.
"""

from __future__ import annotations

import json
import logging
import math
import operator
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from localcloud.authz import deliveries

if TYPE_CHECKING:
    from localcloud.metrics import MetricsPublisher

__all__ = [
    "TIME_SCALE_ENV",
    "AlarmLoop",
    "AlarmRule",
    "Datapoint",
    "Evaluation",
    "Sample",
    "alarm_message",
    "datapoints",
    "evaluate",
    "evaluation_range",
    "statistic_value",
    "time_scale_from_env",
]

log = logging.getLogger("localcloud.alarms")

TIME_SCALE_ENV = "LOCALCLOUD_TIME_SCALE"
OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"

COMPARISONS: Mapping[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}
# CloudWatch does not document the exact evaluation range; the docs' tables use N + 2 (5 for N = 3).
EXTRA_PERIODS = 2

REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-west-2": "EU (London)",
    "eu-west-3": "EU (Paris)",
    "eu-central-1": "EU (Frankfurt)",
    "eu-north-1": "EU (Stockholm)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
}


# --------------------------------------------------------------------------------------------------
# Pure evaluation
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmRule:
    """What an alarm declares about evaluation (names as in PutMetricAlarm)."""

    comparison: str
    threshold: float
    evaluation_periods: int
    datapoints_to_alarm: int | None = None  # None: same as evaluation_periods
    treat_missing_data: str | None = None  # None: "missing", the CloudWatch default
    period: int = 60
    statistic: str = "Average"  # a statistic or an extended one such as "p99"

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ValueError(f"unsupported ComparisonOperator {self.comparison!r}")
        if self.evaluation_periods < 1 or not 1 <= self.m <= self.evaluation_periods:
            raise ValueError("need 1 <= DatapointsToAlarm <= EvaluationPeriods")
        if self.missing_treatment not in ("missing", "ignore", "breaching", "notBreaching"):
            raise ValueError(f"unsupported TreatMissingData {self.treat_missing_data!r}")

    @property
    def m(self) -> int:
        return self.datapoints_to_alarm or self.evaluation_periods

    @property
    def missing_treatment(self) -> str:
        return self.treat_missing_data or "missing"

    def breaches(self, value: float) -> bool:
        return COMPARISONS[self.comparison][0](value, self.threshold)


@dataclass(frozen=True)
class Datapoint:
    """One period of the evaluation range: its start (epoch seconds) and value (None: missing)."""

    start: float
    value: float | None


@dataclass(frozen=True)
class Evaluation:
    """The outcome: the state (None: keep the current one), why, and the datapoints that decided."""

    state: str | None
    reason: str
    evaluated: tuple[Datapoint, ...] = ()


def evaluation_range(rule: AlarmRule) -> int:
    """How many periods an alarm looks back."""
    return rule.evaluation_periods + EXTRA_PERIODS


def evaluate(rule: AlarmRule, points: Sequence[Datapoint]) -> Evaluation:
    """The alarm state for the evaluation range ``points`` (oldest first)."""
    n, m, treat = rule.evaluation_periods, rule.m, rule.missing_treatment
    real = [p for p in points if p.value is not None]
    if not real:
        return _all_missing(rule)
    if len(real) >= n:  # enough real data: the treatment of missing data is not needed
        window = real[-n:]
        return _decide(rule, window, sum(rule.breaches(p.value) for p in window if p.value is not None))
    breaching = sum(rule.breaches(p.value) for p in real if p.value is not None)
    if treat in ("breaching", "notBreaching"):
        filled = breaching + (n - len(real) if treat == "breaching" else 0)
        return _decide(rule, tuple(real), filled, filled_as=treat, filled_count=n - len(real))
    if breaching >= m:
        return _decide(rule, tuple(real), breaching)
    if _premature_alarm(rule, points):
        if treat == "ignore":
            return Evaluation(None, "missing data ignored", tuple(real))
        return _decide(rule, tuple(real), breaching, premature=True)
    return _decide(rule, tuple(real), breaching)


def _premature_alarm(rule: AlarmRule, points: Sequence[Datapoint]) -> bool:
    """The oldest real datapoint breaches, is M..N periods old, and every newer real one breaches."""
    indexed = [(i, p.value) for i, p in enumerate(points) if p.value is not None]
    first, _ = indexed[0]
    age = len(points) - first  # 1 = the most recent period
    return rule.m <= age <= rule.evaluation_periods and all(rule.breaches(v) for _, v in indexed)


def _all_missing(rule: AlarmRule) -> Evaluation:
    n = rule.evaluation_periods
    periods = f"{n} period{'s' if n > 1 else ''}"
    treated = f"{n} missing datapoint{'s were' if n > 1 else ' was'} treated as"
    treat = rule.missing_treatment
    if treat == "breaching":
        return Evaluation(
            ALARM, f"Threshold Crossed: no datapoints were received for {periods} and {treated} [Breaching]."
        )
    if treat == "notBreaching":
        return Evaluation(
            OK, f"Threshold Crossed: no datapoints were received for {periods} and {treated} [NonBreaching]."
        )
    if treat == "ignore":
        return Evaluation(None, "no datapoints; missing data ignored")
    return Evaluation(
        INSUFFICIENT_DATA, f"Insufficient Data: {n} datapoint{'s were' if n > 1 else ' was'} unknown."
    )


def _decide(
    rule: AlarmRule,
    real: Sequence[Datapoint],
    breaching: int,
    *,
    filled_as: str | None = None,
    filled_count: int = 0,
    premature: bool = False,
) -> Evaluation:
    words = COMPARISONS[rule.comparison][1]
    shown = ", ".join(
        f"{_number(p.value)} ({_stamp(p.start)})" for p in reversed(real) if p.value is not None
    )
    filled = ""
    if filled_count:
        label = "Breaching" if filled_as == "breaching" else "NonBreaching"
        filled = (
            f" and {filled_count} missing datapoint{'s' if filled_count > 1 else ''} treated as [{label}]"
        )
    total = len(real) + filled_count
    if premature:
        reason = (
            f"Threshold Crossed: {breaching} datapoint{'s' if breaching > 1 else ''} [{shown}]"
            f" {'was' if breaching == 1 else 'were'} {words} the threshold ({_number(rule.threshold)}) and"
            f" the rest of the last {rule.evaluation_periods} periods were missing (the oldest breaching"
            f" datapoint is at least {rule.m} period{'s' if rule.m > 1 else ''} old)."
        )
        return Evaluation(ALARM, reason, tuple(real))
    if breaching >= rule.m:
        reason = (
            f"Threshold Crossed: {breaching} out of the last {total} datapoints [{shown}]{filled}"
            f" {'was' if breaching == 1 else 'were'} {words} the threshold ({_number(rule.threshold)})"
            f" (minimum {rule.m} datapoint{'s' if rule.m > 1 else ''} for OK -> ALARM transition)."
        )
        return Evaluation(ALARM, reason, tuple(real))
    reason = (
        f"Threshold Crossed: {total} datapoint{'s' if total > 1 else ''} [{shown}]{filled}"
        f" {'was' if total == 1 else 'were'} not {words} the threshold ({_number(rule.threshold)})"
        f" ({breaching} breaching, {rule.m} needed for ALARM)."
    )
    return Evaluation(OK, reason, tuple(real))


def _number(value: float | None) -> str:
    return repr(float(value)) if value is not None else "-"


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%d/%m/%y %H:%M:%S")


@dataclass(frozen=True)
class Sample:
    """One stored datapoint: a single value (count 1) or a statistic set."""

    timestamp: float  # epoch seconds
    sample_count: float
    total: float
    minimum: float
    maximum: float
    values: tuple[float, ...] = ()  # the raw values when known (for percentiles)

    @classmethod
    def of(cls, timestamp: float, value: float) -> Sample:
        return cls(timestamp, 1.0, value, value, value, (value,))


def statistic_value(samples: Sequence[Sample], statistic: str) -> float | None:
    """A CloudWatch statistic over the samples of one period; None when there are none."""
    if not samples:
        return None
    if statistic == "SampleCount":
        return sum(s.sample_count for s in samples)
    if statistic == "Sum":
        return sum(s.total for s in samples)
    if statistic == "Minimum":
        return min(s.minimum for s in samples)
    if statistic == "Maximum":
        return max(s.maximum for s in samples)
    if statistic == "Average":
        count = sum(s.sample_count for s in samples)
        return sum(s.total for s in samples) / count if count else None
    if statistic.startswith("p"):
        values = sorted(v for s in samples for v in s.values)
        if not values:
            return None
        rank = math.ceil(float(statistic[1:]) / 100 * len(values))  # nearest rank
        return values[min(max(rank, 1), len(values)) - 1]
    raise ValueError(f"unsupported statistic {statistic!r}")


def datapoints(
    samples: Iterable[Sample], statistic: str, *, end: float, period_s: float, periods: int
) -> list[Datapoint]:
    """The ``periods`` periods of ``period_s`` seconds that end at ``end``, oldest first."""
    start = end - periods * period_s
    buckets: list[list[Sample]] = [[] for _ in range(periods)]
    for sample in samples:
        if start <= sample.timestamp < end:
            buckets[min(int((sample.timestamp - start) // period_s), periods - 1)].append(sample)
    return [
        Datapoint(start + i * period_s, statistic_value(bucket, statistic))
        for i, bucket in enumerate(buckets)
    ]


# --------------------------------------------------------------------------------------------------
# The notification CloudWatch publishes to an alarm's SNS actions
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmView:
    """The alarm's declared configuration, as DescribeAlarms shows it."""

    name: str
    arn: str
    description: str
    account_id: str
    region: str
    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str
    extended: bool
    unit: str | None
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int | None
    comparison: str
    threshold: float
    treat_missing_data: str | None
    ok_actions: tuple[str, ...] = ()
    alarm_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    configuration_updated: str = ""

    @property
    def rule(self) -> AlarmRule:
        return AlarmRule(
            comparison=self.comparison,
            threshold=self.threshold,
            evaluation_periods=self.evaluation_periods,
            datapoints_to_alarm=self.datapoints_to_alarm,
            treat_missing_data=self.treat_missing_data,
            period=self.period,
            statistic=self.statistic,
        )

    def actions_for(self, state: str) -> tuple[str, ...]:
        return {OK: self.ok_actions, ALARM: self.alarm_actions}.get(state, self.insufficient_data_actions)


def _iso(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{int(epoch * 1000) % 1000:03d}+0000"
    )


def alarm_message(alarm: AlarmView, old_state: str, new_state: str, reason: str, at: float) -> dict[str, Any]:
    """The JSON CloudWatch publishes to SNS on a state change."""
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description or None,
        "AWSAccountId": alarm.account_id,
        "AlarmConfigurationUpdatedTimestamp": alarm.configuration_updated,
        "NewStateValue": new_state,
        "NewStateReason": reason,
        "StateChangeTime": _iso(at),
        "Region": REGION_NAMES.get(alarm.region, alarm.region),
        "AlarmArn": alarm.arn,
        "OldStateValue": old_state,
        "OKActions": list(alarm.ok_actions),
        "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
        "Trigger": {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "StatisticType": "ExtendedStatistic" if alarm.extended else "Statistic",
            "Statistic": alarm.statistic if alarm.extended else alarm.statistic.upper(),
            "Unit": alarm.unit,
            "Dimensions": [{"value": value, "name": name} for name, value in alarm.dimensions],
            "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods,
            "DatapointsToAlarm": alarm.datapoints_to_alarm or alarm.evaluation_periods,
            "ComparisonOperator": alarm.comparison,
            "Threshold": float(alarm.threshold),
            "TreatMissingData": alarm.treat_missing_data or "missing",
            "EvaluateLowSampleCountPercentile": "",
        },
    }


def alarm_subject(alarm: AlarmView, new_state: str) -> str:
    subject = f'{new_state}: "{alarm.name}" in {REGION_NAMES.get(alarm.region, alarm.region)}'
    return subject if len(subject) <= 100 else subject[:97] + "..."  # SNS subjects are at most 100


def alarm_email(alarm: AlarmView, message: Mapping[str, Any]) -> str:
    """The text CloudWatch sends to email subscribers (the JSON goes to every other protocol)."""
    region = message["Region"]
    stamp = datetime.strptime(message["StateChangeTime"][:19], "%Y-%m-%dT%H:%M:%S")
    when = stamp.strftime("%A %d %B, %Y %H:%M:%S UTC")
    n, m = alarm.evaluation_periods, alarm.datapoints_to_alarm or alarm.evaluation_periods
    dimensions = ", ".join(f"{name} = {value}" for name, value in alarm.dimensions)
    return "\n".join(
        [
            f'You are receiving this email because your Amazon CloudWatch Alarm "{alarm.name}" in the {region}'
            f' region has entered the {message["NewStateValue"]} state, because "{message["NewStateReason"]}"'
            f' at "{when}".',
            "",
            "Alarm Details:",
            f"- Name:                       {alarm.name}",
            f"- Description:                {alarm.description}",
            f"- State Change:               {message['OldStateValue']} -> {message['NewStateValue']}",
            f"- Reason for State Change:    {message['NewStateReason']}",
            f"- Timestamp:                  {when}",
            f"- AWS Account:                {alarm.account_id}",
            f"- Alarm Arn:                  {alarm.arn}",
            "",
            "Threshold:",
            f"- The alarm is in the ALARM state when the metric is {alarm.comparison} {float(alarm.threshold)}"
            f" for at least {m} of the last {n} period(s) of {alarm.period} seconds.",
            "",
            "Monitored Metric:",
            f"- MetricNamespace:                     {alarm.namespace}",
            f"- MetricName:                          {alarm.metric_name}",
            f"- Dimensions:                          [{dimensions}]",
            f"- Period:                              {alarm.period} seconds",
            f"- Statistic:                           {alarm.statistic}",
            f"- Unit:                                {alarm.unit or 'not specified'}",
            f"- TreatMissingData:                    {alarm.treat_missing_data or 'missing'}",
            "",
            "State Change Actions:",
            f"- OK: [{','.join(alarm.ok_actions)}]",
            f"- ALARM: [{','.join(alarm.alarm_actions)}]",
            f"- INSUFFICIENT_DATA: [{','.join(alarm.insufficient_data_actions)}]",
        ]
    )


def time_scale_from_env(default: float = 1.0) -> float:
    raw = os.environ.get(TIME_SCALE_ENV, "").strip()
    if not raw:
        return default
    try:
        scale = float(raw)
    except ValueError:
        raise ValueError(f"{TIME_SCALE_ENV} must be a number, got {raw!r}") from None
    if not 0 < scale <= 3600:
        raise ValueError(f"{TIME_SCALE_ENV} must be within (0, 3600], got {raw!r}")
    return scale


# --------------------------------------------------------------------------------------------------
# The loop, on moto's backends (in the local cloud's process)
# --------------------------------------------------------------------------------------------------

MetricKey = tuple[str, str, frozenset[tuple[str, str]]]
_STRAGGLERS = 500  # older datapoints in a row before the newest-first read stops


def _epoch(moment: datetime) -> float:
    # moto stores naive UTC datetimes
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _view(alarm: Any, account_id: str) -> AlarmView | None:
    """Our view of a moto alarm; None for what the loop does not evaluate (metric math, composite)."""
    if not alarm.metric_name or alarm.metric_data_queries or getattr(alarm, "rule", None):
        return None
    stat = alarm.statistic or alarm.extended_statistic
    if not stat or not alarm.period:
        return None
    updated = alarm.configuration_updated_timestamp
    return AlarmView(
        name=alarm.name,
        arn=alarm.alarm_arn,
        description=alarm.description or "",
        account_id=account_id,
        region=alarm.region_name,
        namespace=alarm.namespace,
        metric_name=alarm.metric_name,
        dimensions=tuple((d.name, d.value) for d in alarm.dimensions),
        statistic=stat,
        extended=not alarm.statistic,
        unit=alarm.unit,
        period=int(alarm.period),
        evaluation_periods=int(alarm.evaluation_periods),
        datapoints_to_alarm=int(alarm.datapoints_to_alarm) if alarm.datapoints_to_alarm else None,
        comparison=alarm.comparison_operator,
        threshold=float(alarm.threshold),
        treat_missing_data=alarm.treat_missing_data,
        ok_actions=tuple(alarm.ok_actions or ()),
        alarm_actions=tuple(alarm.alarm_actions or ()),
        insufficient_data_actions=tuple(alarm.insufficient_data_actions or ()),
        configuration_updated=_iso(_epoch(updated)) if isinstance(updated, datetime) else "",
    )


def _samples_by_metric(backend: Any, since: float) -> dict[MetricKey, list[tuple[Sample, str | None]]]:
    """What moto's CloudWatch holds since ``since``, by metric identity (exact dimensions).

    moto keeps one list in arrival order, which is time order but for stragglers with an explicit
    older timestamp: read it from the newest end and stop after a long run of older datapoints.
    """
    from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum

    cutoff = datetime.fromtimestamp(since, UTC).replace(tzinfo=None)  # moto's naive UTC
    index: dict[MetricKey, list[tuple[Sample, str | None]]] = {}
    older = 0
    for datum in reversed(list(backend.metric_data)):
        stamp = (
            datum.timestamp
            if datum.timestamp.tzinfo is None
            else datum.timestamp.astimezone(UTC).replace(tzinfo=None)
        )
        if stamp < cutoff:
            older += 1
            if older > _STRAGGLERS:
                break
            continue
        older = 0
        t = _epoch(stamp)
        if isinstance(datum, MetricDatum):
            sample = Sample.of(t, float(datum.value))
        elif isinstance(datum, MetricAggregatedDatum):
            sample = Sample(t, datum.sample_count, datum.sum, datum.min, datum.max)
        else:
            continue
        key = (datum.namespace, datum.name, frozenset((d.name, d.value) for d in datum.dimensions))
        index.setdefault(key, []).append((sample, datum.unit))
    return index


@dataclass
class AlarmLoop:
    """Samples metrics and evaluates every alarm of every moto CloudWatch backend in this process."""

    metrics: MetricsPublisher | None = None
    time_scale: float = 1.0
    clock: Callable[[], float] = time.time
    interval_s: float | None = None  # default: a quarter of a scaled minute, within 0.5..10 s
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _last_end: dict[str, float] = field(default_factory=dict, init=False)
    _ticks: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not self.time_scale > 0:
            raise ValueError("time_scale must be > 0")
        if self.interval_s is None:
            self.interval_s = min(max(60.0 / self.time_scale / 4, 0.5), 10.0)

    def start(self) -> None:
        if self.metrics is not None:
            self.metrics.attach()
        self._thread = threading.Thread(target=self._run, name="localcloud-alarms", daemon=True)
        self._thread.start()
        log.info("metrics and alarms: every %.1fs, time scale x%g", self.interval_s, self.time_scale)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.metrics is not None:
            self.metrics.detach()

    def _run(self) -> None:
        assert self.interval_s is not None
        while not self._stop.wait(self.interval_s):
            try:
                self.tick()
            except Exception:
                log.exception("metrics/alarm tick failed")

    def tick(self) -> None:
        now = self.clock()
        if self.metrics is not None:
            self.metrics.sample(now)
        self.evaluate_all(now)
        self._ticks += 1
        if self.metrics is not None and self._ticks % 100 == 0:
            self.metrics.prune(now - self.retention_s)

    @property
    def retention_s(self) -> float:
        return max(3 * 3600 / self.time_scale, 600.0)

    def scaled(self, period: int) -> float:
        return period / self.time_scale

    def evaluate_all(self, now: float) -> None:
        """Evaluate each alarm once per (scaled) period, when a period has just completed."""
        from moto.cloudwatch.models import cloudwatch_backends

        for account_id, regions in list(cloudwatch_backends.items()):
            for backend in list(regions.values()):
                due = []
                for alarm in list(backend.alarms.values()):
                    view = _view(alarm, account_id)
                    if view is None:
                        continue
                    period_s = self.scaled(view.period)
                    end = math.floor(now / period_s) * period_s  # only whole periods count
                    if self._last_end.get(view.arn) != end:
                        self._last_end[view.arn] = end
                        due.append((view, end))
                if not due:
                    continue
                since = min(end - evaluation_range(v.rule) * self.scaled(v.period) for v, end in due)
                index = _samples_by_metric(backend, since)
                for view, end in due:
                    try:
                        self._evaluate(backend, view, end, index, now)
                    except Exception:
                        log.exception("evaluating alarm %s failed", view.name)

    def _evaluate(
        self,
        backend: Any,
        alarm: AlarmView,
        end: float,
        index: Mapping[MetricKey, list[tuple[Sample, str | None]]],
        now: float,
    ) -> None:
        key = (alarm.namespace, alarm.metric_name, frozenset(alarm.dimensions))
        samples = [s for s, unit in index.get(key, []) if alarm.unit is None or unit == alarm.unit]
        rule = alarm.rule
        points = datapoints(
            samples,
            alarm.statistic,
            end=end,
            period_s=self.scaled(alarm.period),
            periods=evaluation_range(rule),
        )
        outcome = evaluate(rule, points)
        current = backend.alarms.get(alarm.name)
        if current is None or outcome.state is None or outcome.state == current.state_value:
            return
        old = current.state_value
        reason_data = {
            "version": "1.0",
            "queryDate": _iso(now),
            "startDate": _iso(points[0].start),
            "statistic": alarm.statistic,
            "period": alarm.period,
            "recentDatapoints": [p.value for p in points if p.value is not None],
            "threshold": alarm.threshold,
            "evaluatedDatapoints": [
                {"timestamp": _iso(p.start), "value": p.value} for p in outcome.evaluated
            ],
        }
        backend.set_alarm_state(alarm.name, outcome.reason, json.dumps(reason_data), outcome.state)
        log.warning("alarm %s: %s -> %s (%s)", alarm.name, old, outcome.state, outcome.reason)
        if getattr(current, "actions_enabled", True):
            self._notify(alarm, old, outcome.state, outcome.reason, now)

    def _notify(self, alarm: AlarmView, old: str, new: str, reason: str, at: float) -> None:
        from moto.sns.models import sns_backends

        message = alarm_message(alarm, old, new, reason, at)
        body = json.dumps({"default": json.dumps(message), "email": alarm_email(alarm, message)})
        for action in alarm.actions_for(new):
            parts = action.split(":")
            if len(parts) < 6 or parts[2] != "sns":
                log.warning("alarm %s: action %s is not an SNS topic; not run locally", alarm.name, action)
                continue
            if not deliveries.alarm_may_publish(action, alarm.name):
                continue  # denied by the topic's or its key's policy: dropped as AWS drops it, and logged
            try:
                sns_backends[parts[4]][parts[3]].publish(
                    body, arn=action, subject=alarm_subject(alarm, new), message_structure="json"
                )
            except Exception:
                log.exception("alarm %s: publishing to %s failed", alarm.name, action)
