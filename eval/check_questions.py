#!/usr/bin/env python3
"""Validate medcite's answer-quality question set against a store.

Checks, for every line of the JSONL file (default ``eval/answers_dev.jsonl``):

* the line parses as a JSON object with exactly the expected fields and types
  (``qid``, ``question``, ``audience``, ``gold_doc_ids``, ``key_facts``);
* ``qid`` is unique and ``audience`` is ``clinician`` or ``patient``;
* every ``gold_doc_ids`` entry exists in the ``documents`` table of ``--db``;
* unanswerable questions (empty ``gold_doc_ids``) have empty ``key_facts``
  and answerable ones have 1-3 key facts;
* for every key fact, at least one of its alternatives occurs verbatim
  (case-insensitive) in the section text of at least one gold document.

Alternatives that do not occur anywhere in the gold documents are reported
as notes (they are allowed: a fact only needs one verbatim alternative).

Only the standard library is used, and the store is opened read-only, so the
script can be run with any Python >= 3.11::

    python eval/check_questions.py --db /tmp/medcite-full.db

Exit status is 0 when no errors were found, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections import Counter
from pathlib import Path

FIELDS = {"qid", "question", "audience", "gold_doc_ids", "key_facts"}
AUDIENCES = {"clinician", "patient"}
DEFAULT_FILE = Path(__file__).resolve().parent / "answers_dev.jsonl"


def category(gold: list[str], kinds: dict[str, tuple[str, str]]) -> str:
    """A coarse source category for reporting, from the first gold doc.

    ``kinds`` maps doc_id -> (kind, source). PubMedQA abstracts are the
    ``pmid:`` documents stored without a journal (empty source).
    """
    if not gold:
        return "unanswerable"
    doc_id = gold[0]
    prefix = doc_id.split(":", 1)[0]
    if prefix == "ngc":
        return "guideline"
    if prefix == "medquad":
        return "patient_info"
    if prefix == "spl":
        return "drug_label"
    if prefix == "pmc":
        kind = kinds.get(doc_id, ("", ""))[0]
        return "pmc_trial" if kind == "randomized_trial" else "pmc_other"
    if prefix == "pmid":
        source = kinds.get(doc_id, ("", ""))[1]
        return "pubmedqa" if not source else "pubmed_other"
    return "other"


def gold_text(conn: sqlite3.Connection, doc_id: str, cache: dict[str, str]) -> str:
    if doc_id not in cache:
        rows = conn.execute(
            "SELECT text FROM sections WHERE doc_id = ? ORDER BY ord", (doc_id,)
        ).fetchall()
        cache[doc_id] = "\n".join(r[0] for r in rows).lower()
    return cache[doc_id]


def check(path: Path, db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    errors: list[str] = []
    notes: list[str] = []
    seen: set[str] = set()
    by_category: Counter[str] = Counter()
    by_audience: Counter[str] = Counter()
    by_cat_aud: Counter[tuple[str, str]] = Counter()
    text_cache: dict[str, str] = {}
    n_lines = 0
    n_facts = 0

    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            errors.append(f"line {lineno}: blank line")
            continue
        n_lines += 1
        where = f"line {lineno}"
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            errors.append(f"{where}: invalid JSON ({exc})")
            continue
        if not isinstance(obj, dict):
            errors.append(f"{where}: not a JSON object")
            continue
        if set(obj) != FIELDS:
            errors.append(
                f"{where}: fields {sorted(obj)} != expected {sorted(FIELDS)}"
            )
            continue
        qid = obj["qid"]
        where = f"line {lineno} ({qid})"
        if not isinstance(qid, str) or not qid:
            errors.append(f"{where}: qid must be a non-empty string")
        elif qid in seen:
            errors.append(f"{where}: duplicate qid")
        seen.add(qid)
        if not isinstance(obj["question"], str) or not obj["question"].strip():
            errors.append(f"{where}: question must be a non-empty string")
        audience = obj["audience"]
        if audience not in AUDIENCES:
            errors.append(f"{where}: audience {audience!r} not in {sorted(AUDIENCES)}")

        gold = obj["gold_doc_ids"]
        facts = obj["key_facts"]
        if not isinstance(gold, list) or not all(isinstance(g, str) for g in gold):
            errors.append(f"{where}: gold_doc_ids must be a list of strings")
            continue
        if len(set(gold)) != len(gold):
            errors.append(f"{where}: duplicate gold_doc_ids")
        if not isinstance(facts, list) or not all(
            isinstance(f, list) and f and all(isinstance(a, str) and a.strip() for a in f)
            for f in facts
        ):
            errors.append(
                f"{where}: key_facts must be a list of non-empty lists of non-empty strings"
            )
            continue

        kinds: dict[str, tuple[str, str]] = {}
        for doc_id in gold:
            row = conn.execute(
                "SELECT kind, source FROM documents WHERE doc_id = ?", (doc_id,)
            ).fetchone()
            if row is None:
                errors.append(f"{where}: gold doc {doc_id!r} not in documents")
            else:
                kinds[doc_id] = (row[0], row[1] or "")

        cat = category(gold, kinds)
        by_category[cat] += 1
        by_audience[str(audience)] += 1
        by_cat_aud[(cat, str(audience))] += 1

        if not gold:
            if facts:
                errors.append(f"{where}: unanswerable question must have empty key_facts")
            continue
        if not 1 <= len(facts) <= 3:
            errors.append(f"{where}: answerable question needs 1-3 key facts, has {len(facts)}")

        texts = {d: gold_text(conn, d, text_cache) for d in gold if d in kinds}
        for i, alternatives in enumerate(facts):
            n_facts += 1
            found_any = False
            for alt in alternatives:
                hits = [d for d, t in texts.items() if alt.lower() in t]
                if hits:
                    found_any = True
                else:
                    notes.append(f"{where}: fact {i} alternative {alt!r} not in any gold doc")
            if not found_any:
                errors.append(
                    f"{where}: fact {i} {alternatives!r}: no alternative occurs verbatim "
                    "in any gold doc"
                )

    conn.close()

    print(f"file: {path}")
    print(f"db:   {db}")
    n_unans = by_category["unanswerable"]
    n_valid = sum(by_category.values())
    print(f"questions: {n_lines} lines, {n_valid} checked  (answerable {n_valid - n_unans}, "
          f"unanswerable {n_unans}); key facts checked: {n_facts}")
    print("by category:")
    for cat, n in sorted(by_category.items()):
        aud = ", ".join(
            f"{a} {by_cat_aud[(cat, a)]}" for a in sorted(AUDIENCES) if by_cat_aud[(cat, a)]
        )
        print(f"  {cat:<14} {n:>3}  ({aud})")
    print("by audience:")
    for aud, n in sorted(by_audience.items()):
        print(f"  {aud:<14} {n:>3}")
    for note in notes:
        print(f"note: {note}")
    for err in errors:
        print(f"ERROR: {err}")
    print("OK" if not errors else f"FAILED: {len(errors)} error(s)")
    return 0 if not errors else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path, help="path to a medcite SQLite store")
    parser.add_argument(
        "--file", type=Path, default=DEFAULT_FILE, help="question set (JSONL)"
    )
    args = parser.parse_args(argv)
    if not args.db.exists():
        print(f"ERROR: no such store: {args.db}", file=sys.stderr)
        return 2
    return check(args.file, args.db)


if __name__ == "__main__":
    sys.exit(main())
