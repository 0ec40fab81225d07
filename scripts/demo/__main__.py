"""`python -m demo up|run` (`make up`, `make demo`)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading

from demo.parameters import add_arguments as add_parameter_arguments
from demo.parameters import local_parameters
from intake_build.artifacts import build
from intake_build.deploy import DeployError
from localcloud.server import PortInUse


def up(parameters: dict[str, str] | None = None) -> int:
    from localcloud.api import API_PORT
    from localcloud.cdn import CDN_PORT
    from localcloud.cloud import LocalCloud
    from localcloud.users import DEMO_EMAIL, DEMO_PASSWORD

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    cloud = LocalCloud(build(), api_port=API_PORT, cdn_port=CDN_PORT, parameters=parameters).start()
    try:
        print(f"Intake local cloud is up (stack '{cloud.deployment.stack_name if cloud.deployment else ''}')")
        print(f"  AWS endpoint   {cloud.endpoint}   (export AWS_ENDPOINT_URL={cloud.endpoint})")
        print(f"  API            {cloud.api_url}   (/ redirects to the page)")
        print(f"  web page       {cloud.cdn_url}   (CloudFront: the page, signed thumbnails/ and uploads/)")
        print(f"  demo user      {DEMO_EMAIL}   password {DEMO_PASSWORD}")
        for key, value in sorted(cloud.outputs.items()):
            print(f"  {key:22} {value}")
        print(f"  permission denials   {cloud.endpoint}/_localcloud/denials (IAM enforced: {_enforcing()})")
        print("Ctrl-C stops it.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    finally:
        cloud.stop()
        _print_denials()
    return 0


def _enforcing() -> str:
    from localcloud.authz.middleware import enforcing_from_env

    return "yes" if enforcing_from_env() else "no (LOCALCLOUD_ENFORCE_IAM=0)"


def _print_denials() -> None:
    from localcloud.authz.denials import DENIALS

    snapshot = DENIALS.snapshot()
    print(f"IAM denials while up: {snapshot['count']}")
    for denial in snapshot["recent"][-10:]:
        print(
            f"  {denial['principal']} -> {denial['action']} on {denial['resource']} ({denial['statement'] or denial['reason']})"
        )


def parse_arguments(argv: list[str] | None = None) -> tuple[argparse.Namespace, dict[str, str]]:
    """The command line, and the template parameters it gives (exit 2 on a bad one)."""
    parser = argparse.ArgumentParser(
        prog="demo", description="Intake's local cloud (moto + what moto lacks): up, or a demo run"
    )
    parser.add_argument("command", choices=["up", "run"])
    parser.add_argument("-v", "--verbose", action="store_true", help="show function logs")
    add_parameter_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return args, local_parameters(args.param, args.params_file)
    except DeployError as exc:
        parser.error(str(exc))  # exits 2, as for any other bad argument


def main(argv: list[str] | None = None) -> int:
    args, parameters = parse_arguments(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose or args.command == "up" else logging.WARNING,
        format="%(asctime)s %(name)s %(message)s",
    )
    try:
        if args.command == "up":
            return up(parameters)
        from demo.walkthrough import main as walkthrough

        return walkthrough(parameters)
    except PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
