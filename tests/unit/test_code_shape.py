"""Functions stay short enough to read at once: none in the product or the tooling over 60 lines.

ruff checks complexity (C90, max 15) and the pylint refactor rules; length is not among its checks.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 60


def _functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        (
            f"{path.relative_to(ROOT)}:{node.lineno} {node.name}",
            (node.end_lineno or node.lineno) - node.lineno + 1,
        )
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def test_no_function_is_longer_than_60_lines() -> None:
    sources = [p for folder in ("shared", "scripts", "functions") for p in (ROOT / folder).rglob("*.py")]
    assert len(sources) > 50  # the walk found the tree
    too_long = [
        f"{name}: {lines} lines" for path in sources for name, lines in _functions(path) if lines > MAX_LINES
    ]
    assert not too_long, "\n".join(too_long)


def test_no_code_cites_an_issue_number() -> None:
    # Comments say why in the present tense; where a change came from is git's and docs/upgrading.md's.
    cited = re.compile(r"\bissue ?#?\d+", re.IGNORECASE)
    folders = ("shared", "scripts", "functions", "web", "infra", "tests")
    sources = [
        p
        for folder in folders
        for p in (ROOT / folder).rglob("*")
        if p.suffix in {".py", ".js", ".html", ".css", ".yaml", ".json"} and "__pycache__" not in p.parts
    ]
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sources
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if cited.search(line)
    ]
    assert not found, "\n".join(found)
