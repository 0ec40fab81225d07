"""`python -m intake_build [package|deploy|destroy]` (`make package`, `make deploy`, `make destroy`).

With no subcommand it packages, as `make package` always did.
"""

from __future__ import annotations

import argparse
import sys

from botocore.exceptions import BotoCoreError, ClientError

from intake_build import deploy as deploying
from intake_build import destroy as destroying
from intake_build.artifacts import (
    PLATFORMS,
    RUNTIME_PYTHON,
    BuildError,
    build,
    print_sizes,
)


def _package_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--architecture", choices=list(PLATFORMS), default="x86_64")
    parser.add_argument(
        "--python-version",
        default=RUNTIME_PYTHON,
        help=f"Python the wheels and .pyc are for (default {RUNTIME_PYTHON}, the template's runtime)",
    )
    parser.add_argument("--require-pyc", action="store_true", help="fail instead of shipping sources only")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="intake_build", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    _package_arguments(commands.add_parser("package", help="build the artifacts (the default)"))
    deploy = commands.add_parser("deploy", help="build, upload, create or update the stack")
    _package_arguments(deploy)
    destroy = commands.add_parser("destroy", help="delete the stack; keeps the data it retains (listed)")
    deploying.add_arguments(deploy, destroy)
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ("package", "deploy", "destroy", "-h", "--help"):
        argv = ["package", *argv]  # `python -m intake_build [--architecture ...]` packages
    args = parser.parse_args(argv)
    try:
        if args.command == "deploy":
            return deploying.deploy_command(args)
        if args.command == "destroy":
            return destroying.destroy_command(args)
        artifacts = build(
            dependencies=True,
            architecture=args.architecture,
            python_version=args.python_version,
            require_pyc=args.require_pyc,
        )
        print_sizes(artifacts)
    except (BuildError, deploying.DeployError, BotoCoreError, ClientError) as exc:
        # No credentials, an access denial, a bad parameter: one readable line, no traceback.
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
