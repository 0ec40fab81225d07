"""CPU time of the local cloud: this process (the emulator, pollers, fronts and the bench's own client
share it) and its subprocesses (the functions' execution environments), from the kernel's counters.

The physical limit of a batch follows: every upload needs `cpu_per_upload` seconds of some core, so
`n` uploads cannot finish in less than `cpu_per_upload * n / cores` seconds.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")


@dataclass(frozen=True)
class CpuTimes:
    local_cloud_s: float  # this process: user + system
    functions_s: float  # its subprocesses, running (from /proc) and finished (RUSAGE_CHILDREN)

    @property
    def total_s(self) -> float:
        return self.local_cloud_s + self.functions_s

    def __sub__(self, other: CpuTimes) -> CpuTimes:
        return CpuTimes(self.local_cloud_s - other.local_cloud_s, self.functions_s - other.functions_s)


def _children_running_s() -> float:
    """user + system time of this process's running children (Linux /proc; 0 elsewhere)."""
    me, total = os.getpid(), 0.0
    if not _PROC.is_dir():
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state ppid ... utime stime
        if int(fields[1]) == me:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def snapshot() -> CpuTimes:
    own = os.times()
    finished = resource.getrusage(resource.RUSAGE_CHILDREN)
    return CpuTimes(
        local_cloud_s=own.user + own.system,
        functions_s=_children_running_s() + finished.ru_utime + finished.ru_stime,
    )


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def physical_limit(used: CpuTimes, n: int, wall_s: float) -> dict[str, float]:
    """CPU per upload, the least wall time `n` uploads need on this machine's cores, and how far from it."""
    per_upload_s = used.total_s / n if n else float("nan")
    limit_s = per_upload_s * n / cores()
    return {
        "cores": cores(),
        "cpu_s": used.total_s,
        "local_cloud_cpu_s": used.local_cloud_s,
        "functions_cpu_s": used.functions_s,
        "cpu_per_upload_ms": per_upload_s * 1000,
        "limit_s": limit_s,
        "limit_uploads_per_s": n / limit_s if limit_s > 0 else float("nan"),
        "wall_s": wall_s,
        "ratio_to_limit": wall_s / limit_s if limit_s > 0 else float("nan"),
    }
