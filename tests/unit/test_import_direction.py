"""Dependencies run one way: product < tools < CLI | build | local cloud < demo | bench.

The layers are declared once, for import-linter, in pyproject.toml ([tool.importlinter]); this test
runs that contract and also forbids import cycles inside a package (module a imports b imports a).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGES: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "root_packages"
]


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(ROOT / "scripts"), str(ROOT / "shared")])
    return {**os.environ, "PYTHONPATH": path}


def test_layers_contract_holds() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_import_cycles_between_modules() -> None:
    sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "shared")]
    try:
        graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    finally:
        del sys.path[:2]
    cycles = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                cycles.add(" -> ".join((module, *back)))
    assert not cycles, "import cycles:\n" + "\n".join(sorted(cycles))
