"""Stage access logging: one line per request in the stage's AccessLogSetting format, into its log group.

API Gateway substitutes each `$context.<variable>` of the format with the request's value, and "-" when
the request has none (no authorizer claims on a preflight, no integration latency on a gateway-made
error). The gateway fills the variables as it goes (`Request.context`): requestId, httpMethod, path,
resourcePath, identity.sourceIp, identity.userAgent, requestTime, requestTimeEpoch, protocol, stage,
apiId, authorizer.claims.<claim>, integrationLatency, wafResponseCode, webaclArn, error.message,
status, responseLatency, responseLength. Values are JSON-escaped so that a JSON format stays JSON
whatever a client sends (a quote in a User-Agent). Lines go to the CloudWatch Logs group of
DestinationArn (moto's Logs, stream `<api id>_<stage>`); a Firehose destination is not emulated and
the lines only reach the `localcloud.api.access` logger.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["AccessLog", "render"]

log = logging.getLogger("localcloud.api.access")

_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_:-]+)*)")


def render(format_: str, context: Mapping[str, Any]) -> str:
    """The access log line: `$context.x` replaced by the value, "-" when there is none."""

    def value(match: re.Match[str]) -> str:
        found = context.get(match.group(1))
        text = "-" if found is None or found == "" else str(found)
        return json.dumps(text)[1:-1]

    return _VARIABLE.sub(value, format_)


def log_group_of(destination_arn: str) -> str | None:
    """The log group name of a CloudWatch Logs ARN (with or without the trailing ':*')."""
    if ":log-group:" not in destination_arn:
        return None
    return destination_arn.split(":log-group:", 1)[1].removesuffix(":*")


class AccessLog:
    """`write(context)` puts one line into the log group, in the stage's format."""

    def __init__(self, logs: Any, destination_arn: str, format_: str, stream: str) -> None:
        self.logs, self.format, self.stream = logs, format_, stream
        self.log_group = log_group_of(destination_arn)
        if self.log_group is None:
            log.warning("access log destination %s is not emulated: lines are only logged", destination_arn)
        self._stream_ready = False
        self._lock = threading.Lock()

    def write(self, context: Mapping[str, Any]) -> None:
        line = render(self.format, context)
        log.debug("%s", line)
        if self.log_group is None:
            return
        try:
            self._ensure_stream()
            self.logs.put_log_events(
                logGroupName=self.log_group,
                logStreamName=self.stream,
                logEvents=[{"timestamp": int(time.time() * 1000), "message": line}],
            )
        except Exception:  # the response is already on its way; a lost line must not break the API
            log.warning("could not write the access log line to %s", self.log_group, exc_info=True)

    def _ensure_stream(self) -> None:
        with self._lock:
            if self._stream_ready:
                return
            with contextlib.suppress(self.logs.exceptions.ResourceAlreadyExistsException):
                self.logs.create_log_stream(logGroupName=self.log_group, logStreamName=self.stream)
            self._stream_ready = True
