"""The locks in requirements/ agree with pyproject.toml and with each other (`make lock` writes them)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from intake_build.artifacts import LAYER_LOCKS, PLATFORMS

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def pins(lock: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            found[canonicalize_name(match[1])] = match[2]
    return found


def requirements(lines: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(r.name): r for r in map(Requirement, lines)}


def test_the_layer_ships_the_products_dependencies() -> None:
    layer_in = [
        line.strip()
        for line in (REQUIREMENTS / "layer.in").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    # boto3 too, although the runtime has one: the layer's botocore data is pruned (intake_build.artifacts).
    product = requirements(PROJECT["dependencies"])
    assert {n: str(r) for n, r in requirements(layer_in).items()} == {n: str(r) for n, r in product.items()}


@pytest.mark.parametrize("architecture", list(PLATFORMS))
def test_each_layer_lock_pins_and_hashes_what_the_layer_needs(architecture: str) -> None:
    lock = LAYER_LOCKS[architecture]
    locked = pins(lock)
    text = lock.read_text()
    assert text.count("==") == len(locked) and text.count("--hash=sha256:") >= len(locked)
    for name, requirement in requirements(PROJECT["dependencies"]).items():
        assert name in locked and requirement.specifier.contains(locked[name]), (name, locked.get(name))
    assert "botocore" in locked and "numpy" not in locked


def test_the_dev_lock_runs_what_the_layer_ships() -> None:
    # The local cloud runs the functions in the dev venv: same versions as the layer's.
    dev = pins(REQUIREMENTS / "dev.txt")
    for name, version in pins(LAYER_LOCKS["x86_64"]).items():
        assert dev.get(name) == version, (name, dev.get(name), version)


def test_the_dev_lock_covers_every_extra() -> None:
    dev = pins(REQUIREMENTS / "dev.txt")
    declared = [
        *PROJECT["dependencies"],
        *(r for extra in PROJECT["optional-dependencies"].values() for r in extra),
    ]
    for name, requirement in requirements(declared).items():
        if name == canonicalize_name(PROJECT["name"]):
            continue  # dev includes intake[cli]: the project itself is installed with --no-deps
        assert name in dev and requirement.specifier.contains(dev[name]), (name, dev.get(name))


def test_the_scanner_lock_pins_checkov_apart_from_the_dev_lock() -> None:
    """checkov runs from its own venv (requirements/scan.in): it pins boto3, the dev lock must not follow."""
    scan = REQUIREMENTS / "scan.txt"
    locked = pins(scan)
    text = scan.read_text()
    assert "checkov" in locked and text.count("--hash=sha256:") >= len(locked)
    assert "checkov" not in pins(REQUIREMENTS / "dev.txt")
    assert "cfn-lint-serverless" in pins(REQUIREMENTS / "dev.txt")  # a cfn-lint plugin: same venv
