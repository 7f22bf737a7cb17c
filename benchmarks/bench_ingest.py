"""Ingest the whole shared corpus into a fresh store; report time, documents/s and peak memory.

    python benchmarks/bench_ingest.py [--corpus DIR] [--db PATH]

Then re-ingests to show idempotence (every document unchanged).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from _common import SHARED, machine, peak_rss_mb

from medcite.service import Medcite
from medcite.settings import Settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    ap.add_argument("--db", type=Path, default=Path(tempfile.mkdtemp()) / "bench.db")
    args = ap.parse_args()
    svc = Medcite(Settings(db=args.db, progress=False))
    t0 = time.perf_counter()
    report = svc.demo(args.corpus)
    first = time.perf_counter() - t0
    t1 = time.perf_counter()
    again = svc.ingest([args.corpus])
    second = time.perf_counter() - t1
    stats = svc.stats()
    print(json.dumps({
        "machine": machine(),
        "corpus": str(args.corpus),
        "first_ingest_s": round(first, 1),
        "documents": report.documents,
        "docs_per_s": round(report.documents / first),
        "passages": stats["passages"],
        "reingest_s": round(second, 1),
        "reingest_unchanged": again.unchanged,
        "reingest_added_updated": again.added + again.updated,
        "errors": len(report.errors),
        "peak_rss_mb": round(peak_rss_mb()),
        "db_mb": round(args.db.stat().st_size / 1e6),
    }, indent=2))


if __name__ == "__main__":
    main()
