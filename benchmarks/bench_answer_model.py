#!/usr/bin/env python3
"""Answer-model inference cost and answer latency: model composer against the rules composer, one process.

    python benchmarks/bench_answer_model.py --db medcite.db [--questions eval/answers_dev.jsonl] [--repeat 2]

1. The shipped cross-encoder scoring 32 candidate pairs (what one answer costs it), one intra-op thread,
   against the bundled bi-encoder fallback on the same pairs.
2. `ask` latency (p50 / p95 over the question file, after one warm-up pass) with `composer = model` and
   `composer = rules`, in the same process, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _common import machine, percentiles

from medcite.answer.model import BiEncoderModel, load_answer_model
from medcite.evaluation.answers import load_questions
from medcite.service import Medcite
from medcite.settings import Settings


def time_scoring(model, question: str, cands: list[str], n: int = 20) -> float:
    model.score(question, cands)
    t = time.perf_counter()
    for _ in range(n):
        model.score(question, cands)
    return (time.perf_counter() - t) / n * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=Path("medcite.db"))
    ap.add_argument("--questions", type=Path, default=Path("eval/answers_dev.jsonl"))
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    qs = load_questions(args.questions)
    pairs = [json.loads(x) for x in Path(__file__).resolve().parent.joinpath("..", "tests", "data",
                                                                            "support_pairs.jsonl").read_text().splitlines()
             if x.strip()]
    cands = [p["statement"] for p in pairs][:32]  # sentence-sized texts, as candidates are
    ce = load_answer_model()
    from medcite.index.embedders import OnnxEmbedder

    bi = BiEncoderModel(OnnxEmbedder(threads=1), (1.0, 0.0))
    report = {"machine": machine(), "candidates": len(cands),
              "cross_encoder_ms": round(time_scoring(ce, qs[0].question, cands), 1),
              "bi_encoder_ms": round(time_scoring(bi, qs[0].question, cands), 1)}
    for composer in ("model", "rules"):
        svc = Medcite(Settings(db=args.db, progress=False, composer=composer))
        for q in qs:  # warm-up: models loaded, caches filled
            svc.ask(q.question, audience=q.audience, remember=False)
        ms = []
        for _ in range(args.repeat):
            for q in qs:
                t = time.perf_counter()
                svc.ask(q.question, audience=q.audience, remember=False)
                ms.append((time.perf_counter() - t) * 1000)
        report[f"ask_{composer}"] = percentiles(ms)
        svc.close()
    report["p95_ratio_model_vs_rules"] = round(report["ask_model"]["p95"] / report["ask_rules"]["p95"], 2)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
