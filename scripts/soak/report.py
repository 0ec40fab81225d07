"""The soak's table (rich) and its one JSON line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from .ledger import Ledger


def as_json(
    ledger: Ledger, faults: Mapping[str, int], duration_s: float, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The figures of the issue's contract (and a few more after them)."""
    return {
        "uploads": ledger.uploads,
        "final": ledger.final,
        "lost": ledger.lost,
        "duplicate_records": ledger.duplicate_records,
        "duplicate_thumbnails": ledger.duplicate_thumbnails,
        "emails": ledger.emails,
        "missing_emails": ledger.missing_emails,
        "duplicate_emails": ledger.duplicate_emails,
        "dlq_messages": ledger.dlq_messages,
        "faults": dict(faults),
        "duration_s": round(duration_s, 1),
        "uploads_per_s": round(ledger.uploads / duration_s, 2) if duration_s > 0 else 0.0,
        "ok": ledger.ok,
        "problems": ledger.problems,
        "wrong_status": ledger.wrong_status,
        "stray_records": ledger.stray_records,
        "abandoned": ledger.abandoned,
        "missing_thumbnails": ledger.missing_thumbnails,
        "stray_thumbnails": ledger.stray_thumbnails,
        "stray_emails": ledger.stray_emails,
        "queued": ledger.queued,
        "dlq_unexpected": ledger.dlq_unexpected,
        "client_failures": ledger.client_failures,
        **(extra or {}),
    }


def _row(table: Table, name: str, value: object, must_be_zero: bool = False) -> None:
    text = str(value)
    if must_be_zero:
        text = f"[green]{text}[/green]" if not value else f"[bold red]{text}[/bold red]"
    table.add_row(name, text)


def print_table(
    console: Console, figures: Mapping[str, Any], details: Mapping[str, Mapping[str, int]]
) -> None:
    table = Table(title="Soak ledger (from the emulator's state)", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    _row(table, "uploads", figures["uploads"])
    _row(table, "final (by status)", ", ".join(f"{k} {v}" for k, v in figures["final"].items()))
    for name in ("lost", "wrong_status", "duplicate_records", "stray_records"):
        _row(table, name, figures[name], must_be_zero=True)
    _row(table, "abandoned (pending, never uploaded)", figures["abandoned"])
    for name in ("duplicate_thumbnails", "missing_thumbnails", "stray_thumbnails"):
        _row(table, name, figures[name], must_be_zero=True)
    _row(table, "emails", figures["emails"])
    for name in ("missing_emails", "duplicate_emails", "stray_emails"):
        _row(table, name, figures[name], must_be_zero=True)
    _row(table, "left in queues", sum(figures["queued"].values()), must_be_zero=True)
    _row(table, "dlq_messages", ", ".join(f"{k} {v}" for k, v in figures["dlq_messages"].items()))
    _row(table, "DLQ messages other than the poison", figures["dlq_unexpected"], must_be_zero=True)
    _row(
        table,
        "client: uploads restarted / given up",
        f"{figures['client_restarts']} / {figures['client_failures']}",
    )
    for kind, count in figures["faults"].items():
        where = ", ".join(
            f"{d} {n}" for d, n in sorted(details.get(kind, {}).items(), key=lambda i: -i[1])[:6]
        )
        _row(table, f"fault: {kind}", f"{count}" + (f"  ({where})" if where else ""))
    _row(table, "duration", f"{figures['duration_s']} s")
    _row(table, "uploads/s", figures["uploads_per_s"])
    verdict = "[bold green]PASS[/bold green]" if figures["ok"] else "[bold red]FAIL[/bold red]"
    _row(table, "verdict", verdict)
    console.print(table)
