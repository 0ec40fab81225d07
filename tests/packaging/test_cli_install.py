"""`pip install '.[cli]'` into a fresh venv gives a working `intake` command, and nothing of the dev tooling.

What a user does, as pip is configured on this machine (its indexes, caches and constraints): build the
wheel from a copy of the sources (so no build/ or egg-info lands in the work tree), install it with the
`cli` extra into a new venv, run `intake --help` there. The wheel holds only the product (`intake`) and
the command (`intake_cli`, `intake_tools`); the local cloud, the build, the demo and the bench run from
scripts/ in the dev environment and must not be importable from the user's venv.

Marked `install` (pip and a new venv: about half a minute with a warm pip cache);
`pytest -m "not install"` leaves it out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {"intake", "intake_tools", "intake_cli"}
DEV_TOOLING = ("localcloud", "intake_build", "demo", "bench")

pytestmark = [pytest.mark.install, pytest.mark.timeout(180)]


def _run(command: list[str | Path], cwd: Path, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    # Nothing of the dev environment leaks in: no PYTHONPATH, no active venv.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["COLUMNS"] = "200"  # rich wraps the help to the terminal width
    return subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"{done.args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the venv's bin directory, the wheel) after `pip install 'intake-….whl[cli]'` into a new venv."""
    tmp = tmp_path_factory.mktemp("cli-install")
    source = tmp / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    source.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", source)
    for tree in ("shared", "scripts"):  # all of scripts/: the wheel must leave the dev tooling out itself
        shutil.copytree(ROOT / tree, source / tree, ignore=ignore)
    venv.EnvBuilder(with_pip=True, clear=True).create(tmp / "venv")
    python = tmp / "venv" / "bin" / "python"
    pip: list[str | Path] = [python, "-m", "pip", "--disable-pip-version-check"]
    wheels = tmp / "wheels"
    _ok(_run([*pip, "wheel", "--quiet", "--no-deps", "-w", wheels, source], cwd=tmp))
    (wheel,) = wheels.glob("intake-*.whl")
    _ok(_run([*pip, "install", "--quiet", f"{wheel}[cli]"], cwd=tmp))
    return python.parent, wheel


def test_the_wheel_ships_the_product_and_the_cli_only(installed: tuple[Path, Path]) -> None:
    _, wheel = installed
    with zipfile.ZipFile(wheel) as archive:
        top = {name.split("/")[0] for name in archive.namelist()}
    packages = {name for name in top if not name.endswith(".dist-info")}
    assert packages <= SHIPPED, f"the wheel ships {sorted(packages - SHIPPED)}"
    assert {"intake", "intake_cli"} <= packages


def test_intake_help_lists_the_commands(installed: tuple[Path, Path]) -> None:
    bin_dir, _ = installed
    out = _ok(_run([bin_dir / "intake", "--help"], cwd=bin_dir.parent))
    for command in ("login", "upload", "ls", "show", "ops"):
        assert f" {command} " in out, f"`intake --help` does not list {command}:\n{out}"
    ops = _ok(_run([bin_dir / "intake", "ops", "--help"], cwd=bin_dir.parent))
    assert "Commands" in ops


def test_the_dev_tooling_is_not_importable(installed: tuple[Path, Path]) -> None:
    bin_dir, _ = installed
    python = bin_dir / "python"
    # The shipped packages import from the venv's site-packages, not from the work tree.
    probe = "import intake, intake_cli.app; print(intake.__file__); print(intake_cli.app.__file__)"
    for path in _ok(_run([python, "-I", "-c", probe], cwd=bin_dir.parent)).split():
        assert Path(path).is_relative_to(bin_dir.parent), path
    for name in DEV_TOOLING:
        done = _run([python, "-I", "-c", f"import {name}"], cwd=bin_dir.parent)
        assert done.returncode != 0 and "ModuleNotFoundError" in done.stderr, f"{name} is importable"
