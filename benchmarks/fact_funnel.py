#!/usr/bin/env python3
"""Where the asked-for fact is lost: a funnel over medcite's answer question sets.

    python benchmarks/fact_funnel.py --db medcite.db [--sets holdout test fresh blind] [--composer model]

For every answerable question (the first key fact is the asked-for one) it records whether that fact is

1. in the corpus at all (any passage of a gold document),
2. in the passages retrieved for the answer (the composer's input),
3. among the sentences the model composer scored (its candidates; model composer only),
4. in the best-scored sentence, and
5. in the bottom line itself.

The drop between two stages says which part to work on: retrieval (1 → 2), candidate choice (2 → 3), the
ranking (3 → 4) or answerability and arrangement (4 → 5). Results: benchmarks/out/fact_funnel.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, ROOT  # noqa: E402

from medcite.evaluation.answers import load_questions  # noqa: E402
from medcite.service import Medcite  # noqa: E402
from medcite.settings import Settings  # noqa: E402

STAGES = ("in_gold_docs", "retrieved", "candidates", "top_sentence", "bottom_line")


def has(text: str, alts: tuple[str, ...]) -> bool:
    low = text.lower()
    return any(a.lower() in low for a in alts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=ROOT / "medcite.db")
    ap.add_argument("--sets", nargs="+", default=["holdout", "test", "fresh", "blind"])
    ap.add_argument("--composer", choices=("model", "rules"), default="model")
    args = ap.parse_args()
    svc = Medcite(Settings(db=args.db, progress=False, composer=args.composer))
    seen: dict[str, list] = {}
    if args.composer == "model":
        def trace(question: str, scored: list, rows: list) -> None:
            seen["scored"] = list(scored)
        svc._model_composer().trace = trace
    # the retrieved passages the composer saw: wrap the composer's input
    real_select = None
    if args.composer == "model":
        comp = svc._model_composer()
        real_select = comp.select

        def select(question, terms, hits, *a, **kw):
            seen["hits"] = list(hits)
            return real_select(question, terms, hits, *a, **kw)
        comp.select = select
    else:
        real_rules = svc._rules_select

        def rules(q, terms, expansions, hits, *a, **kw):
            seen["hits"] = list(hits)
            return real_rules(q, terms, expansions, hits, *a, **kw)
        svc._rules_select = rules
    store = svc.open_existing()
    report: dict[str, dict] = {}
    for name in args.sets:
        questions = [q for q in load_questions(ROOT / "eval" / f"answers_{name}.jsonl") if q.gold and q.key_facts]
        counts = dict.fromkeys(STAGES, 0)
        lost: list[dict] = []
        for q in questions:
            seen.clear()
            answer = svc.ask(q.question, audience=q.audience, remember=False)
            fact = q.key_facts[0]
            gold_text = " ".join(r[0] for d in q.gold
                                 for r in store.conn.execute("SELECT text FROM passages WHERE doc_id = ?", (d,)))
            row = {
                "in_gold_docs": has(gold_text, fact),
                "retrieved": has(" ".join(h.text for h in seen.get("hits", [])), fact),
                "candidates": has(" ".join(x.text for x in seen.get("scored", [])), fact),
                "top_sentence": bool(seen.get("scored")) and has(max(seen["scored"], key=lambda x: x.score).text, fact),
                "bottom_line": not answer.insufficient_evidence and has(answer.bottom_line, fact),
            }
            for s in STAGES:
                counts[s] += row[s]
            if row["in_gold_docs"] and not row["bottom_line"]:
                lost.append({"qid": q.qid, "stage": next(s for s in STAGES if not row[s]),
                             "abstained": answer.insufficient_evidence})
        n = len(questions)
        report[name] = {"n": n, **{s: round(counts[s] / n, 3) for s in STAGES}, "lost": lost}
        print(f"{name:8s} n={n:3d} " + "  ".join(f"{s} {counts[s] / n:.2f}" for s in STAGES), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "fact_funnel.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
