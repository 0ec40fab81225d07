"""`python -m soak` (`make soak ARGS="..."`): N uploads through the local cloud under injected faults,
then the ledger. Exit status 0 only when nothing is lost or duplicated, no queue holds a message and
the dead-letter queues hold exactly the deliberate poison."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from dataclasses import fields
from pathlib import Path

from rich.console import Console

from localcloud.faults import Rates

from .report import print_table
from .run import Options, soak

_DEFAULTS = Rates()
# Rates field -> (option, help); each option's default is the field's.
_RATE_OPTIONS = {
    "throttle": (
        "--throttle-rate",
        "per function call to S3/DynamoDB/SNS/SES: the service's throttling error",
    ),
    "server_error": ("--server-error-rate", "per function call: the service's 500/503"),
    "connection_reset": ("--reset-rate", "per function call: the connection reset before an answer"),
    "duplicate_s3_event": ("--duplicate-event-rate", "per S3 event notification: published twice"),
    "sqs_redelivery": ("--redelivery-rate", "per poller DeleteMessageBatch: acknowledged, not performed"),
    "stage_delay": ("--delay-rate", "per stage poller ReceiveMessage: held back up to --max-delay s"),
    "max_delay_s": ("--max-delay", "longest hold of a delayed stage receive, seconds"),
    "function_kill_every_s": ("--kill-every", "seconds between kills of a busy consumer process (0: never)"),
    "api_kill_every_s": ("--api-kill-every", "seconds between kills of a busy API process (0: never)"),
    "poller_restart_every_s": ("--restart-every", "seconds between poller restarts (0: never)"),
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m soak", description=__doc__)
    p.add_argument("--uploads", type=int, default=2000, help="uploads to push (default 2000)")
    p.add_argument("--concurrency", type=int, default=16, help="uploads in flight at once (default 16)")
    p.add_argument(
        "--backlog", type=int, default=100, help="uploads in the pipeline at most (sent, not announced) [100]"
    )
    p.add_argument(
        "--bad-rate", type=float, default=0.02, help="share of truncated JPEGs, which must end rejected"
    )
    p.add_argument("--seed", type=int, default=None, help="make the run's random choices repeatable")
    p.add_argument(
        "--timeout", type=float, default=None, help="give up after this many seconds (600 + 1 per upload)"
    )
    p.add_argument(
        "--function-timeout", type=int, default=6, help="the consumers' timeout, s (queues: 6x) [6]"
    )
    p.add_argument(
        "--consumer-concurrency",
        type=int,
        default=3,
        help="each consumer mapping's MaximumConcurrency (0: the template's) [3]",
    )
    p.add_argument("--json", action="store_true", help="also print the figures as one JSON line (last)")
    p.add_argument("--log", type=Path, default=None, help="the local cloud's log file (default: a temp file)")
    faults = p.add_argument_group("faults (rates per opportunity; defaults in brackets)")
    for name, (option, text) in _RATE_OPTIONS.items():
        default = getattr(_DEFAULTS, name)
        faults.add_argument(option, dest=name, type=float, default=default, help=f"{text} [{default}]")
    kill_targets = ",".join(_DEFAULTS.function_kill_targets)
    faults.add_argument(
        "--kill-targets", default=kill_targets, help=f"consumers whose processes are killed [{kill_targets}]"
    )
    faults.add_argument("--no-poison", action="store_true", help="send no poison message")
    faults.add_argument("--no-faults", action="store_true", help="inject nothing (a baseline run)")
    return p


def options_from(args: argparse.Namespace) -> Options:
    if args.no_faults:
        rates = Rates.none()
    else:
        values = {f.name: getattr(args, f.name) for f in fields(Rates) if f.name in _RATE_OPTIONS}
        targets = tuple(t.strip() for t in args.kill_targets.split(",") if t.strip())
        rates = Rates(**values, poison=not args.no_poison, function_kill_targets=targets)
    return Options(
        uploads=args.uploads,
        backlog=args.backlog,
        concurrency=args.concurrency,
        bad_rate=args.bad_rate,
        rates=rates,
        seed=args.seed,
        timeout_s=args.timeout,
        function_timeout_s=args.function_timeout,
        consumer_concurrency=args.consumer_concurrency or None,
    )


def _log_to(path: Path | None) -> Path:
    """Everything the local cloud and the functions log goes to a file: the terminal shows progress."""
    if path is None:
        path = Path(tempfile.mkstemp(prefix="intake-soak-", suffix=".log")[1])
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    return path


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        options = options_from(args)
    except ValueError as exc:
        parser().error(str(exc))
    console = Console(stderr=True, highlight=False)
    log_path = _log_to(args.log)
    ledger, figures, details = soak(options, console)
    out = Console(highlight=False)
    print_table(out, figures, details)
    out.print(f"log: {log_path}")
    if args.json:
        print(json.dumps(figures, sort_keys=False), flush=True)
    return 0 if figures["ok"] and ledger.ok else 1


if __name__ == "__main__":
    sys.exit(main())
