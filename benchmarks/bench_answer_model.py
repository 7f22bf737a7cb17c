#!/usr/bin/env python3
"""Answer-model inference cost and answer latency: model composer against the rules composer, one process.

    python benchmarks/bench_answer_model.py --db medcite.db [--questions eval/answers_dev.jsonl] [--repeat 2] \
        [--model-dir DIR …]

1. The shipped cross-encoder scoring 32 candidate pairs (what one answer costs it), one intra-op thread,
   against the bundled bi-encoder fallback on the same pairs.
2. `ask` latency (p50 / p95 over the question file, after one warm-up pass) with `composer = model` and
   `composer = rules`, in the same process, and their ratio.
3. With ``--model-dir`` (another answer model, e.g. a distilled student): its scoring cost on the same pairs, and
   `ask` latency with it for `composer = model` and for the default (rules with safety routing), in the same
   process as the shipped model's, and the ratios.
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
    ap.add_argument("--model-dir", type=Path, nargs="*", default=[], help="other answer models to time the same way")
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

    def ask_ms(settings: Settings) -> dict:
        svc = Medcite(settings)
        for q in qs:  # warm-up: models loaded, caches filled
            svc.ask(q.question, audience=q.audience, remember=False)
        ms = []
        for _ in range(args.repeat):
            for q in qs:
                t = time.perf_counter()
                svc.ask(q.question, audience=q.audience, remember=False)
                ms.append((time.perf_counter() - t) * 1000)
        svc.close()
        return percentiles(ms)

    for composer in ("model", "rules"):
        report[f"ask_{composer}"] = ask_ms(Settings(db=args.db, progress=False, composer=composer))
    report["p95_ratio_model_vs_rules"] = round(report["ask_model"]["p95"] / report["ask_rules"]["p95"], 2)
    for folder in args.model_dir:
        other = {"cross_encoder_ms": round(time_scoring(load_answer_model(str(folder)), qs[0].question, cands), 1)}
        other["ask_model"] = ask_ms(Settings(db=args.db, progress=False, composer="model", answer_model_dir=folder))
        other["ask_default"] = ask_ms(Settings(db=args.db, progress=False, answer_model_dir=folder))
        other["scoring_ratio_vs_shipped"] = round(other["cross_encoder_ms"] / report["cross_encoder_ms"], 2)
        other["ask_model_p95_ratio_vs_shipped"] = round(other["ask_model"]["p95"] / report["ask_model"]["p95"], 2)
        report[str(folder)] = other
    if args.model_dir:  # the shipped model's default, for the ratio of each other model's default
        report["ask_default"] = ask_ms(Settings(db=args.db, progress=False))
        for folder in args.model_dir:
            o = report[str(folder)]
            o["ask_default_p95_ratio_vs_shipped"] = round(o["ask_default"]["p95"] / report["ask_default"]["p95"], 2)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
