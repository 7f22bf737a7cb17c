#!/usr/bin/env python3
"""Fit the model composer's combiner and its answer threshold on medcite's question sets.

    python tools/answer_model/fit_combiner.py --db medcite.db [--questions eval/answers_dev.jsonl …] \
        [--model-dir src/medcite/models] [--fallback]
    python tools/answer_model/fit_combiner.py --db medcite.db --model-dir src/medcite/models \
        --fold /tmp/trained-without-dev-holdout-test=eval/answers_dev.jsonl,eval/answers_holdout.jsonl,eval/answers_test.jsonl \
        --fold /tmp/trained-without-fresh-blind=eval/answers_fresh.jsonl,eval/answers_blind.jsonl

Runs every question through retrieval and the model composer, records each candidate sentence's features
(``medcite.answer.ranked.FEATURES``: the answer model's log-odds, word cover, title cover, whether its section
answers this kind of question, the audience's source preference, the standalone penalty, the retrieval rank,
whether it has the asked-for answer shape, the reading grade over target), labels a candidate 1 when it is from
a gold document and states the question's first (asked-for) key fact, 0.5 when it states another of its key
facts, and fits an L2-regularised logistic regression on these soft labels. The answer threshold is the one
that best separates answerable questions (their best candidate) from unanswerable ones (balanced accuracy;
ties → the middle of the best range); besides the sets' own unanswerable questions, BioASQ questions of the
model's training split serve as unanswerable ones (``--unanswerable``): the corpus has their words but not
their answers. Both are written into ``answer-model.json`` (under ``fallback`` with ``--fallback``: the
bi-encoder stand-in).

When the model was trained on the sets' own candidate pools (``build_pools.py``), its scores on them are
in-sample and too confident: a threshold fitted on them lets unanswerable questions through. ``--fold``
cross-fits instead: each set is scored by a model trained without that set's pools, and the combiner fitted
on these out-of-sample scores is written next to the model trained on all of them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from medcite.answer.model import MODEL_DIR, META_FILE, load_answer_model, model_meta
from medcite.answer.ranked import FEATURES, Combiner, ModelComposer, RankedConfig
from medcite.evaluation.answers import AnswerQuestion, load_questions
from medcite.service import Medcite
from medcite.settings import Settings

L2 = 1.0


def fit(x: np.ndarray, y: np.ndarray, l2: float = L2, iters: int = 100) -> np.ndarray:
    """Logistic regression by Newton's method; the last column of ``x`` is the intercept (not penalised)."""
    w = np.zeros(x.shape[1])
    reg = np.full(x.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(x @ w)))
        g = x.T @ (p - y) + reg * w
        h = (x * (p * (1 - p))[:, None]).T @ x + np.diag(reg) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(h, g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def threshold(best_answerable: list[float], best_unanswerable: list[float]) -> tuple[float, float]:
    cands = sorted(set(best_answerable + best_unanswerable))
    scored = []
    for lo, hi in zip([0.0] + cands, cands + [1.0]):
        t = (lo + hi) / 2
        answered = np.mean([b >= t for b in best_answerable]) if best_answerable else 0
        abstained = np.mean([b < t for b in best_unanswerable]) if best_unanswerable else 0
        scored.append(((answered + abstained) / 2, t))
    top = max(s for s, _ in scored)
    ts = [t for s, t in scored if s == top]
    return float(np.median(ts)), float(top)


def bioasq_unanswerable(shared: Path, n: int) -> list[AnswerQuestion]:
    """BioASQ questions of the answer model's training split, asked of the medcite corpus: its documents
    are not BioASQ's, so these are (nearly all) questions whose words the corpus has but that it does not
    answer — the hard kind of unanswerable question the development set has too few of."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from build_data import split_of

    out = []
    for line in (shared / "eval/bioasq_dev.jsonl").read_text().split("\n"):
        if not line.strip():
            continue
        q = json.loads(line)
        if q.get("type") in ("factoid", "yesno", "list") and split_of(f"bioasq:{q['id']}") == "train":
            out.append(AnswerQuestion(f"bioasq-{q['id']}", q["question"], "clinician", (), ()))
        if len(out) >= n:
            break
    return out


def label(doc_id: str, text: str, gold: Sequence[str], key_facts: Sequence[Sequence[str]]) -> float:
    """A candidate's soft label: 1 for a gold-document sentence that states the question's first (asked-for) key
    fact — what the bottom line must state —, 0.5 for one that states another of its key facts, else 0 (and 0 for
    every candidate of an unanswerable question). The fit minimises cross-entropy on these."""
    if doc_id not in gold or not key_facts:
        return 0.0
    low = text.lower()
    if any(a.lower() in low for a in key_facts[0]):
        return 1.0
    return 0.5 if any(a.lower() in low for f in key_facts[1:] for a in f) else 0.0


def pool_source(path: Path) -> str:
    """The ``source`` of a question set's pool pairs (``build_pools.py``): ``pool:dev`` for answers_dev.jsonl."""
    return f"pool:{path.stem.removeprefix('answers_')}"


def traced_service(db: Path, model_dir: Path | None, model: Any,
                   trace: Callable[[str, list, list], None]) -> Medcite:
    """A service whose model composer scores with ``model`` and hands every question's candidates and features
    to ``trace``, then stops (answer_prob above 1: only the candidates are wanted, no answer is arranged)."""
    svc = Medcite(Settings(db=db, progress=False, composer="model", answer_model_dir=model_dir))
    svc._composer = ModelComposer(model, RankedConfig(answer_prob=1.01), trace=trace,
                                  drug_words=lambda: svc.analyzer().drug_words() if svc.analyzer() else frozenset())
    return svc


def collect(db: Path, model_dir: Path | None, fallback: bool, questions: list[AnswerQuestion], offset: int,
            xs: list, ys: list, owner: list, leads: list) -> int:
    """Every candidate's features and soft label for ``questions`` (scored by the model in ``model_dir``);
    returns how many answerable questions have their asked-for fact among the candidates."""
    records: list[tuple[str, list, list]] = []
    svc = traced_service(db, None if fallback else model_dir,
                         load_answer_model("/nonexistent" if fallback else str(model_dir)),
                         lambda question, scored, rows: records.append((question, list(scored), list(rows))))
    pooled = 0
    try:
        for qi, q in enumerate(questions, start=offset):
            records.clear()
            svc.ask(q.question, audience=q.audience, remember=False)
            first = [a.lower() for a in (q.key_facts[0] if q.key_facts else [])]
            pooled += any(any(a in x.text.lower() for a in first) for _, scored, _ in records for x in scored)
            for _, scored, rows in records:
                for x, f in zip(scored, rows):
                    xs.append(list(f) + [1.0])
                    ys.append(label(x.doc_id, x.text, q.gold, q.key_facts))
                    owner.append(qi)
                    leads.append(x.can_lead)  # may open the answer (the population rule): decides answering
    finally:
        svc.close()
    return pooled


def best_lead(probs: Sequence[float], labels: Sequence[float], owner: Sequence[int],
              leads: Sequence[bool]) -> dict[int, tuple[float, float]]:
    """Per question: the combined probability of its best candidate that may open the answer (what decides
    whether it is answered) and that candidate's label."""
    best: dict[int, tuple[float, float]] = {}
    for p, y, qi, lead in zip(probs, labels, owner, leads):
        if lead and p > best.get(int(qi), (-1.0, 0.0))[0]:
            best[int(qi)] = (float(p), float(y))
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="fit the model composer's combiner on development questions")
    ap.add_argument("--db", type=Path, default=Path("medcite.db"))
    ap.add_argument("--questions", type=Path, nargs="+", default=[Path("eval/answers_dev.jsonl")],
                    help="question files to fit on (their unanswerable questions count too)")
    ap.add_argument("--fold", action="append", default=[], metavar="MODEL_DIR=SET[,SET…]",
                    help="cross-fitting: score these question files with this model (one trained without their "
                    "pools), so the combiner and threshold see out-of-sample scores; replaces --questions")
    ap.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    ap.add_argument("--fallback", action="store_true", help="fit the bi-encoder stand-in's combiner")
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--unanswerable", type=int, default=80,
                    help="add this many BioASQ training-split questions as unanswerable (0: none)")
    args = ap.parse_args(argv)
    folds: list[tuple[Path, list[Path]]] = []
    for spec in args.fold:
        model_dir, _, sets = spec.partition("=")
        paths = [Path(x) for x in sets.split(",") if x]
        seen = set((model_meta(Path(model_dir)).get("training") or {}).get("sources") or ())
        leaked = sorted(pool_source(p) for p in paths if pool_source(p) in seen)
        if leaked:
            ap.error(f"{model_dir} was trained on {', '.join(leaked)}: a fold model must score only the sets whose "
                     "pools it never saw")
        folds.append((Path(model_dir), paths))
    if not folds:
        folds = [(args.model_dir, list(args.questions))]
    xs, ys, owner, leads = [], [], [], []
    questions: list[AnswerQuestion] = []
    pooled = 0
    for i, (model_dir, paths) in enumerate(folds):
        qs = [q for path in paths for q in load_questions(path)]
        if args.unanswerable and i == 0:
            qs += bioasq_unanswerable(args.shared, args.unanswerable)
        pooled += collect(args.db, model_dir, args.fallback, qs, len(questions), xs, ys, owner, leads)
        questions += qs
    x, y = np.array(xs), np.array(ys)
    w = fit(x, y)
    comb = Combiner(tuple(float(v) for v in w[:-1]), float(w[-1]))
    best = best_lead(1 / (1 + np.exp(-(x @ w))), y, owner, leads)
    ans = [best.get(i, (0.0, 0.0))[0] for i, q in enumerate(questions) if q.gold]
    una = [best.get(i, (0.0, 0.0))[0] for i, q in enumerate(questions) if not q.gold]
    t, bal = threshold(ans, una)
    meta_path = args.model_dir / META_FILE
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    sets = " + ".join(str(p) for _, paths in folds for p in paths)
    how = (f"cross-fitted: each set scored by the fold model trained without its pools ({len(folds)} folds)"
           if args.fold else "scored by the model itself")
    fitted = {"combiner": {"features": list(FEATURES), "weights": [round(v, 5) for v in comb.weights],
                           "bias": round(comb.bias, 5),
                           "fitted_on": f"{sets} + {args.unanswerable} BioASQ training questions as unanswerable; {how}",
                           "rows": int(len(y)), "positives": int(y.sum()), "l2": L2},
              "answer_prob": round(t, 4), "section_prob": round(max(0.05, 0.6 * t), 4),
              "threshold_balanced_accuracy": round(bal, 4),
              "asked_for_fact_among_candidates": f"{pooled}/{sum(1 for q in questions if q.gold)}"}
    if args.fallback:
        meta["fallback"] = fitted
    else:
        meta.update(fitted)
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    print(json.dumps(fitted, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
