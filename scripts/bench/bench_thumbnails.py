"""Benchmark 1: the thumbnail engine against a naive Pillow baseline and pyvips, on one core.

The job: three JPEG thumbnails (1024/512/128 longest side, quality 85) from one image: JPEG, PNG with
alpha, HEIC (pillow-heif's x265 writes it) and AVIF with alpha (Pillow's libavif), all generated here.
pyvips-binary reads AVIF but has no HEVC decoder (libheif without libde265), so the HEIC row has no
pyvips figures; an engine that cannot read an input is left out of its row and said so. Each engine runs
in its own worker process, so its peak RSS (ru_maxrss) is its own; all workers are pinned to the same
core, VIPS_CONCURRENCY=1, and pyvips' operation cache is off (it would otherwise answer a repeated job
from memory). The parent runs the engines in interleaved rounds, one job at a time, rotating the order,
and reports medians, so a noisy machine slows every engine alike and the ratios hold. Throughput is
1 / the median CPU time of a job in the worker (what one core can do: another process on the same core
stretches the wall time but not the CPU time); wall times are reported beside it.
"""

from __future__ import annotations

import io
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageOps, ImageStat

from bench.common import OUT, median, subprocess_env

SIZES = (1024, 512, 128)
QUALITY = 85
MAX_PIXELS = 40_000_000
ENGINES = ("intake", "naive", "pyvips")


@dataclass(frozen=True)
class Input:
    name: str
    fmt: str  # JPEG | PNG | HEIF | AVIF
    megapixels: float
    alpha: bool = False


INPUTS = (
    Input("jpeg-12mp", "JPEG", 12),
    Input("jpeg-24mp", "JPEG", 24),
    Input("png-rgba-12mp", "PNG", 12, alpha=True),
    Input("heic-12mp", "HEIF", 12),
    Input("avif-rgba-12mp", "AVIF", 12, alpha=True),
)
SUFFIXES = {"JPEG": "jpg", "PNG": "png", "HEIF": "heic", "AVIF": "avif"}


# --- inputs ---------------------------------------------------------------------------------------


def _photo(width: int, height: int, alpha: bool) -> Image.Image:
    """Smooth gradients plus sensor-like noise: compresses like a photo (neither flat nor random)."""
    noise = Image.effect_noise((width, height), 6 if alpha else 24)
    horizontal = Image.linear_gradient("L").rotate(90).resize((width, height))
    vertical = Image.linear_gradient("L").resize((width, height))
    radial = Image.radial_gradient("L").resize((width, height))
    channels = [
        ImageChops.add(horizontal, noise, scale=2.0, offset=-32),
        ImageChops.add(radial, noise, scale=2.0, offset=-32),
        ImageChops.add(vertical, noise, scale=2.0, offset=-32),
    ]
    if alpha:  # a logo-like shape on transparency
        channels.append(ImageOps.invert(radial).point(lambda v: 255 if v > 96 else v * 2))
        return Image.merge("RGBA", channels)
    return Image.merge("RGB", channels)


def register_heif() -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()


def make_input(spec: Input, directory: Path, scale: float = 1.0) -> Path:
    """Generate (once) the input image; 4:3 like most cameras."""
    pixels = spec.megapixels * 1_000_000 * scale
    height = max(16, round((pixels * 3 / 4) ** 0.5))
    width = max(16, round(height * 4 / 3))
    path = directory / f"{spec.name}-{width}x{height}.{SUFFIXES[spec.fmt]}"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        image = _photo(width, height, spec.alpha)
        buffer = io.BytesIO()
        if spec.fmt == "JPEG":
            image.save(buffer, "JPEG", quality=90)
        elif spec.fmt == "PNG":
            image.save(buffer, "PNG", compress_level=6)
        elif spec.fmt == "HEIF":
            register_heif()
            image.save(buffer, "HEIF", quality=80)  # about what a phone writes
        else:
            image.save(buffer, "AVIF", quality=75, speed=8)  # speed: the encoder's, not the decoder's
        path.write_bytes(buffer.getvalue())
    return path


# --- engines (run in the worker) ------------------------------------------------------------------


def naive_engine(data: bytes) -> list[bytes]:
    """What one writes first: decode everything, then resize each size from the full image."""
    from intake.thumbnails import fit  # the same target sizes as the engine (PIL only)

    register_heif()  # once; Pillow reads AVIF itself
    out = []
    with Image.open(io.BytesIO(data)) as opened:
        image = ImageOps.exif_transpose(opened)
        if image.mode in ("RGBA", "LA", "P"):
            rgba = image.convert("RGBA")
            image = Image.new("RGB", rgba.size, (255, 255, 255))
            image.paste(rgba, mask=rgba)
        else:
            image = image.convert("RGB")
        for size in SIZES:
            buffer = io.BytesIO()
            image.resize(fit(image.size, size), Image.Resampling.LANCZOS).save(
                buffer, "JPEG", quality=QUALITY
            )
            out.append(buffer.getvalue())
    return out


def intake_engine(data: bytes) -> list[bytes]:
    from intake.thumbnails import make_thumbnails

    return [t.data for t in make_thumbnails(data, MAX_PIXELS, SIZES, QUALITY)]


def pyvips_engine(data: bytes) -> list[bytes]:
    """pyvips' thumbnail (shrink-on-load) once at 1024, then the smaller sizes from that."""
    import pyvips

    thumb = pyvips.Image.thumbnail_buffer(data, SIZES[0], height=SIZES[0], size="down")
    if thumb.hasalpha():
        thumb = thumb.flatten(background=[255, 255, 255])
    # Render the 1024 once into memory: the pipeline is lazy and reads its source sequentially, so
    # saving it and then deriving from it would decode the original twice (or fail).
    current = thumb.copy_memory()
    out = [current.jpegsave_buffer(Q=QUALITY)]
    for size in SIZES[1:]:
        current = current.thumbnail_image(size, height=size, size="down")
        out.append(current.jpegsave_buffer(Q=QUALITY))
    return out


def _engine(name: str) -> Callable[[bytes], list[bytes]]:
    if name == "pyvips":
        import pyvips

        pyvips.cache_set_max(0)  # no answering a repeated job from the operation cache
    return {"intake": intake_engine, "naive": naive_engine, "pyvips": pyvips_engine}[name]


def thumb_path(image: Path, engine: str) -> Path:
    return image.with_name(f"{image.stem}.{engine}.1024.jpg")


def psnr(path: Path, reference: Path) -> float:
    """PSNR (dB) of a thumbnail against the reference engine's: > 40 dB is visually identical."""
    with Image.open(path) as a, Image.open(reference) as b:
        if a.size != b.size:
            return float("nan")
        rms = ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).rms
    mse = sum(v * v for v in rms) / len(rms)
    return 99.0 if mse == 0 else 10 * math.log10(255**2 / mse)


def _maxrss_mb() -> float:
    """Peak RSS of this process. VmHWM, not ru_maxrss: a child of a big parent inherits its ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def worker(engine_name: str, image: Path) -> None:
    """Serve "run" lines on stdin with one job each; "quit" reports the peak RSS."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    engine = _engine(engine_name)
    data = image.read_bytes()
    baseline = _maxrss_mb()
    # Warm-up (lazy imports and plugin registration are not part of a job); its 1024 is kept for PSNR.
    thumb_path(image, engine_name).write_bytes(engine(data)[0])
    print(json.dumps({"ready": True, "baseline_mb": baseline}), flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        started, cpu = time.perf_counter(), time.process_time()
        thumbs = engine(data)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        print(json.dumps({"s": seconds, "cpu_s": cpu_seconds, "bytes": [len(t) for t in thumbs]}), flush=True)
    print(json.dumps({"peak_mb": _maxrss_mb()}), flush=True)


# --- the parent -----------------------------------------------------------------------------------


class Worker:
    def __init__(self, engine: str, image: Path) -> None:
        self.engine = engine
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.bench_thumbnails", "--worker", engine, str(image)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=subprocess_env(VIPS_CONCURRENCY="1", OMP_NUM_THREADS="1"),
        )
        self.baseline_mb = float(self._read()["baseline_mb"])

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.engine} worker died (exit {self.process.wait()})")
        return dict(json.loads(line))

    def run(self) -> tuple[float, float]:
        """One job: (wall seconds, CPU seconds of the worker process)."""
        assert self.process.stdin
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        reply = self._read()
        return float(reply["s"]), float(reply["cpu_s"])

    def quit(self) -> float:
        assert self.process.stdin
        try:
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
            return float(self._read()["peak_mb"])
        except (OSError, RuntimeError):
            return float("nan")
        finally:
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def available_engines() -> list[str]:
    try:
        import pyvips  # noqa: F401
    except (ImportError, OSError):
        return ["intake", "naive"]  # pyvips is a dev/bench extra
    return list(ENGINES)


def reads(engine: str, image: Path) -> bool:
    """Whether `engine` can decode `image` (pyvips-binary has no HEVC decoder)."""
    if engine != "pyvips":
        return True
    import pyvips

    try:
        pyvips.Image.thumbnail(str(image), 8).avg()
    except pyvips.Error:
        return False
    return True


def run(rounds: int = 7, scale: float = 1.0, inputs_dir: Path | None = None) -> dict[str, Any]:
    """Every engine on every input, `rounds` interleaved jobs each. `scale` shrinks the inputs (tests)."""
    inputs_dir = inputs_dir or OUT / "inputs"
    engines = available_engines()
    results: dict[str, Any] = {"rounds": rounds, "engines": engines, "inputs": {}}
    register_heif()
    for spec in INPUTS:
        path = make_input(spec, inputs_dir, scale)
        with Image.open(path) as probe:
            width, height = probe.size
        cannot = [engine for engine in engines if not reads(engine, path)]
        workers: list[Worker] = []
        try:
            workers += [Worker(engine, path) for engine in engines if engine not in cannot]
            times: dict[str, list[float]] = {w.engine: [] for w in workers}
            cpu: dict[str, list[float]] = {w.engine: [] for w in workers}
            for r in range(rounds):
                shift = r % len(workers)  # rotate who goes first
                for w in workers[shift:] + workers[:shift]:
                    wall, used = w.run()
                    times[w.engine].append(wall)
                    cpu[w.engine].append(used)
        finally:
            peaks = {w.engine: w.quit() for w in workers}
        per_engine = {}
        for w in workers:
            seconds, cpu_seconds = median(times[w.engine]), median(cpu[w.engine])
            per_engine[w.engine] = {
                # CPU time of the worker: what one core can do, whatever else runs on the machine.
                "cpu_s": cpu_seconds,
                "images_per_s": 1 / max(cpu_seconds, 1e-9),
                "median_s": seconds,
                "wall_images_per_s": 1 / max(seconds, 1e-9),
                "peak_rss_mb": peaks[w.engine],
                "baseline_rss_mb": w.baseline_mb,
                "samples_s": times[w.engine],
                # Against the naive engine: full decode, LANCZOS from the full image.
                "psnr_db": psnr(thumb_path(path, w.engine), thumb_path(path, "naive")),
            }
        results["inputs"][spec.name] = {
            "file": path.name,
            "bytes": path.stat().st_size,
            "pixels": f"{width}x{height}",
            "engines": per_engine,
            "cannot_read": cannot,
        }
    results["checks"] = checks(results)
    return results


def ratio(results: dict[str, Any], image: str, key: str, a: str = "intake", b: str = "pyvips") -> float:
    engines = results["inputs"][image]["engines"]
    if a not in engines or b not in engines:
        return float("nan")
    return float(engines[a][key]) / float(engines[b][key])


def checks(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets: >= 1.0x pyvips on the 12 MP JPEG at <= 0.6x its peak RSS; >= 0.8x on the PNG; on
    HEIC and AVIF >= 0.8x at <= 1.0x its peak RSS, where pyvips can read the input at all."""
    wanted = [
        ("jpeg-12mp", "images_per_s", ">=", 1.0),
        ("jpeg-12mp", "peak_rss_mb", "<=", 0.6),
        ("png-rgba-12mp", "images_per_s", ">=", 0.8),
    ]
    for image in ("heic-12mp", "avif-rgba-12mp"):
        if "pyvips" in results["inputs"].get(image, {}).get("engines", {}):
            wanted += [(image, "images_per_s", ">=", 0.8), (image, "peak_rss_mb", "<=", 1.0)]
    out = []
    for image, key, op, target in wanted:
        value = ratio(results, image, key)
        met = value >= target if op == ">=" else value <= target
        out.append(
            {
                "input": image,
                "measure": f"intake/pyvips {key}",
                "value": value,
                "target": f"{op} {target}",
                "met": met,
            }
        )
    return out


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(sys.argv[2], Path(sys.argv[3]))
        return
    print(json.dumps(run(), indent=2))


if __name__ == "__main__":
    main()
