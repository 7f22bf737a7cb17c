"""Precision/recall of the support checker on tests/data/support_pairs.jsonl, and its latency.

Usage: ``python benchmarks/bench_support.py [--threshold T]``

Prints precision and recall at :data:`medcite.answer.support.SUPPORTED_AT`, a threshold sweep, the
per-kind accuracy, a split-half check (threshold picked on even rows, measured on odd rows) and the
time to score 20 statements against their cited passages (~600 characters each).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import machine  # noqa: E402

from medcite.answer import support  # noqa: E402
from medcite.answer.support import SUPPORTED_AT, HeuristicSupportChecker  # noqa: E402

DATA = ROOT / "tests" / "data" / "support_pairs.jsonl"


def load() -> list[dict]:
    return [json.loads(line) for line in DATA.open() if line.strip()]


def prf(rows: list[dict], scores: list[float], t: float) -> tuple[float, float, float]:
    tp = sum(1 for r, s in zip(rows, scores) if s >= t and r["label"] == 1)
    fp = sum(1 for r, s in zip(rows, scores) if s >= t and r["label"] == 0)
    fn = sum(1 for r, s in zip(rows, scores) if s < t and r["label"] == 1)
    p = tp / (tp + fp) if tp + fp else 1.0
    rc = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * rc / (p + rc) if p + rc else 0.0
    return p, rc, f


def pick_threshold(rows: list[dict], scores: list[float]) -> float:
    """Highest recall with precision >= 0.9; ties → the higher (stricter) threshold."""
    best = (0.0, 0.0, 1.0)
    for t in sorted(set(scores)):
        p, r, _ = prf(rows, scores, t)
        if p >= 0.9 and (r, t) > (best[0], best[2]):
            best = (r, p, t)
    return best[2]


def latency(checker: HeuristicSupportChecker, rows: list[dict], runs: int = 30) -> dict:
    rng = random.Random(7)
    times = []
    for run in range(-1, runs):  # run -1 warms the word caches and is not timed
        batch = rng.sample(rows, 20)
        # 1-3 cited passages per statement, fresh strings so the passage cache does not help
        jobs = [(r["statement"], [p + " " * (run + 1) for p in [r["passage"]] + [x["passage"] for x in
                 rng.sample(rows, rng.randint(0, 2))]]) for r in batch]
        t0 = time.perf_counter()
        for statement, passages in jobs:
            checker.score(statement, passages)
        if run >= 0:
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"median_ms": round(statistics.median(times), 2), "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
            "max_ms": round(max(times), 2),
            "mean_passage_chars": round(statistics.mean(len(r["passage"]) for r in rows))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threshold", type=float, default=SUPPORTED_AT)
    ap.add_argument("--errors", action="store_true", help="print the misclassified pairs")
    args = ap.parse_args()
    rows = load()
    checker = HeuristicSupportChecker()
    scores = [checker.score(r["statement"], [r["passage"]]) for r in rows]
    p, r, f = prf(rows, scores, args.threshold)
    print(f"machine: {machine()}")
    print(f"pairs: {len(rows)} ({sum(x['label'] for x in rows)} supported)")
    print(f"threshold {args.threshold:.2f}: precision {p:.3f} recall {r:.3f} F1 {f:.3f}")
    print("sweep:")
    for t in [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8]:
        pp, rr, ff = prf(rows, scores, t)
        print(f"  t={t:.2f}  P={pp:.3f}  R={rr:.3f}  F1={ff:.3f}")
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for row, s in zip(rows, scores):
        by_kind[f"{row['label']}:{row['kind']}"].append((s >= args.threshold) == bool(row["label"]))
    print("accuracy by kind:")
    for k, v in sorted(by_kind.items()):
        print(f"  {k:12s} {sum(v)}/{len(v)}")
    even = [(x, s) for i, (x, s) in enumerate(zip(rows, scores)) if i % 2 == 0]
    odd = [(x, s) for i, (x, s) in enumerate(zip(rows, scores)) if i % 2 == 1]
    t_even = pick_threshold([x for x, _ in even], [s for _, s in even])
    pp, rr, _ = prf([x for x, _ in odd], [s for _, s in odd], t_even)
    print(f"split-half: threshold {t_even:.3f} picked on even rows → odd rows precision {pp:.3f} recall {rr:.3f}")
    lat = latency(checker, rows)
    print(f"latency, 20 statements × 1-3 passages (~{lat['mean_passage_chars']} chars): "
          f"median {lat['median_ms']} ms, p95 {lat['p95_ms']} ms, max {lat['max_ms']} ms (cold passage cache)")
    if args.errors:
        for row, s in zip(rows, scores):
            if (s >= args.threshold) != bool(row["label"]):
                print(f"\n[{row['id']} label={row['label']} {row['kind']} score={s:.3f}] {row['statement']}")
                if row.get("source_sentence"):
                    print(f"   src: {row['source_sentence']}")
                print(f"   {support.HeuristicSupportChecker().explain(row['statement'], row['passage'])}")


if __name__ == "__main__":
    main()
