"""The benchmark code runs end to end on tiny inputs and reports what it claims (never timings).

The end-to-end benchmark needs a whole local cloud; here its statistics and reporting run on a
synthetic batch, and `make bench` runs the real thing.
"""

from __future__ import annotations

import io
import math
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))  # `bench` is not installed

from bench import __main__ as bench_main
from bench import bench_coldstart, bench_e2e, bench_thumbnails, cpu
from bench.common import bar_chart, percentile
from intake.settings import ApiSettings, IndexSettings, NotifySettings, ThumbnailSettings, ValidateSettings


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 95) == 95 and percentile(values, 100) == 100
    assert percentile([3.0], 95) == 3.0 and math.isnan(percentile([], 50))


def test_engines_make_the_same_three_thumbnails() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (300, 200), (10, 200, 30, 128)).save(buffer, "PNG")
    for engine in bench_thumbnails.available_engines():
        thumbs = bench_thumbnails._engine(engine)(buffer.getvalue())
        sizes = [Image.open(io.BytesIO(t)).size for t in thumbs]
        assert sizes == [(300, 200), (300, 200), (128, 85)], engine  # never upscaled
        assert all(Image.open(io.BytesIO(t)).format == "JPEG" for t in thumbs)


def test_thumbnail_benchmark_on_tiny_inputs(tmp_path: Path) -> None:
    results = bench_thumbnails.run(rounds=1, scale=0.002, inputs_dir=tmp_path)
    assert set(results["inputs"]) == {i.name for i in bench_thumbnails.INPUTS}
    for data in results["inputs"].values():
        assert set(data["engines"]) | set(data["cannot_read"]) == set(bench_thumbnails.available_engines())
        for engine in data["engines"].values():
            assert engine["images_per_s"] > 0 and engine["peak_rss_mb"] >= engine["baseline_rss_mb"] > 0
            assert len(engine["samples_s"]) == 1
        assert data["engines"]["naive"]["psnr_db"] == 99.0  # the reference against itself
    # HEIC/AVIF are compared with pyvips where it can read them: AVIF yes, HEIC no (no HEVC decoder).
    assert [c["input"] for c in results["checks"]][:3] == ["jpeg-12mp", "jpeg-12mp", "png-rgba-12mp"]
    if "pyvips" in bench_thumbnails.available_engines():
        assert results["inputs"]["heic-12mp"]["cannot_read"] == ["pyvips"]
        assert [c["input"] for c in results["checks"]][3:] == ["avif-rgba-12mp"] * 2
    bench_main.thumbnails(results, tmp_path)
    assert Image.open(tmp_path / "thumbnails.png").size == (900, 420)


def test_cold_start_benchmark_on_one_function(tmp_path: Path) -> None:
    results = bench_coldstart.run(rounds=1, names=["index"], layout=bench_coldstart.venv_layout())
    index = results["functions"]["index"]
    assert index["in_process_import_ms"] > 0 and index["first_aws_call_ms"] > 0
    assert len(index["heaviest_imports_ms"]) == 3 and "boto3" not in dict(index["heaviest_imports_ms"])
    assert index["peak_rss_mb"] >= index["imported_rss_mb"] > 0  # one upload went through it
    assert index["target_ms"] == 150
    bench_main.coldstart(results, tmp_path)
    assert (tmp_path / "coldstart.png").is_file()


def test_heaviest_imports_count_the_standard_library_for_its_importer() -> None:
    stderr = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:      3000 |       3000 |       asyncio.events",
            "import time:      1000 |       4000 |     asyncio",
            "import time:      2000 |       6000 |   aws_lambda_powertools.batch",
            "import time:       500 |       6500 | handler",
            "import time:       700 |        700 | json",
        ]
    )
    assert bench_coldstart.by_package(stderr) == {
        "aws_lambda_powertools": 6.0,
        "handler": 0.5,
        "stdlib": 0.7,
    }


def test_every_function_has_the_environment_its_import_needs() -> None:
    env = bench_coldstart.function_env("http://127.0.0.1:1")
    assert {"INDEX_TABLE", "IDEMPOTENCY_TABLE", "AWS_ENDPOINT_URL"} <= set(env)
    # Each function's settings model is validated at import: the bench must satisfy every one of them.
    for model in (ValidateSettings, ThumbnailSettings, IndexSettings, NotifySettings, ApiSettings):
        model.from_env(env)
    assert bench_coldstart.functions()[:4] == ["validate", "thumbnail", "index", "notify"]


def test_e2e_reporting_on_a_synthetic_batch(tmp_path: Path) -> None:
    before = {
        "thumbnail": {
            "invocations": 1,
            "cold_starts": 1,
            "errors": 0,
            "messages_deleted": 3,
            "durations_ms": [900.0],
        }
    }
    after = {
        "thumbnail": {
            "invocations": 3,
            "cold_starts": 1,
            "errors": 0,
            "messages_deleted": 13,
            "durations_ms": [900.0, 100.0, 300.0],
            "environments": 2,
        }
    }
    diff = bench_e2e._diff_stats(before, after)["thumbnail"]
    assert (diff["invocations"], diff["cold_starts"], diff["messages"]) == (2, 0, 10)
    assert diff["handler_ms_p50"] == 200.0 and diff["busy_s"] == pytest.approx(0.4)
    batch: dict[str, Any] = {
        "n": 2,
        "concurrency": 2,
        "upload_s_total": 0.1,
        "api_ms_p50": 5.0,
        "s3_post_ms_p50": 5.0,
        "ready_s": {"p50": 1.0, "p95": 2.0, "max": 2.0},
        "email_s": {"p50": 1.5, "p95": 2.5, "max": 2.5},
        "stage_done_s_p50": {"thumbnail": 0.9},
        "stage_done_s_p95": {"thumbnail": 1.9},
        "uploads_per_s": 1.0,
        "final": 2,
        "statuses": {"ready": 2},
        "emails": 2,
        "uploads_with_exactly_one_email": 2,
        "uploads_with_several_emails": 0,
        "other_emails": 0,
        "functions": {"thumbnail": diff},
        "emulator_call_ms": {"p50": 2.0, "p95": 9.0, "max": 12.0},
        "cpu": cpu.physical_limit(cpu.CpuTimes(0.3, 0.1), 2, 1.0),
        "requests_per_upload": 3.0,
        "requests_by_call": [("dynamodb UpdateItem (role)", 2.0), ("s3 PUT object (role)", 1.0)],
    }
    assert batch["cpu"]["cpu_per_upload_ms"] == pytest.approx(200.0)
    assert batch["cpu"]["limit_s"] == pytest.approx(0.4 / cpu.cores())
    checks = bench_e2e.target_checks([batch])
    assert [c["met"] for c in checks] == [False, False, False]  # no 50- or 200-upload batch ran
    bench_main.e2e({"local_cloud_startup_s": 1.0, "thumbnail_engine_ms": 10.0, "batches": [batch]}, tmp_path)
    assert (tmp_path / "e2e.png").is_file()


def test_sample_images_are_distinct_jpegs() -> None:
    samples = bench_e2e.sample_jpegs(3, size=(64, 48))
    assert len(set(samples)) == 3 and all(s[:2] == b"\xff\xd8" for s in samples)


def test_bar_chart_handles_missing_bars(tmp_path: Path) -> None:
    path = bar_chart(tmp_path / "c.png", "t", {"a": {"x": 1.0}, "b": {"x": math.nan, "y": 2.0}}, "u")
    assert Image.open(path).mode == "RGB"


def test_process_cpu_grows_with_work() -> None:
    before = cpu.snapshot()
    sum(i * i for i in range(200_000))
    used = cpu.snapshot() - before
    assert used.local_cloud_s >= 0 and used.functions_s >= 0 and cpu.cores() >= 1


def test_client_retries_are_shown_by_what_and_why() -> None:
    from bench.__main__ import _retries

    assert _retries({}) == "0"
    shown = _retries({"POST /uploads: HTTP 429": 3, "presigned POST: ConnectionError": 1})
    assert shown == "4 (POST /uploads: HTTP 429 x3, presigned POST: ConnectionError x1)"
