#!/usr/bin/env python3
"""Compare combiners over one answer model's candidates, offline (no end-to-end run per variant).

    python tools/answer_model/combiner_variants.py --db medcite.db --model-dir DIR \
        [--fit tools/answer_model/questions/pools_calibrate.jsonl] \
        [--held-out eval/answers_next.jsonl eval/answers_final.jsonl eval/answers_unseen.jsonl]

Every question of ``--fit`` (plus 80 BioASQ questions as unanswerable, as ``fit_combiner.py`` does) and of
``--held-out`` runs once through retrieval and the model composer; each candidate's features and soft label are
kept (``fit_combiner.collect``). Four combiners are fitted on the ``--fit`` candidates — the pointwise logistic
regression ``fit_combiner.py`` ships, the same without the retrieval-rank feature, the model's score alone, and a
listwise one (a softmax over each question's candidates and a "no answer" level) — each with its balanced-accuracy
threshold. On the held-out candidates each reports: answerable questions answered whose best lead candidate states
the asked-for fact, unanswerable questions declined, answerable questions declined.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_combiner import best_lead, bioasq_unanswerable, collect, fit, threshold  # noqa: E402

from medcite.answer.ranked import FEATURES  # noqa: E402
from medcite.evaluation.answers import load_questions  # noqa: E402


def fit_listwise(x: np.ndarray, y: np.ndarray, owner: np.ndarray, l2: float = 1.0, iters: int = 300,
                 step: float = 0.5) -> np.ndarray:
    """Weights (last column: intercept) maximising, per question, the softmax share of its labelled candidates
    against a learnt "no answer" logit (the whole share when nothing is labelled); plain gradient descent."""
    w, null = np.zeros(x.shape[1]), 0.0
    groups = [np.where(owner == q)[0] for q in np.unique(owner)]
    for _ in range(iters):
        g, g_null = np.zeros_like(w), 0.0
        for ii in groups:
            z = np.concatenate([[null], x[ii] @ w])
            p = np.exp(z - z.max())
            p /= p.sum()
            total = y[ii].sum()
            target = np.concatenate([[float(total <= 0)], y[ii] / total if total > 0 else np.zeros(len(ii))])
            diff = p - target
            g += x[ii].T @ diff[1:]
            g_null += diff[0]
        reg = l2 * np.r_[w[:-1], 0.0]
        w -= step * (g + reg) / len(groups)
        null -= step * g_null / len(groups)
    return w


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=Path("medcite.db"))
    ap.add_argument("--model-dir", type=Path, required=True)
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--fit", type=Path, nargs="+", default=[Path("tools/answer_model/questions/pools_calibrate.jsonl")])
    ap.add_argument("--held-out", type=Path, nargs="+", default=[Path(f"eval/answers_{s}.jsonl")
                                                                 for s in ("next", "final", "unseen")])
    args = ap.parse_args(argv)
    data = {}
    for name, paths, extra in (("fit", args.fit, 80), ("held", args.held_out, 0)):
        qs = [q for p in paths for q in load_questions(p)]
        qs += bioasq_unanswerable(args.shared, extra) if extra else []
        xs, ys, owner, leads = [], [], [], []
        collect(args.db, args.model_dir, False, qs, 0, xs, ys, owner, leads)
        data[name] = (np.array(xs), np.array(ys), np.array(owner), np.array(leads, bool), [bool(q.gold) for q in qs])
    x, y, owner, leads, answerable = data["fit"]
    rank = FEATURES.index("rank")
    variants = {"pointwise (shipped recipe)": np.arange(x.shape[1]),
                "pointwise without rank": np.array([i for i in range(x.shape[1]) if i != rank]),
                "model score alone": np.array([FEATURES.index("model"), x.shape[1] - 1])}
    weights = {}
    for name, cols in variants.items():
        w = np.zeros(x.shape[1])
        w[cols] = fit(x[:, cols], y)
        weights[name] = w
    weights["listwise"] = fit_listwise(x, y, owner)
    print(f"{'combiner':28} {'threshold':>9} {'fit bal.acc':>11} | held-out: fact on top and answered · "
          "unanswerable declined · answerable declined")
    for name, w in weights.items():
        best = best_lead(1 / (1 + np.exp(-(x @ w))), y, owner, leads)
        t, bal = threshold([best.get(q, (0.0, 0.0))[0] for q, a in enumerate(answerable) if a],
                           [best.get(q, (0.0, 0.0))[0] for q, a in enumerate(answerable) if not a])
        hx, hy, ho, hl, ha = data["held"]
        hb = best_lead(1 / (1 + np.exp(-(hx @ w))), hy, ho, hl)
        right = sum(1 for q, a in enumerate(ha) if a and hb.get(q, (0.0, 0.0))[0] >= t and hb[q][1] == 1)
        declined = sum(1 for q, a in enumerate(ha) if not a and hb.get(q, (0.0, 0.0))[0] < t)
        false = sum(1 for q, a in enumerate(ha) if a and hb.get(q, (0.0, 0.0))[0] < t)
        n_a = sum(ha)
        print(f"{name:28} {t:9.4f} {bal:11.3f} | {right}/{n_a} · {declined}/{len(ha) - n_a} · {false}/{n_a}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
