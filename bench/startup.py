"""Section 3: cold start, import time, and memory per worker."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass

from .served import Server, memory_kib

HEAVY = ("scipy.stats",)  # ~0.5 s and ~70 MB to import; never on the start-up path


@dataclass(frozen=True)
class ImportTime:
    module: str
    cumulative_s: float  # -X importtime: the module's cumulative time
    wall_s: float  # the whole interpreter, started to finished
    imported: frozenset[str]

    @property
    def heavy(self) -> list[str]:
        return sorted(m for m in HEAVY if m in self.imported)


_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def import_time(module: str) -> ImportTime:
    """``python -X importtime -c "import <module>"`` in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run(  # noqa: S603 (a fixed command: this Python)
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    cumulative = 0.0
    imported = set()
    for line in out.stderr.splitlines():
        m = _LINE.match(line)
        if m:
            imported.add(m.group(4))
            if m.group(4) == module:
                cumulative = int(m.group(2)) / 1e6
    return ImportTime(module, cumulative, float(out.stdout.strip()), frozenset(imported))


def worker_memory(server: Server) -> list[dict[str, int]]:
    """VmRSS and Pss (KiB) of each worker; Pss shares copy-on-write pages fairly."""
    return [memory_kib(pid) for pid in server.workers()]
