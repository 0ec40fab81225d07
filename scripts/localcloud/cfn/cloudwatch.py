"""AWS::CloudWatch::Alarm, on moto's CloudWatch backend.

moto 5.2.5 skips this type. As in the CloudFormation reference: the resource calls PutMetricAlarm
with every declared property; without `AlarmName` the name is generated as
`<stack name>-<logical id>-<random>`; `Ref` gives the alarm name and `GetAtt Arn` its ARN.
Changing AlarmName replaces the alarm; any other change updates it in place (PutMetricAlarm on the
same name). Deleting the resource deletes the alarm.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from moto.cloudwatch.models import (
    CloudWatchBackend,
    Dimension,
    Metric,
    MetricDataQuery,
    MetricStat,
    cloudwatch_backends,
)
from moto.core.common_models import CloudFormationModel

from ._model import LocalModel
from ._props import as_bool, as_float, as_int, tag_dict

_APPLIED = (
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "AlarmActions",
    "OKActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ThresholdMetricId",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Unit",
    "Metrics",
    "Tags",
)


def _metric_data_queries(metrics: list[dict[str, Any]]) -> list[MetricDataQuery]:
    """CloudFormation `Metrics` (MetricDataQuery list) as moto's model, like moto's PutMetricAlarm."""
    queries = []
    for query in metrics:
        stat = query.get("MetricStat")
        metric_stat = None
        if stat:
            metric = stat["Metric"]
            metric_stat = MetricStat(
                metric=Metric(
                    metric_name=metric["MetricName"],
                    namespace=metric.get("Namespace"),
                    dimensions=[Dimension(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])],
                ),
                period=str(stat["Period"]),
                stat=stat["Stat"],
                unit=stat.get("Unit"),
            )
        queries.append(
            MetricDataQuery(
                query_id=query["Id"],
                label=query.get("Label"),  # type: ignore[arg-type]
                period=query.get("Period"),  # type: ignore[arg-type]
                return_data=query.get("ReturnData"),  # type: ignore[arg-type]
                expression=query.get("Expression"),
                metric_stat=metric_stat,
            )
        )
    return queries


def _optional(props: dict[str, Any], key: str, convert: Any) -> Any:
    return convert(props[key]) if props.get(key) is not None else None


def put_alarm(backend: CloudWatchBackend, name: str, props: dict[str, Any]) -> None:
    """PutMetricAlarm from the alarm's CloudFormation properties."""
    backend.put_metric_alarm(
        name=name,
        namespace=props.get("Namespace"),  # type: ignore[arg-type]
        metric_name=props.get("MetricName"),  # type: ignore[arg-type]
        metric_data_queries=_metric_data_queries(props["Metrics"]) if props.get("Metrics") else None,
        comparison_operator=props["ComparisonOperator"],
        evaluation_periods=as_int(props["EvaluationPeriods"]),
        datapoints_to_alarm=_optional(props, "DatapointsToAlarm", as_int),
        period=_optional(props, "Period", as_int),
        threshold=_optional(props, "Threshold", as_float),
        statistic=props.get("Statistic"),  # type: ignore[arg-type]
        extended_statistic=props.get("ExtendedStatistic"),
        description=props.get("AlarmDescription"),  # type: ignore[arg-type]
        dimensions=[{"Name": d["Name"], "Value": str(d["Value"])} for d in props.get("Dimensions", [])],
        alarm_actions=[str(a) for a in props.get("AlarmActions", [])],
        ok_actions=[str(a) for a in props.get("OKActions", [])],
        insufficient_data_actions=[str(a) for a in props.get("InsufficientDataActions", [])],
        unit=props.get("Unit"),
        actions_enabled=as_bool(props.get("ActionsEnabled", True)),
        treat_missing_data=props.get("TreatMissingData"),
        evaluate_low_sample_count_percentile=props.get("EvaluateLowSampleCountPercentile"),
        threshold_metric_id=props.get("ThresholdMetricId"),
        tags=[{"Key": k, "Value": v} for k, v in tag_dict(props.get("Tags")).items()] or None,
    )


class CloudWatchAlarm(LocalModel, CloudFormationModel):
    """AWS::CloudWatch::Alarm."""

    TYPE = "AWS::CloudWatch::Alarm"
    NAME_TYPE = "AlarmName"
    REF = "name"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"Arn": "arn"}
    REPLACING = ("AlarmName",)  # without AlarmName, an update keeps the alarm's name
    APPLIED = _APPLIED

    name: str
    arn: str

    @property
    def _backend(self) -> CloudWatchBackend:
        return cloudwatch_backends[self.account_id][self.region_name]

    def create(self, name: str) -> None:
        # name is AlarmName, or the name moto generated as <stack>-<logical id>-<random>.
        put_alarm(self._backend, name, self.props)
        self.name, self.arn = name, self._backend.alarms[name].alarm_arn

    def update(self, props: dict[str, Any]) -> None:
        put_alarm(self._backend, self.name, props)

    def remove(self) -> None:
        self._backend.delete_alarms([self.name])
