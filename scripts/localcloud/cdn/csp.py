"""The template's Content-Security-Policy, with the AWS hosts in it mapped to the local cloud's.

On AWS the page talks to `https://<api id>.execute-api.<region>.amazonaws.com`, Cognito's regional
endpoint and the upload bucket's regional virtual host; locally those are the API front and the
emulator's endpoint. The local cloud knows both sides (the stack's API id and bucket, its own ports), so
it maps each source the template names to its local origin and leaves every other source as it is: a
source the template names that the local cloud does not serve stays an AWS host, and the page fails
here as it would there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from localcloud.deploy import REGION

URL_SUFFIX = "amazonaws.com"


@dataclass(frozen=True)
class HostMap:
    """AWS origin (`https://host`) -> the local origin that stands in for it."""

    origins: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def for_stack(
        cls, *, api_id: str, upload_bucket: str, api_url: str, endpoint: str, region: str = REGION
    ) -> HostMap:
        local = endpoint.rstrip("/")
        return cls(
            {
                f"https://{api_id}.execute-api.{region}.{URL_SUFFIX}": api_url.rstrip("/"),
                f"https://cognito-idp.{region}.{URL_SUFFIX}": local,
                f"https://{upload_bucket}.s3.{region}.{URL_SUFFIX}": local,
            }
        )

    def source(self, source: str) -> str:
        return self.origins.get(source.rstrip("/"), source)

    def policy(self, csp: str) -> str:
        """`csp` with each mapped source replaced (a source mapped twice to one origin appears once)."""
        directives = []
        for part in csp.split(";"):
            tokens = part.split()
            if not tokens:
                continue
            sources = list(dict.fromkeys(self.source(s) for s in tokens[1:]))
            directives.append(" ".join([tokens[0], *sources]))
        return "; ".join(directives)
