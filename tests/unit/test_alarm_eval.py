"""The local alarm evaluator against the CloudWatch user guide: datapoints in, state out.

The two tables of "Alarm evaluation" (how an alarm treats missing data) are encoded as written there:
0 = not breaching, X = breaching, - = missing, most recent on the right, evaluation range of 5.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from localcloud.alarms import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    AlarmRule,
    AlarmView,
    Datapoint,
    Sample,
    alarm_email,
    alarm_message,
    alarm_subject,
    datapoints,
    evaluate,
    evaluation_range,
    statistic_value,
)

RETAIN = None  # Evaluation.state None: the alarm keeps its current state


def points(row: str) -> list[Datapoint]:
    """'0 - X - X' -> datapoints against threshold 1 with GreaterThanThreshold."""
    values = {"0": 0.0, "X": 5.0, "-": None}
    return [Datapoint(60.0 * i, values[c]) for i, c in enumerate(row.split())]


def rule(m: int, n: int, treat: str) -> AlarmRule:
    return AlarmRule(
        "GreaterThanThreshold", 1.0, evaluation_periods=n, datapoints_to_alarm=m, treat_missing_data=treat
    )


TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("0 - X - X", (OK, OK, OK, OK)),
        ("0 - - - -", (OK, OK, OK, OK)),
        ("- - - - -", (INSUFFICIENT_DATA, RETAIN, ALARM, OK)),
        ("0 X X - X", (ALARM, ALARM, ALARM, ALARM)),
        ("- - X - -", (ALARM, RETAIN, ALARM, OK)),
    ],
)
def test_three_out_of_three_as_in_the_user_guide(row: str, expected: tuple[str | None, ...]) -> None:
    got = tuple(evaluate(rule(3, 3, treat), points(row)).state for treat in TREATMENTS)
    assert got == expected


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("0 - X - X", (ALARM, ALARM, ALARM, ALARM)),
        ("0 0 X 0 X", (ALARM, ALARM, ALARM, ALARM)),
        ("0 - X - -", (OK, OK, ALARM, OK)),
        ("- - - - 0", (OK, OK, ALARM, OK)),
        ("- - - X -", (ALARM, RETAIN, ALARM, OK)),
    ],
)
def test_two_out_of_three_as_in_the_user_guide(row: str, expected: tuple[str | None, ...]) -> None:
    got = tuple(evaluate(rule(2, 3, treat), points(row)).state for treat in TREATMENTS)
    assert got == expected


def test_a_fresh_single_breach_does_not_alarm_three_out_of_three_early() -> None:
    assert evaluate(rule(3, 3, "missing"), points("- - - - X")).state == OK


def test_the_dlq_alarm_shape_fires_on_one_message_and_clears_when_empty() -> None:
    dlq = AlarmRule("GreaterThanThreshold", 0, evaluation_periods=1, treat_missing_data="notBreaching")
    fired = evaluate(dlq, [Datapoint(0, 0.0), Datapoint(60, 0.0), Datapoint(120, 1.0)])
    assert fired.state == ALARM
    assert fired.reason.startswith(
        "Threshold Crossed: 1 out of the last 1 datapoints [1.0 (01/01/70 00:02:00)]"
    )
    assert "greater than the threshold (0.0)" in fired.reason
    assert evaluate(dlq, [Datapoint(0, 1.0), Datapoint(60, 1.0), Datapoint(120, 0.0)]).state == OK
    silent = evaluate(dlq, [Datapoint(0, None), Datapoint(60, None), Datapoint(120, None)])
    assert silent.state == OK and "[NonBreaching]" in silent.reason


def test_the_latest_real_datapoints_decide_even_when_older_than_the_newest_periods() -> None:
    # Lambda Errors stop flowing after a burst: the alarm re-evaluates the last real datapoints.
    errors = AlarmRule("GreaterThanThreshold", 0, evaluation_periods=1, treat_missing_data="notBreaching")
    assert evaluate(errors, [Datapoint(0, 2.0), Datapoint(60, None), Datapoint(120, None)]).state == ALARM


@pytest.mark.parametrize(
    ("comparison", "value", "breaches"),
    [
        ("GreaterThanThreshold", 10.0, False),
        ("GreaterThanOrEqualToThreshold", 10.0, True),
        ("LessThanThreshold", 10.0, False),
        ("LessThanOrEqualToThreshold", 10.0, True),
        ("LessThanThreshold", 9.0, True),
    ],
)
def test_comparisons(comparison: str, value: float, breaches: bool) -> None:
    assert AlarmRule(comparison, 10.0, evaluation_periods=1).breaches(value) is breaches


def test_invalid_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="DatapointsToAlarm"):
        AlarmRule("GreaterThanThreshold", 0, evaluation_periods=2, datapoints_to_alarm=3)
    with pytest.raises(ValueError, match="ComparisonOperator"):
        AlarmRule("Above", 0, evaluation_periods=1)
    with pytest.raises(ValueError, match="TreatMissingData"):
        AlarmRule("GreaterThanThreshold", 0, evaluation_periods=1, treat_missing_data="zero")


def test_statistics_over_single_values_and_statistic_sets() -> None:
    samples = [Sample.of(0, 1.0), Sample.of(1, 4.0), Sample(2, 2.0, 10.0, 3.0, 7.0)]
    assert statistic_value(samples, "SampleCount") == 4.0
    assert statistic_value(samples, "Sum") == 15.0
    assert statistic_value(samples, "Minimum") == 1.0
    assert statistic_value(samples, "Maximum") == 7.0
    assert statistic_value(samples, "Average") == 3.75
    assert statistic_value([Sample.of(0, float(v)) for v in range(1, 101)], "p99") == 99.0
    assert statistic_value([], "Maximum") is None
    with pytest.raises(ValueError, match="statistic"):
        statistic_value(samples, "Median")


def test_datapoints_bucket_samples_into_whole_periods_oldest_first() -> None:
    samples = [Sample.of(t, v) for t, v in [(0.5, 1.0), (1.2, 3.0), (1.9, 2.0), (3.1, 9.0), (2.99, 4.0)]]
    got = datapoints(samples, "Maximum", end=3.0, period_s=1.0, periods=3)
    assert got == [Datapoint(0.0, 1.0), Datapoint(1.0, 3.0), Datapoint(2.0, 4.0)]  # 3.1 is not complete yet
    assert [p.value for p in datapoints([], "Sum", end=3.0, period_s=1.0, periods=2)] == [None, None]


def test_the_evaluation_range_is_a_few_periods_longer_than_the_evaluation_periods() -> None:
    assert evaluation_range(rule(3, 3, "missing")) == 5


def view() -> AlarmView:
    return AlarmView(
        name="intake-ThumbnailDLQDepthAlarm-ABC",
        arn="arn:aws:cloudwatch:us-east-1:123456789012:alarm:intake-ThumbnailDLQDepthAlarm-ABC",
        description="Messages are waiting in the thumbnail dead-letter queue.",
        account_id="123456789012",
        region="us-east-1",
        namespace="AWS/SQS",
        metric_name="ApproximateNumberOfMessagesVisible",
        dimensions=(("QueueName", "intake-ThumbnailDLQ-XYZ"),),
        statistic="Maximum",
        extended=False,
        unit=None,
        period=60,
        evaluation_periods=1,
        datapoints_to_alarm=None,
        comparison="GreaterThanThreshold",
        threshold=0.0,
        treat_missing_data="notBreaching",
        ok_actions=("arn:aws:sns:us-east-1:123456789012:ops",),
        alarm_actions=("arn:aws:sns:us-east-1:123456789012:ops",),
    )


def test_the_notification_has_cloudwatchs_shape() -> None:
    at = datetime(2026, 11, 22, 10, 5, 7, 250000, tzinfo=UTC).timestamp()
    message = alarm_message(view(), OK, ALARM, "Threshold Crossed: ...", at)
    json.dumps(message)  # serialisable as is
    assert message["AlarmName"] == "intake-ThumbnailDLQDepthAlarm-ABC"
    assert message["NewStateValue"] == ALARM and message["OldStateValue"] == OK
    assert message["StateChangeTime"] == "2026-11-22T10:05:07.250+0000"
    assert message["Region"] == "US East (N. Virginia)"
    assert message["AWSAccountId"] == "123456789012"
    assert message["Trigger"] == {
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Namespace": "AWS/SQS",
        "StatisticType": "Statistic",
        "Statistic": "MAXIMUM",
        "Unit": None,
        "Dimensions": [{"value": "intake-ThumbnailDLQ-XYZ", "name": "QueueName"}],
        "Period": 60,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 0.0,
        "TreatMissingData": "notBreaching",
        "EvaluateLowSampleCountPercentile": "",
    }
    assert (
        alarm_subject(view(), ALARM) == 'ALARM: "intake-ThumbnailDLQDepthAlarm-ABC" in US East (N. Virginia)'
    )
    text = alarm_email(view(), message)
    assert 'Alarm "intake-ThumbnailDLQDepthAlarm-ABC"' in text and "OK -> ALARM" in text
    assert "QueueName = intake-ThumbnailDLQ-XYZ" in text


def test_long_subjects_are_cut_to_the_sns_limit() -> None:
    long = AlarmView(**{**view().__dict__, "name": "x" * 120})
    assert len(alarm_subject(long, INSUFFICIENT_DATA)) == 100
