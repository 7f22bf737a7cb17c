"""Helpers shared by the benchmark scripts (not part of the package)."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MEDCITE_SHARED_DIR", ROOT.parent / "shared")).resolve()
OUT = ROOT / "benchmarks" / "out"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentiles(values_ms: list[float]) -> dict[str, float]:
    values = sorted(values_ms)
    if not values:
        return {"p50": 0.0, "p95": 0.0}
    q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else [values[0]] * 99
    return {"p50": round(statistics.median(values), 2), "p95": round(q[94], 2), "max": round(values[-1], 2)}


def bioasq_questions(n: int = 200) -> list[str]:
    path = SHARED / "eval" / "bioasq_dev.jsonl"
    out = []
    with path.open() as fh:
        for line in fh:
            out.append(json.loads(line)["question"])
            if len(out) >= n:
                break
    return out
