"""`python -m demo up|run` (`make up`, `make demo`)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

from demo.parameters import add_arguments as add_parameter_arguments
from demo.parameters import local_parameters
from intake_build.artifacts import build
from intake_build.deploy import DeployError
from localcloud.server import PortInUse

# What stops `make up`: Ctrl-C, and SIGTERM (what `kill`, a test harness or a supervisor sends).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stop(BaseException):
    """Raised in the main thread by the handler of a stop signal. A BaseException, as KeyboardInterrupt
    is, so that no `except Exception` on the way swallows it."""


def _stop(signum: int, frame: FrameType | None) -> None:
    # The handler raises rather than sets an Event the main thread waits on: Event.set() in a handler
    # can deadlock on the lock that the interrupted wait() holds. Later signals are ignored, so that
    # nothing interrupts the cloud while it stops (every stop step is bounded).
    _ignore_stop_signals()
    raise Stop(signal.Signals(signum).name)


def _ignore_stop_signals() -> None:
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def up(parameters: dict[str, str] | None = None) -> int:
    from localcloud.api import API_PORT
    from localcloud.cdn import CDN_PORT
    from localcloud.cloud import LocalCloud
    from localcloud.users import DEMO_EMAIL, DEMO_PASSWORD

    for signum in STOP_SIGNALS:  # set, not inherited: a shell may start a background job with SIGINT ignored
        signal.signal(signum, _stop)
    cloud: LocalCloud | None = None
    try:
        cloud = LocalCloud(build(), api_port=API_PORT, cdn_port=CDN_PORT, parameters=parameters)
        cloud.start()
        print(f"Intake local cloud is up (stack '{cloud.deployment.stack_name if cloud.deployment else ''}')")
        print(f"  AWS endpoint   {cloud.endpoint}   (export AWS_ENDPOINT_URL={cloud.endpoint})")
        print(f"  API            {cloud.api_url}   (/ redirects to the page)")
        print(f"  web page       {cloud.cdn_url}   (CloudFront: the page, signed thumbnails/ and uploads/)")
        print(f"  demo user      {DEMO_EMAIL}   password {DEMO_PASSWORD}")
        for key, value in sorted(cloud.outputs.items()):
            print(f"  {key:22} {value}")
        print(f"  permission denials   {cloud.endpoint}/_localcloud/denials (IAM enforced: {_enforcing()})")
        print("Ctrl-C stops it.", flush=True)
        while True:
            signal.pause()
    except Stop as stop:
        print(f"{stop}: stopping the local cloud", flush=True)
    finally:
        _ignore_stop_signals()
        if cloud is not None:
            cloud.stop()  # idempotent: a start that was interrupted has stopped what it started
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
