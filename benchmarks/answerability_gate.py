#!/usr/bin/env python3
"""Would a learned answerability gate over both composers' scores decline more unanswerable questions?

    python benchmarks/answerability_gate.py --db medcite.db [--train dev holdout test fresh blind] \
        [--held unseen final next] [--out /tmp/gate.json]

For every question of the sets: the rules composer's best word cover (routing off), the model composer's best
combined probability and raw model probability, and the per-question outcome of the default (rules with
routing) and of ``composer = model`` (``medcite.evaluation.answers``). A logistic regression on the training
sets' questions (answerable or not) combines the two scores; its threshold maximises balanced accuracy there.
On the held-out sets it prints each score's answerability AUC, then what the gate would do: answer with the
default, or with the model composer when the default abstains, only when the gate passes — abstention, false
abstention and the answer figures, at the fitted threshold and along the curve.

Lexical retrieval is what ``make demo`` gives; over a store with vectors set ``MEDCITE_EMBEDDER=none`` to match.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools" / "answer_model"))

from export import auc  # noqa: E402
from fit_combiner import fit  # noqa: E402

from medcite.evaluation.answers import evaluate_answers, load_questions  # noqa: E402
from medcite.service import Medcite  # noqa: E402
from medcite.settings import load_settings  # noqa: E402


def logit(p: float | None) -> float:
    p = min(max(p or 0.0, 1e-4), 1 - 1e-4)
    return float(np.log(p / (1 - p)))


def run(db: Path, sets: list[str]) -> list[dict]:
    """One row per question: set, qid, answerable, the scores, and the two composers' outcomes."""
    rows: dict[tuple[str, str], dict] = {}
    configs = {"rules": dict(composer="rules", safety_routing=False), "default": {}, "model": dict(composer="model")}
    for name, kw in configs.items():
        svc = Medcite(load_settings(db=str(db), progress=False, **kw))
        try:
            for s in sets:
                questions = load_questions(ROOT / "eval" / f"answers_{s}.jsonl")
                meta: dict[str, dict] = {}

                def ask(q, svc=svc, meta=meta):
                    a = svc.ask(q.question, audience=q.audience, remember=False)
                    meta[q.qid] = a.metadata or {}
                    return a

                for r in evaluate_answers(questions, ask)["per_question"]:
                    row = rows.setdefault((s, r["qid"]), {"set": s, "qid": r["qid"], "answerable": r["answerable"]})
                    m = meta.get(r["qid"], {})
                    if name == "rules":
                        row["rules_cover"] = float(m.get("best_cover") or 0.0)
                    else:
                        row[name] = {k: r[k] for k in ("abstained", "cites_gold", "facts", "fact_in_bottom_line")}
                    if name == "model":
                        row["model_best"] = logit(m.get("best_cover"))
        finally:
            svc.close()
    return list(rows.values())


def outcome(rows: list[dict], passes: list[bool], fallback: bool = True) -> dict[str, float]:
    ab = fa = bl = kf = gold = 0.0
    na = sum(r["answerable"] for r in rows)
    nu = len(rows) - na
    for r, ok in zip(rows, passes):
        d, m = r["default"], r["model"]
        pick = None
        if ok:
            pick = d if not d["abstained"] else (m if fallback and not m["abstained"] else None)
        if r["answerable"]:
            if pick is None:
                fa += 1
            else:
                bl += pick["fact_in_bottom_line"]
                kf += float(np.mean(pick["facts"])) if pick["facts"] else 0.0
                gold += pick["cites_gold"]
        else:
            ab += pick is None
    return {"gold_cited": round(gold / na, 3), "key_facts": round(kf / na, 3), "fact_in_bottom_line": round(bl / na, 3),
            "abstention": round(ab / nu, 3), "false_abstention": round(fa / na, 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=ROOT / "medcite.db")
    ap.add_argument("--train", nargs="+", default=["dev", "holdout", "test", "fresh", "blind"])
    ap.add_argument("--held", nargs="+", default=["unseen", "final", "next"])
    ap.add_argument("--out", type=Path, default=None, help="write the per-question rows here (JSON)")
    args = ap.parse_args(argv)
    rows = run(args.db, args.train + args.held)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    train = [r for r in rows if r["set"] in args.train]
    held = [r for r in rows if r["set"] in args.held]

    def xy(rs: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        return (np.array([[r["model_best"], r["rules_cover"]] for r in rs]),
                np.array([float(r["answerable"]) for r in rs]))

    xt, yt = xy(train)
    xh, yh = xy(held)
    for i, name in enumerate(("model composer's best", "rules composer's best cover")):
        print(f"answerability AUC of the {name}: training sets {auc(xt[:, i], yt):.3f}, held-out {auc(xh[:, i], yh):.3f}")
    mu, sd = xt.mean(0), xt.std(0) + 1e-9

    def z(x: np.ndarray) -> np.ndarray:
        return np.hstack([(x - mu) / sd, np.ones((len(x), 1))])

    w = fit(z(xt), yt)
    st, sh = z(xt) @ w, z(xh) @ w
    print(f"both, logistic regression fitted on the training sets: training {auc(st, yt):.3f}, held-out {auc(sh, yh):.3f}")
    t = max(sorted(set(st)), key=lambda c: (np.mean(st[yt == 1] >= c) + np.mean(st[yt == 0] < c)) / 2)
    print(f"\nheld-out sets {' '.join(args.held)}: {int(yh.sum())} answerable, {int(len(yh) - yh.sum())} not")
    print(f"{'default (rules with routing)':44}", outcome(held, [True] * len(held), fallback=False))
    print(f"{'composer = model':44}", outcome([{**r, 'default': r['model']} for r in held], [True] * len(held), False))
    print(f"{'gate at the fitted threshold, default':44}", outcome(held, list(sh >= t), fallback=False))
    print(f"{'gate at the fitted threshold, default → model':44}", outcome(held, list(sh >= t)))
    for q in (0.2, 0.3, 0.4, 0.5):
        c = float(np.quantile(sh, q))
        print(f"{f'gate declining the lowest {int(q * 100)}%, default → model':44}", outcome(held, list(sh >= c)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
