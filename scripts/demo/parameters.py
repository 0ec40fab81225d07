"""`make up ARGS="--param Key=Value ..."` / `make demo ARGS=...`: the stack's parameters for the local
cloud, with the meaning `make deploy` gives them (intake_build.deploy parses and checks them).

They go on top of the local cloud's defaults (localcloud.deploy.LOCAL_PARAMETERS). The parameters the
local cloud wires itself (its ports, the artifacts it uploaded, the signing key it made:
localcloud.cloud.WIRED_PARAMETERS) are refused, not overridden: a page origin or CloudFront URL other
than the local ones would break the local cloud in ways far from their cause.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from intake_build.deploy import (
    TEMPLATE,
    DeployError,
    check_declared,
    check_values,
    parse_parameters,
    template_parameters,
)
from localcloud.cloud import WIRED_PARAMETERS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a template parameter, as for make deploy (repeatable), on top of the local defaults",
    )
    parser.add_argument(
        "--params-file", action="append", default=[], type=Path, help="JSON parameters (repeatable)"
    )


def local_parameters(pairs: Sequence[str], files: Sequence[Path] = ()) -> dict[str, str]:
    """The parameters given, checked against the template; DeployError names what is wrong."""
    wanted = parse_parameters(pairs, files)
    text = TEMPLATE.read_text()
    check_declared(wanted, template_parameters(text))
    wired = sorted(set(wanted) & set(WIRED_PARAMETERS))
    if wired:
        raise DeployError(
            f"{', '.join(wired)}: the local cloud sets {'these' if len(wired) > 1 else 'this'} itself"
            " (its ports, the artifacts it uploads, the signing key it makes)"
        )
    check_values(wanted, text)
    return wanted
