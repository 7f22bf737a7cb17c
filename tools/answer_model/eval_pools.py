#!/usr/bin/env python3
"""How well an answer model ranks the composer's own candidate pools (``build_pools.py`` output).

    python tools/answer_model/eval_pools.py --model-dir src/medcite/models /tmp/pools_heldout.jsonl

Per source (``pool:<set>``) and overall, over the answerable questions whose pool holds a sentence with the
asked-for fact (label 1): top-1 and top-3 (that sentence is the model's best, or among its best three), the
reciprocal rank of the first such sentence, the mean pair AUC within a pool; and, over all questions, the
answerability AUC: how well the pool's best model score tells answerable questions from unanswerable ones.
Model scores only — no combiner, no threshold — so two models compare in seconds, before any end-to-end run.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

import numpy as np

from medcite.answer.model import MODEL_DIR, MODEL_FILE, TOKENIZER_FILE, CrossEncoderModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export import auc  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pools", type=Path)
    ap.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    args = ap.parse_args(argv)
    model = CrossEncoderModel(args.model_dir / MODEL_FILE, args.model_dir / TOKENIZER_FILE, (1.0, 0.0), threads=2)
    by_question: dict[tuple[str, str], list[dict]] = collections.defaultdict(list)
    for line in args.pools.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            by_question[(r["source"], r["qid"])].append(r)
    per: dict[str, dict[str, list]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for (source, qid), rows in sorted(by_question.items()):
        logits = model.logits([r["question"] for r in rows], [r["candidate"] for r in rows])
        labels = np.array([r["label"] for r in rows])
        for key in (source, "ALL"):
            per[key]["best"].append((float(logits.max()), not qid.startswith("unans-")))
        if qid.startswith("unans-") or not (labels == 1).any():
            continue
        order = list(np.argsort(-logits, kind="stable"))
        first = next(i for i, j in enumerate(order) if labels[j] == 1)
        for key in (source, "ALL"):
            d = per[key]
            d["top1"].append(first == 0)
            d["top3"].append(first < 3)
            d["rr"].append(1 / (first + 1))
            d["auc"].append(auc(logits, (labels == 1).astype(float)))
    for key in sorted(per, key=lambda k: (k == "ALL", k)):
        d = per[key]
        best = np.array([b for b, _ in d["best"]])
        answerable = np.array([float(a) for _, a in d["best"]])
        ans_auc = auc(best, answerable) if 0 < answerable.sum() < len(answerable) else float("nan")
        print(f"{key:14} questions {len(d['top1']):3}  top-1 {np.mean(d['top1']):.3f}  top-3 {np.mean(d['top3']):.3f}  "
              f"MRR {np.mean(d['rr']):.3f}  pair AUC {np.mean(d['auc']):.3f}  answerability AUC {ans_auc:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
