"""Index-table reads and writes per upload, by the function that made them.

The local cloud counts DynamoDB item requests per table, action and access key
(`localcloud.request_stats`); each function signs with its role's credentials from the emulator's STS,
whose session name is the function's name, so a key tells which function made the request. A failed
conditional write counts as a write (DynamoDB charges it): a stage that lost a race to another stage's
write shows above 1, and the lost races are shown on their own.

`snapshot` before a batch and `per_upload` after it (bench_e2e), `report` prints the table (bench).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.common import print_table
from localcloud.request_stats import DYNAMODB_READS, DYNAMODB_WRITES

STAGES = ("validate", "thumbnail", "index")
TARGET = 1.0  # at most one write and one read per stage and upload


def snapshot(cloud: Any) -> Counter[tuple[str, str, str, bool]]:
    return cloud.emulator.requests.table_counts()  # type: ignore[no-any-return]


def _function_names(cloud: Any) -> dict[str, str]:
    """Physical function name -> consumer or api (the stack's <Name>Function resources)."""
    resources = cloud.deployment.resources if cloud.deployment else {}
    names = {"validate", "thumbnail", "index", "notify", "api"}
    return {
        resources[f"{n.capitalize()}Function"]: n for n in names if f"{n.capitalize()}Function" in resources
    }


def _callers() -> dict[str, str]:
    """Access key id -> role session name, from the emulator's STS (it runs in this process)."""
    from moto.sts.models import sts_backends

    found: dict[str, str] = {}
    for account in list(sts_backends.values()):
        for backend in list(account.values()):
            found.update({role.access_key_id: role.session_name for role in list(backend.assumed_roles)})
    return found


def per_upload(cloud: Any, before: Counter[tuple[str, str, str, bool]], n: int) -> dict[str, Any]:
    """Reads and writes of the index table during the batch, per upload, by function."""
    table = cloud.outputs["IndexTableName"]
    functions, callers = _function_names(cloud), _callers()
    rows: dict[str, dict[str, float]] = {}
    for (name, action, key, refused), count in (snapshot(cloud) - before).items():
        if name != table:
            continue
        caller = functions.get(callers.get(key, ""), "admin (bench, local cloud)")
        row = rows.setdefault(caller, {"writes": 0.0, "reads": 0.0, "lost_races": 0.0})
        if action in DYNAMODB_WRITES:
            row["writes"] += count / n
            row["lost_races"] += count / n if refused else 0.0
        elif action in DYNAMODB_READS:
            row["reads"] += count / n
    total = {k: sum(r[k] for r in rows.values()) for k in ("writes", "reads", "lost_races")}
    return {"by_function": rows, **total}


def report(results: dict[str, Any]) -> None:
    """The index-table table of `make bench`: per upload, by function, against the per-stage target."""
    rows = []
    for batch in results["batches"]:
        index = batch.get("index_table")
        if not index:
            continue
        for caller, counts in sorted(index["by_function"].items()):
            rows.append(
                [
                    f"{batch['n']}: {caller}",
                    f"{counts['writes']:.2f}",
                    f"{counts.get('lost_races', 0.0):.2f}",
                    f"{counts['reads']:.2f}",
                    _met(counts) if caller in STAGES else "",
                ]
            )
        rows.append(
            [
                f"{batch['n']}: all",
                f"{index['writes']:.2f}",
                f"{index.get('lost_races', 0.0):.2f}",
                f"{index['reads']:.2f}",
                "",
            ]
        )
    print_table(
        "Index table per upload (target: at most 1 write and 1 read per stage; a write refused by its"
        " condition, a race lost to another stage, counts as a write and is retried)",
        ["batch: function", "writes", "of which lost races", "reads", "stage target met"],
        rows,
    )


def _met(counts: dict[str, float]) -> str:
    writes, reads = round(counts["writes"], 9), round(counts["reads"], 9)  # sums of fractions
    if writes <= TARGET and reads <= TARGET:
        return "yes"
    if round(writes - counts.get("lost_races", 0.0), 9) <= TARGET and reads <= TARGET:
        return "yes, but for lost races"
    return "NO"
