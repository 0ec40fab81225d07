"""What every benchmark shares: statistics, output folder, tables and bar charts (drawn with Pillow)."""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

from PIL import Image, ImageDraw
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out"  # git-ignored
SCRIPTS = ROOT / "scripts"

console = Console(highlight=False, width=None if os.isatty(1) else 140)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): an observed value, never an interpolation."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a benchmark subprocess: `bench` importable (it is not an installed package)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SCRIPTS), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    table = Table(title=title)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    console.print(table)


_PALETTE = [(52, 101, 164), (245, 121, 0), (78, 154, 6), (117, 80, 123), (204, 0, 0), (193, 125, 17)]


def bar_chart(
    path: Path,
    title: str,
    groups: Mapping[str, Mapping[str, float]],
    unit: str,
    size: tuple[int, int] = (900, 420),
) -> Path:
    """Grouped bars: one group per key of `groups`, one bar per series (same series in every group)."""
    series = list(dict.fromkeys(s for bars in groups.values() for s in bars))
    values = [v for bars in groups.values() for v in bars.values() if not math.isnan(v)]
    top = max(values, default=1.0) or 1.0
    width, height = size
    left, right, top_pad, bottom = 70, 20, 50, 60
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.text((left, 12), f"{title} ({unit})", fill="black")
    plot_h = height - top_pad - bottom
    draw.line((left, top_pad, left, height - bottom, width - right, height - bottom), fill="black")
    for tick in range(5):
        value = top * tick / 4
        y = height - bottom - plot_h * tick / 4
        draw.line((left - 4, y, left, y), fill="black")
        draw.text((4, y - 6), f"{value:.3g}", fill="black")
    group_w = (width - left - right) / max(1, len(groups))
    bar_w = group_w * 0.8 / max(1, len(series))
    for g, (name, bars) in enumerate(groups.items()):
        x0 = left + g * group_w + group_w * 0.1
        for s, label in enumerate(series):
            value = bars.get(label, math.nan)
            if math.isnan(value):
                continue
            bar_h = plot_h * value / top
            x = x0 + s * bar_w
            draw.rectangle(
                (x, height - bottom - bar_h, x + bar_w - 2, height - bottom), fill=_PALETTE[s % len(_PALETTE)]
            )
            draw.text((x, height - bottom - bar_h - 12), f"{value:.3g}", fill="black")
        draw.text((x0, height - bottom + 8), name, fill="black")
    for s, label in enumerate(series):  # legend
        x = width - right - 160
        y = top_pad + s * 16
        draw.rectangle((x, y, x + 10, y + 10), fill=_PALETTE[s % len(_PALETTE)])
        draw.text((x + 16, y - 1), label, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path
