#!/usr/bin/env python3
"""Training pairs from the model composer's own candidate pools (the second stage of the data recipe).

For every question of the given sets, retrieval runs as ``medcite ask`` runs it and the model composer
picks its candidate sentences (at most ``candidates``, 32) exactly as it does when answering; each candidate
becomes one pair, shown to the model as the composer shows it (``candidate_text``; a patient page's
sentence without its title and heading). Labels are those the combiner is fitted with
(``fit_combiner.py``): 1 for a sentence of a gold document that states the question's first (asked-for)
key fact, 0.5 for one that states another of its key facts, 0 for every other candidate — and every
candidate of an unanswerable question is 0. So the negatives are the sentences the composer really has to
beat: they share the question's words and come from the documents retrieval puts first.

    python tools/answer_model/build_pools.py eval/answers_dev.jsonl eval/answers_holdout.jsonl … \
        --db medcite.db --out /tmp/pools.jsonl [--base pairs.jsonl --held-out eval/answers_unseen.jsonl …]

Rows have build_data.py's layout (question, candidate, label, source ``pool:<set>``, qid, split ``train``).
With ``--base pairs.jsonl`` (build_data.py's output) the file starts with those pairs: every held-out row
(export.py calibrates on them), every ``dev`` training row and at most ``--base-cap`` training rows of each
other source (seeded), so that the pools are learnt without forgetting the public sources.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_data import SEED  # noqa: E402
from fit_combiner import label, pool_source, traced_service  # noqa: E402

from medcite.answer.model import MODEL_DIR, load_answer_model  # noqa: E402
from medcite.evaluation.answers import load_questions  # noqa: E402


class Recorder:
    """Wraps the answer model and keeps what the composer showed it."""

    def __init__(self, model) -> None:
        self.model, self.id, self.calls = model, model.id, []

    def calibrated_logits(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        self.calls.append(list(candidates))
        return self.model.calibrated_logits(question, candidates)

    def score(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        return 1 / (1 + np.exp(-self.calibrated_logits(question, candidates)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="+", type=Path, help="question files (eval/answers_*.jsonl layout)")
    ap.add_argument("--db", type=Path, default=Path("medcite.db"))
    ap.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--base", type=Path, default=None, help="build_data.py's pairs, written first (capped)")
    ap.add_argument("--base-cap", type=int, default=1500, help="training rows kept per base source (dev: all)")
    ap.add_argument("--held-out", type=Path, nargs="*", default=[],
                    help="question sets kept for evaluation: base training rows about their gold documents are dropped")
    args = ap.parse_args(argv)
    rec = Recorder(load_answer_model(str(args.model_dir)))
    traced: list[list] = []
    svc = traced_service(args.db, args.model_dir, rec, lambda q, s, r: traced.append(list(s)))
    n_rows = n_pos = n_q = 0
    with args.out.open("w", encoding="utf-8") as out:
        if args.base:
            by_source: dict[str, list[str]] = {}
            for line in args.base.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    r = json.loads(line)
                    if r["split"] == "heldout":
                        out.write(line + "\n")
                    else:
                        by_source.setdefault(r["source"], []).append(line)
            held_gold = {d for path in args.held_out for q in load_questions(path) for d in q.gold}
            rng = random.Random(SEED)
            for source, lines in by_source.items():
                rng.shuffle(lines)
                for x in lines if source == "dev" else lines[: args.base_cap]:
                    qid = json.loads(x)["qid"].split(":", 1)[-1]  # "medquad:<doc_id>", "pubmedqa:<pmid>"
                    if qid not in held_gold and f"pmid:{qid}" not in held_gold:
                        out.write(x + "\n")
        for path in args.sets:
            for q in load_questions(path):
                rec.calls.clear()
                traced.clear()
                svc.ask(q.question, audience=q.audience, remember=False)
                n_q += 1
                for shown, scored in zip(rec.calls, traced):
                    for text, x in zip(shown, scored):
                        y = label(x.doc_id, x.text, q.gold, q.key_facts)
                        out.write(json.dumps({"question": q.question, "candidate": text, "label": y,
                                              "source": pool_source(path), "qid": q.qid, "split": "train"}) + "\n")
                        n_rows += 1
                        n_pos += y > 0
    print(f"{n_q} questions, {n_rows} pairs, {n_pos} positive (label > 0) -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
