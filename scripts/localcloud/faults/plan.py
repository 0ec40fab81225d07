"""Every fault of the soak on one running local cloud: `install` before the cloud starts (the
middleware must be in front of the emulator when it serves), `arm` once it runs, `disarm` before it
stops."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from intake.status import STAGES

from ..esm import EsmConfig, SqsPoller
from ..invoker import FunctionPool
from . import poison
from .kills import Killer
from .middleware import FaultInjection, consumer_of
from .pollers import Poller, PollerRestarts
from .rates import API_KILL, FUNCTION_KILL, Counts, Rates
from .s3_events import DuplicateS3Events

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

    from ..cloud import LocalCloud

log = logging.getLogger(__name__)


class Ticker:
    """Calls `action` about every `period_s` seconds (jittered, so faults do not fall in step)."""

    def __init__(self, name: str, period_s: float, action: Callable[[], object], rng: random.Random) -> None:
        self.name, self.period_s, self._action, self._rng = name, period_s, action, rng
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"fault-{name}", daemon=True)

    def start(self) -> Ticker:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.period_s * self._rng.uniform(0.5, 1.5)):
            try:
                self._action()
            except Exception:  # a failed injection must not end the others
                log.exception("fault %s failed", self.name)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def poller_from_mapping(cloud: LocalCloud, old: SqsPoller) -> SqsPoller:
    """A new poller for `old`'s mapping, as the Lambda API describes it now (not started)."""
    mapping = cloud.client("lambda").get_event_source_mapping(UUID=old.config.uuid)
    config = EsmConfig.from_api(mapping, old.config.queue_url)
    return SqsPoller(config, old.spec, invoker=cloud.invoker, endpoint_url=cloud.endpoint)


def set_concurrency(cloud: LocalCloud, maximum: int) -> None:
    """Set every consumer mapping's MaximumConcurrency (UpdateEventSourceMapping) and restart its
    poller, which reads it at start as Lambda's pollers do."""
    lambda_ = cloud.client("lambda")
    for i, old in enumerate(list(cloud.pollers)):
        lambda_.update_event_source_mapping(
            UUID=old.config.uuid, ScalingConfig={"MaximumConcurrency": maximum}
        )
        old.stop()
        new = poller_from_mapping(cloud, old)
        new.start()
        cloud.pollers[i] = new


class FaultPlan:
    def __init__(self, rates: Rates, *, seed: int | None = None) -> None:
        self.rates = rates
        self.counts = Counts()
        self._rng = random.Random(seed)
        self.middleware: FaultInjection | None = None
        self._s3_events = DuplicateS3Events(rates.duplicate_s3_event, self.counts, self._fork())
        self._tickers: list[Ticker] = []
        self._restarts: PollerRestarts | None = None

    def _fork(self) -> random.Random:
        # One generator per injector: a seed makes a run's choices repeatable per injector.
        return random.Random(self._rng.random())

    def install(self, cloud: LocalCloud) -> None:
        """Put the fault middleware in front of the emulator (before `cloud.start()`)."""

        def make(app: WSGIApplication) -> WSGIApplication:
            self.middleware = FaultInjection(app, self.rates, self.counts, rng=self._fork())
            return self.middleware

        cloud.emulator.wrap(make)

    def arm(self, cloud: LocalCloud) -> None:
        """Start injecting into the running cloud's functions, deliveries and pollers."""
        consumers = [poller.name for poller in cloud.pollers]
        if self.middleware is not None:
            self.middleware.arm(consumers, [n for n in consumers if consumer_of(n) in STAGES])
        if self.rates.duplicate_s3_event > 0:
            self._s3_events.install()
        rates = self.rates

        def consumer_pools() -> list[FunctionPool]:
            targets = {n for n in consumers if consumer_of(n) in rates.function_kill_targets}
            return [pool for pool in cloud.invoker.pools if pool.spec.name in targets]

        def api_pools() -> Iterable[FunctionPool]:
            return list(cloud.api.functions.values()) if cloud.api else []

        def restart(old: Poller) -> Poller:
            assert isinstance(old, SqsPoller)
            return poller_from_mapping(cloud, old)

        self._restarts = PollerRestarts(cloud.pollers, restart, self.counts, rng=self._fork())  # type: ignore[arg-type]

        periodic: list[tuple[str, float, Callable[[], object]]] = [
            (
                "function-kill",
                rates.function_kill_every_s,
                Killer(consumer_pools, FUNCTION_KILL, self.counts, rng=self._fork(), patience_s=5),
            ),
            (
                "api-kill",
                rates.api_kill_every_s,
                Killer(api_pools, API_KILL, self.counts, rng=self._fork(), patience_s=5),
            ),
            ("poller-restart", rates.poller_restart_every_s, self._restarts),
        ]
        self._tickers = [Ticker(n, p, a, self._fork()).start() for n, p, a in periodic if p > 0]

    def send_poison(self, cloud: LocalCloud) -> dict[str, str]:
        """One poison message per consumer queue; {consumer: queue URL}."""
        if not self.rates.poison:
            return {}
        sqs: Any = cloud.client("sqs")
        sent = {}
        for poller in cloud.pollers:
            consumer = consumer_of(poller.name)
            poison.send(sqs, poller.config.queue_url, consumer, self.counts)
            sent[consumer] = poller.config.queue_url
        return sent

    def disarm(self) -> None:
        """Stop injecting (before the cloud stops: a poller restart must not race its shutdown)."""
        for ticker in self._tickers:
            ticker.stop()
        self._tickers = []
        if self._restarts is not None:
            self._restarts.close()  # a restart the ticker's join gave up on cannot outlive the cloud
        if self.middleware is not None:
            self.middleware.disarm()
        self._s3_events.uninstall()
