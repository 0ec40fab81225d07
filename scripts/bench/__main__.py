"""`make bench`: run the benchmarks, print their tables, save bench/out/results.json and PNG charts.

`python -m bench [--quick] [--only thumbnails,coldstart,e2e] [--out DIR]` (PYTHONPATH=scripts).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import bench_coldstart, bench_e2e, bench_thumbnails, index_requests
from bench.common import OUT, bar_chart, console, print_table

ALL = ("thumbnails", "coldstart", "e2e")


def _f(value: float, digits: int = 2) -> str:
    return (
        "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"
    )


def thumbnails(results: dict[str, Any], out: Path) -> None:
    rows = []
    for image, data in results["inputs"].items():
        engines = data["engines"]
        vips = engines.get("pyvips")
        for engine, e in engines.items():
            rows.append(
                [
                    f"{image} ({data['pixels']}, {data['bytes'] / 2**20:.1f} MiB)"
                    if engine == "intake"
                    else "",
                    engine,
                    _f(e["images_per_s"]),
                    _f(e["cpu_s"] * 1000, 1),
                    _f(e["median_s"] * 1000, 1),
                    _f(e["peak_rss_mb"], 0),
                    _f(e["peak_rss_mb"] - e["baseline_rss_mb"], 0),
                    _f(e["psnr_db"], 1),
                    _f(e["images_per_s"] / vips["images_per_s"]) if vips else "n/a",
                    _f(e["peak_rss_mb"] / vips["peak_rss_mb"]) if vips else "n/a",
                ]
            )
        # An engine that cannot decode the input at all (pyvips-binary has no HEVC decoder).
        rows += [["", engine, "cannot read it", *[""] * 7] for engine in data.get("cannot_read", [])]
    print_table(
        f"Thumbnails 1024/512/128 q85, one core, median of {results['rounds']} interleaved rounds"
        " (PSNR of the 1024 against the naive full-resolution LANCZOS)",
        [
            "input",
            "engine",
            "images/s (CPU)",
            "CPU ms",
            "wall ms",
            "peak RSS MB",
            "job MB",
            "PSNR dB",
            "speed vs pyvips",
            "RSS vs pyvips",
        ],
        rows,
    )
    print_table(
        "Thumbnail targets",
        ["input", "measure", "value", "target", "met"],
        [
            [c["input"], c["measure"], _f(c["value"]), c["target"], "yes" if c["met"] else "NO"]
            for c in results["checks"]
        ],
    )
    groups = {
        image: {engine: e["images_per_s"] for engine, e in data["engines"].items()}
        for image, data in results["inputs"].items()
    }
    bar_chart(out / "thumbnails.png", "Thumbnail throughput, one core", groups, "images/s")


def coldstart(results: dict[str, Any], out: Path) -> None:
    targets = results.get("targets_ms", {})
    rows = [
        [
            name,
            _f(f["import_ms"], 0),
            _f(f["import_wall_ms"], 0),
            f"<= {_f(f['target_ms'], 0)}: {'yes' if f['target_met'] else 'NO'}",
            f"{_f(f['first_aws_call_cpu_ms'], 0)} ({_f(f['first_aws_call_ms'], 0)} wall)",
            "yes" if f.get("first_call_target_met") else "NO",
            f"{_f(f.get('peak_rss_mb', math.nan), 0)} ({_f(f.get('imported_rss_mb', math.nan), 0)})",
            ", ".join(f"{pkg} {ms:.0f}" for pkg, ms in f["heaviest_imports_ms"]),
        ]
        for name, f in results["functions"].items()
    ]
    if "consumer_floor_ms" in results:
        floor = "floor: botocore session + powertools Logger, Metrics, BatchProcessor alone"
        rows.append(["(floor)", _f(results["consumer_floor_ms"], 0), "", floor, "", "", "", ""])
    print_table(
        f"Cold start, median of {results['rounds']} fresh interpreters, {results.get('layout', '')}"
        f" (bare interpreter {results['bare_interpreter_cpu_ms']:.0f} ms CPU,"
        f" {results['bare_interpreter_ms']:.0f} ms wall, subtracted)",
        [
            "function",
            "import CPU ms",
            "wall ms",
            "target",
            "first AWS call CPU ms",
            f"<= {_f(targets.get('first_aws_call', 40.0), 0)}",
            "peak MB (after import)",
            "heaviest imports (ms, own + stdlib they pull)",
        ],
        rows,
    )
    groups = {
        name: {"import": f["import_ms"], "first AWS call": f["first_aws_call_cpu_ms"]}
        for name, f in results["functions"].items()
    }
    bar_chart(out / "coldstart.png", "Cold start per function (CPU)", groups, "ms")


def e2e(results: dict[str, Any], out: Path) -> None:
    _e2e_batches(results)
    _e2e_limits(results)
    _e2e_functions(results)
    _e2e_requests(results)
    index_requests.report(results)
    print_table(
        "End-to-end targets (on this machine)",
        ["batch", "measure", "value", "target", "met"],
        [
            [f"{c['batch']} uploads", c["measure"], _f(c["value"]), c["target"], "yes" if c["met"] else "NO"]
            for c in bench_e2e.target_checks(results["batches"])
        ],
    )
    groups = {
        f"{b['n']} uploads": {
            "p50": b["ready_s"]["p50"],
            "p95": b["ready_s"]["p95"],
            "max": b["ready_s"]["max"],
        }
        for b in results["batches"]
    }
    bar_chart(out / "e2e.png", "Upload to ready on the local cloud", groups, "s")


def _e2e_batches(results: dict[str, Any]) -> None:
    rows = []
    for b in results["batches"]:
        rows.append(
            [
                f"{b['n']} uploads ({b['concurrency']} at a time)",
                _f(b["uploads_per_s"]),
                f"{_f(b['ready_s']['p50'])} / {_f(b['ready_s']['p95'])} / {_f(b['ready_s']['max'])}",
                f"{_f(b['email_s']['p50'])} / {_f(b['email_s']['p95'])} / {_f(b['email_s']['max'])}",
                f"{b['final']}/{b['n']} {b['statuses']}",
                f"{b['uploads_with_exactly_one_email']}/{b['n']}, {b['uploads_with_several_emails']} with more"
                f" ({b['other_emails']} ops alarm emails)",
                f"{_f(b['api_ms_p50'], 0)} / {_f(b['s3_post_ms_p50'], 0)}",
                f"{_f(b['emulator_call_ms']['p50'], 0)} / {_f(b['emulator_call_ms']['p95'], 0)}",
                _retries(b.get("client_retries") or {}),
            ]
        )
    print_table(
        f"End to end on the local cloud (started in {results['local_cloud_startup_s']:.1f} s)",
        [
            "batch",
            "uploads/s",
            "to ready s p50/p95/max",
            "to email s p50/p95/max",
            "final",
            "exactly one email",
            "API / S3 POST ms p50",
            "emulator call ms p50/p95",
            "client retries",
        ],
        rows,
    )


def _retries(retries: dict[str, int]) -> str:
    """The client's retries in a batch: their count, then each "what: reason" with its count."""
    if not retries:
        return "0"
    detail = ", ".join(f"{what} x{n}" for what, n in sorted(retries.items(), key=lambda kv: -kv[1]))
    return f"{sum(retries.values())} ({detail})"


def _e2e_limits(results: dict[str, Any]) -> None:
    rows = []
    for b in results["batches"]:
        c = b["cpu"]
        rows.append(
            [
                f"{b['n']} uploads",
                f"{_f(c['cpu_per_upload_ms'], 0)} ({_f(c['local_cloud_cpu_s'] * 1000 / b['n'], 0)}"
                f" + {_f(c['functions_cpu_s'] * 1000 / b['n'], 0)})",
                f"{_f(c['limit_s'], 1)} ({_f(c['limit_uploads_per_s'], 1)} uploads/s)",
                f"{_f(c['wall_s'], 1)} ({_f(b['uploads_per_s'], 1)} uploads/s)",
                _f(c["ratio_to_limit"]),
                _f(b["requests_per_upload"], 1),
            ]
        )
    print_table(
        "Physical limit: CPU per upload x uploads / cores, from the process CPU times of the local cloud"
        " (the emulator's process, which also runs the bench's client) and of the functions' environments",
        [
            "batch",
            "CPU ms per upload (local cloud + functions)",
            f"limit s on {results['batches'][0]['cpu']['cores'] if results['batches'] else '?'} cores",
            "measured s",
            "x limit",
            "emulator requests per upload",
        ],
        rows,
    )


def _e2e_requests(results: dict[str, Any]) -> None:
    rows = []
    for b in results["batches"]:
        for call, per_upload in b["requests_by_call"][:12]:
            rows.append([f"{b['n']}: {call}", _f(per_upload)])
    print_table(
        "Emulator requests per upload (service action (caller)), the most frequent",
        ["call", "per upload"],
        rows,
    )


def _e2e_functions(results: dict[str, Any]) -> None:
    rows = []
    for b in results["batches"]:
        for name, f in b["functions"].items():
            done = b["stage_done_s_p50"].get(name)
            rows.append(
                [
                    f"{b['n']}: {name}",
                    f["invocations"],
                    f["messages"],
                    f["cold_starts"],
                    _f(f["handler_ms_p50"], 0),
                    _f(f["handler_ms_p95"], 0),
                    _f(f["busy_s"], 1),
                    _f(done) if done is not None else "",
                ]
            )
    print_table(
        f"Where the time goes (thumbnail engine alone: {results['thumbnail_engine_ms']:.0f} ms per image)",
        [
            "batch: function",
            "invocations",
            "messages",
            "cold starts",
            "handler ms p50",
            "p95",
            "busy s",
            "stage done s p50",
        ],
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and uploads (a smoke run)")
    parser.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of {','.join(ALL)}")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = set(wanted) - set(ALL)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
    }
    started = time.monotonic()
    if "thumbnails" in wanted:
        with console.status("thumbnails"):
            results["thumbnails"] = bench_thumbnails.run(
                rounds=3 if args.quick else 7, inputs_dir=args.out / "inputs"
            )
        thumbnails(results["thumbnails"], args.out)
    if "coldstart" in wanted:
        with console.status("cold starts"):
            results["coldstart"] = bench_coldstart.run(rounds=3 if args.quick else 7)
        coldstart(results["coldstart"], args.out)
    if "e2e" in wanted:
        with console.status("end to end"):
            results["e2e"] = bench_e2e.run(counts=(10,) if args.quick else (50, 200))
        e2e(results["e2e"], args.out)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    console.print(f"figures and charts in {args.out} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
