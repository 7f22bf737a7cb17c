#!/usr/bin/env python3
"""Related questions: the in-memory patient-page questions against one full-text query per answer, one process.

    python benchmarks/bench_related.py --db medcite.db [--questions ../shared/eval/kqa_dev.jsonl] [--repeat 2]

Times, over the same questions in the same process, ``related_questions`` (the page questions held in memory,
``answer.related.page_questions``) and the full-text query of patient-page titles that it replaced
(``patient_title_matches`` over the question's words, the part of the old path that cost the time), plus the
one-off load of the page questions.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _common import SHARED, machine, percentiles

from medcite.answer.related import page_questions, patient_title_matches, related_questions
from medcite.index.terms import query_terms
from medcite.service import Medcite
from medcite.settings import Settings


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=Path("medcite.db"))
    ap.add_argument("--questions", type=Path, default=SHARED / "eval" / "kqa_dev.jsonl")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    rows = [json.loads(x) for x in args.questions.read_text(encoding="utf-8").split("\n") if x.strip()]
    qs = [str(r.get("Question") or r.get("question")) for r in rows]
    svc = Medcite(Settings(db=args.db, progress=False, embedder="none"))
    store = svc.open_existing()
    t = time.perf_counter()
    pages = page_questions(store)  # loaded once per process: what every later question reuses
    load_ms = (time.perf_counter() - t) * 1000
    fts, mem = [], []
    for _ in range(args.repeat):
        for q in qs:
            t = time.perf_counter()
            patient_title_matches(store, query_terms(q))
            fts.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            related_questions(store, q)
            mem.append((time.perf_counter() - t) * 1000)
    print(json.dumps({"machine": machine(), "questions": len(qs), "page_questions": len(pages.titles),
                      "load_ms": round(load_ms, 1), "full_text_query_ms": percentiles(fts),
                      "related_questions_ms": percentiles(mem)}, indent=1))
    svc.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
