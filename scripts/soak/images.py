"""What the soak uploads: a few distinct photo-like JPEGs, and a truncated one that must be rejected."""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image, ImageDraw

GOOD = 4


def _photo(rng: random.Random, size: tuple[int, int]) -> bytes:
    image = Image.effect_noise(size, 20).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(8):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x, y, x + size[0] // 4, y + size[1] // 4), fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def write_samples(folder: Path, size: tuple[int, int] = (800, 600)) -> tuple[list[Path], Path]:
    """GOOD distinct JPEGs and one truncated JPEG (a third of one) in `folder`: (good, bad)."""
    rng = random.Random(11)
    folder.mkdir(parents=True, exist_ok=True)
    good = []
    for i in range(GOOD):
        path = folder / f"soak-{i}.jpg"
        path.write_bytes(_photo(rng, size))
        good.append(path)
    bad = folder / "soak-truncated.jpg"
    whole = good[0].read_bytes()
    bad.write_bytes(whole[: len(whole) // 3])
    return good, bad
