"""The local cloud: the emulator, the deployed stack, one poller per event source mapping, the API front,
and the one Lambda invoker both of them run functions through (observed by the metrics)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from intake_tools.webconfig import publish_page, web_config
from localcloud import sns_email, users
from localcloud.alarms import AlarmLoop, time_scale_from_env
from localcloud.api import ApiFront
from localcloud.api.web import WEB_ROOT
from localcloud.cdn import CdnFront, HostMap
from localcloud.deploy import REGION, STACK, Artifacts, Deployment, client, deploy
from localcloud.deploy import WIRED_PARAMETERS as DEPLOY_WIRED_PARAMETERS
from localcloud.esm import EsmConfig, SqsPoller, spec_from_api
from localcloud.invoker import Invoker
from localcloud.metrics import MetricsPublisher
from localcloud.server import HOST, PORT, Emulator, free_port

log = logging.getLogger("localcloud")

# Template parameters the local cloud wires itself (the page's origin and the CloudFront front are its
# own ports; the deploy's are the artifacts and the signing key): a caller's parameters may not name them.
WIRED_PARAMETERS = (*DEPLOY_WIRED_PARAMETERS, "WebOrigin", "CdnUrlOverride")


class LocalCloud:
    """`with LocalCloud(artifacts) as cloud:` starts everything and stops it all on exit."""

    def __init__(
        self,
        artifacts: Artifacts,
        *,
        host: str = HOST,
        port: int = PORT,
        parameters: dict[str, str] | None = None,
        time_scale: float | None = None,
        api_port: int = 0,
        cdn_port: int = 0,
    ) -> None:
        wired = sorted(set(parameters or {}) & set(WIRED_PARAMETERS))
        if wired:
            raise ValueError(
                f"the local cloud sets {', '.join(wired)} itself (from its ports, build and key)"
            )
        self.artifacts = artifacts  # the functions and layer it runs, as built for AWS
        self.emulator = Emulator(host, port)
        # The fronts' ports (0: free ones; `make up` uses 3000 and 3001) are known before the deploy.
        self.api_port = api_port or free_port(host)
        # The page lives at the CloudFront front, as on AWS: it is the WebOrigin that the buckets' and
        # the API's CORS rules allow, and the API signs its URLs for it (CdnUrlOverride).
        self.cdn_port = cdn_port or free_port(host)
        self.parameters = {
            **(parameters or {}),
            "WebOrigin": f"http://{host}:{self.cdn_port}",
            "CdnUrlOverride": f"http://{host}:{self.cdn_port}",
        }
        self.api: ApiFront | None = None
        self.cdn: CdnFront | None = None
        self.deployment: Deployment | None = None
        self.pollers: list[SqsPoller] = []
        self.invoker = Invoker()  # every function runs in its environments: the pollers' and the API's
        # Alarm periods pass `time_scale` times faster (LOCALCLOUD_TIME_SCALE, default 1: as on AWS).
        self.time_scale = time_scale if time_scale is not None else time_scale_from_env()
        self.alarms: AlarmLoop | None = None

    @property
    def endpoint(self) -> str:
        return self.emulator.endpoint

    @property
    def outputs(self) -> dict[str, str]:
        assert self.deployment, "the local cloud is not started"
        return self.deployment.outputs

    def client(self, service: str) -> Any:
        return client(service, self.endpoint)

    def environment(self) -> dict[str, str]:
        """What a process needs to talk to this cloud with plain boto3."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        }

    def start(self) -> LocalCloud:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
        self.emulator.start()
        sns_email.install()
        try:
            self.deployment = deploy(self.endpoint, self.artifacts, self.parameters, STACK)
            self._start_pollers(self.deployment)
            users.create_user(
                self.client("cognito-idp"), self.outputs["UserPoolId"], users.DEMO_EMAIL, users.DEMO_PASSWORD
            )
            self.api = ApiFront.for_deployment(
                self.deployment,
                self.endpoint,
                host=self.emulator.host,
                port=self.api_port,
                invoker=self.invoker,
            )
            self.api.page.home = f"http://{self.emulator.host}:{self.cdn_port}"
            self.api.start()
            self._start_cdn(self.deployment)
            self.alarms = AlarmLoop(metrics=MetricsPublisher(self.invoker), time_scale=self.time_scale)
            self.alarms.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_cdn(self, deployment: Deployment) -> None:
        """The CloudFront front for the stack's distribution, and the page in its web bucket."""
        s3 = self.client("s3")
        config = web_config(
            deployment.outputs, REGION, cognitoEndpoint=self.endpoint + "/", apiUrl=self.api_url
        )
        if deployment.outputs.get("WebBucketName"):
            publish_page(s3, deployment.outputs["WebBucketName"], WEB_ROOT, config)
        distributions = [deployment.resources[k] for k in ("Distribution",) if k in deployment.resources]
        self.cdn = CdnFront(
            distributions, s3, host=self.emulator.host, port=self.cdn_port, host_map=self.host_map(deployment)
        ).start()

    def host_map(self, deployment: Deployment) -> HostMap:
        """The AWS hosts the page's CSP names -> this cloud's fronts and endpoint."""
        return HostMap.for_stack(
            api_id=deployment.resources.get("Api", ""),
            upload_bucket=deployment.outputs.get("UploadBucketName", ""),
            api_url=self.api_url,
            endpoint=self.endpoint,
        )

    def _start_pollers(self, deployment: Deployment) -> None:
        lambda_ = self.client("lambda")
        sqs = self.client("sqs")
        # This stack's mappings only: the emulator may hold other stacks (tests deploy more than one).
        uuids = [
            uuid for logical, uuid in deployment.resources.items() if logical.endswith("EventSourceMapping")
        ]
        for uuid in uuids:
            mapping = lambda_.get_event_source_mapping(UUID=uuid)
            queue_name = mapping["EventSourceArn"].rsplit(":", 1)[-1]
            queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
            function = lambda_.get_function_configuration(FunctionName=mapping["FunctionArn"])
            spec = spec_from_api(
                function,
                code_dir=deployment.code_dirs[function["FunctionName"]],
                layer_dirs=(deployment.layer_dir,),
                endpoint_url=self.endpoint,
            )
            config = EsmConfig.from_api(mapping, queue_url)
            poller = SqsPoller(config, spec, invoker=self.invoker, endpoint_url=self.endpoint)
            poller.start()
            self.pollers.append(poller)
            log.info("polling %s -> %s", queue_name, function["FunctionName"])

    @property
    def api_url(self) -> str:
        assert self.api, "the local cloud is not started"
        return self.api.url

    @property
    def cdn_url(self) -> str:
        assert self.cdn, "the local cloud is not started"
        return self.cdn.url

    def stop(self) -> None:
        """Stops everything, each part even if another fails (its error is logged), so the ports are
        always released. Idempotent; every part's stop is bounded."""
        cdn, self.cdn = self.cdn, None
        api, self.api = self.api, None
        alarms, self.alarms = self.alarms, None
        pollers, self.pollers = list(self.pollers), []
        steps: list[tuple[str, Callable[[], None]]] = []
        if cdn is not None:
            steps.append(("the CloudFront front", cdn.stop))
        if api is not None:
            steps.append(("the API front", api.stop))
        if alarms is not None:
            steps.append(("the alarms", alarms.stop))
        steps += [(f"poller {poller.config.queue_url}", poller.stop) for poller in pollers]
        steps += [("the functions' environments", self.invoker.close), ("the emulator", self.emulator.stop)]
        for what, stop in steps:
            try:
                stop()
            except Exception:
                log.exception("stopping %s failed; stopping the rest", what)

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
