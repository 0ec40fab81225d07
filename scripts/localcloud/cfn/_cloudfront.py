"""What the CloudFront models share: moto's global CloudFront backend, and the local cloud's own store
of what moto does not model (response headers policies, cache policies) or drops (a distribution's
origin access control ids, response headers policy ids, cache policy ids, as declared).

The local CloudFront front (localcloud.cdn) runs in the emulator's process and reads this store.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from moto.cloudfront.models import CloudFrontBackend, cloudfront_backends
from moto.utilities.utils import get_partition


def backend(account_id: str, region_name: str) -> CloudFrontBackend:
    """CloudFront is global: one backend per account and partition."""
    return cloudfront_backends[account_id][get_partition(region_name)]


def new_policy_id() -> str:
    """A policy id in CloudFront's form (a UUID)."""
    return str(uuid.uuid4())


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class DeployedDistribution:
    """A distribution as the template declared it (CloudFormation's DistributionConfig shape)."""

    id: str
    arn: str
    domain_name: str
    account_id: str
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class Store:
    """Per process, like moto's backends."""

    distributions: dict[str, DeployedDistribution] = field(default_factory=dict)
    response_headers_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    cache_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


STORE = Store()


class StoredPolicy:
    """A CloudFront policy moto has no API for (put it before LocalModel): its config is kept in STORE.

    `CONFIG` names the property holding the policy's config, `STORED_IN` the STORE field it goes to.
    `Ref` and `GetAtt Id` give the policy's id, as in the CloudFormation reference.
    """

    CONFIG: ClassVar[str]
    STORED_IN: ClassVar[str]
    REF = "id"
    ATTRIBUTES: ClassVar[Mapping[str, str]] = {"Id": "id", "LastModifiedTime": "last_modified_time"}

    id: str
    last_modified_time: str
    props: dict[str, Any]

    def _stored(self) -> dict[str, dict[str, Any]]:
        stored: dict[str, dict[str, Any]] = getattr(STORE, self.STORED_IN)
        return stored

    def create(self, name: str) -> None:
        self.id = new_policy_id()
        self.update(self.props)

    def update(self, props: dict[str, Any]) -> None:
        with STORE.lock:
            self._stored()[self.id] = dict(props[self.CONFIG])
        self.last_modified_time = now_iso()

    def remove(self) -> None:
        with STORE.lock:
            self._stored().pop(self.id, None)
