#!/usr/bin/env python3
"""Unlabelled questions whose candidate pools a distilled student learns its teacher's scores on.

    python tools/answer_model/distill_questions.py --db medcite.db --out /tmp/distill-questions.jsonl

Distillation needs no labels, only inputs like those the composer scores: the training-split questions of
BioASQ and PubMedQA (``build_data.split_of``), the K-QA patient questions and patient-page questions of
MedQuAD (titles of pages that are no evaluation set's gold document). ``build_pools.py`` turns them into
candidate pools (all labels 0) and ``teacher_logits.py`` scores those; ``train.py --distill`` learns from them.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_data import SEED, split_of  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=Path("medcite.db"))
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--medquad", type=int, default=700, help="patient-page questions to take")
    args = ap.parse_args(argv)
    gold = {d for path in (ROOT / "eval").glob("answers_*.jsonl") for line in path.read_text().split("\n")
            if line.strip() for d in json.loads(line).get("gold_doc_ids", [])}
    out: list[dict] = []
    for line in (args.shared / "eval/bioasq_dev.jsonl").read_text().split("\n"):
        if line.strip() and split_of(f"bioasq:{(q := json.loads(line))['id']}") == "train":
            out.append({"qid": f"bioasq:{q['id']}", "question": q["question"], "audience": "clinician"})
    for line in (args.shared / "eval/pubmedqa_dev.jsonl").read_text().split("\n"):
        if line.strip() and split_of(f"pubmedqa:{(q := json.loads(line))['pmid']}") == "train" \
                and f"pmid:{q['pmid']}" not in gold:
            out.append({"qid": f"pubmedqa:{q['pmid']}", "question": q["question"], "audience": "clinician"})
    for n, line in enumerate((args.shared / "eval/kqa_dev.jsonl").read_text().split("\n")):
        if line.strip():
            out.append({"qid": f"kqa:{n}", "question": json.loads(line)["Question"], "audience": "patient"})
    conn = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    pages = [(d, t) for d, t in conn.execute(
        "SELECT doc_id, title FROM documents WHERE kind = 'patient_info' AND title LIKE '%?' ORDER BY doc_id")
        if d not in gold and split_of(f"medquad:{d}") == "train"]
    random.Random(SEED).shuffle(pages)
    out += [{"qid": f"page:{d}", "question": t, "audience": "patient"} for d, t in pages[: args.medquad]]
    args.out.write_text("".join(json.dumps(q) + "\n" for q in out))
    print(f"{len(out)} questions -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
