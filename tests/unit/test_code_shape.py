"""Functions stay short enough to read at once: none in the product or the tooling over 60 lines.

ruff checks complexity (C90, max 15) and the pylint refactor rules; length is not among its checks.
"""

from __future__ import annotations

import ast
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
