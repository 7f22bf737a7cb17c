#!/usr/bin/env python3
"""Build the answer model's training pairs from ../shared (the data recipe).

Each pair is (question, candidate sentence shown with its heading and document title, label 0/1),
grouped by question. Sources, with their hard negatives:

* BioASQ dev questions — positive: the sentence of each gold snippet closest to the ideal answer;
  negatives: BM25 sentences of other snippets (not from the question's gold PMIDs).
* MedQuAD (from the store) — the page's own question (its title) — positive: the answer's first
  sentences; negatives: a sentence answering another question about the same topic (same source
  document: "What causes X?" vs "How is X treated?") and BM25 sentences of other pages.
* PubMedQA dev questions — positive: the conclusion's sentences; negatives: background / methods
  sentences of the same abstract and a results sentence of another abstract.
* medcite's own development questions (eval/answers_dev.jsonl) — positive: gold-document sentences
  that state a key fact; negatives: the gold documents' other sentences and BM25 sentences of other
  documents; unanswerable questions give negatives only. Weighted ×3.

Patient pages are shown without their title and heading (both are the page's own question, which would
let a model match titles instead of reading the sentence); so are PubMedQA sentences (their CONCLUSIONS
heading would give the label away).

Documents that are gold in the held-out question sets (answers_holdout/test/fresh/blind) and their
MedQuAD sibling pages are never used. A fixed 20% of the questions of every source (by a hash of the
question id, seed below) is held out of training for evaluation.

    python tools/answer_model/build_data.py --db medcite.db --shared ../shared --out /tmp/answer-pairs.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sqlite3
import sys
from pathlib import Path

from medcite.answer.pairs import candidate_text
from medcite.text import split_sentences

SEED = 20261207
HELD_OUT_SHARE = 0.2
HELD_OUT_SETS = ("answers_holdout.jsonl", "answers_test.jsonl", "answers_fresh.jsonl", "answers_blind.jsonl")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = set("""a an the of in on at to for and or with without is are was were be been being do does did can could
should would will may might what which who whom whose when where why how this that these those it its as by from
than then there their them they he she his her i my me we our you your not no yes any all some about into over
after before during between most more less much many such per vs versus""".split())


def split_of(key: str) -> str:
    h = int(hashlib.sha256(f"{SEED}:{key}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "heldout" if h < HELD_OUT_SHARE else "train"


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


def fts_query(text: str, limit: int = 12) -> str:
    ws = [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2][:limit]
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(ws))


def good_sentence(s: str) -> bool:
    return 25 <= len(s) <= 600 and len(s.split()) >= 5


def sentences_of(text: str) -> list[str]:
    return [s.strip() for s in split_sentences(text or "") if good_sentence(s.strip())]


class Builder:
    def __init__(self, db: Path, shared: Path, project: Path) -> None:
        self.conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        self.shared, self.project = shared, project
        self.rng = random.Random(SEED)
        self.rows: list[dict] = []
        self.excluded = self._excluded_docs()

    def _excluded_docs(self) -> set[str]:
        out: set[str] = set()
        for name in HELD_OUT_SETS:
            path = self.project / "eval" / name
            if not path.is_file():
                continue
            for line in path.read_text().split("\n"):
                if line.strip():
                    out.update(json.loads(line).get("gold_doc_ids", []))
        return out

    def is_excluded(self, doc_id: str) -> bool:
        if doc_id in self.excluded:
            return True
        if doc_id.startswith("medquad:"):
            stem = doc_id.rsplit("-", 1)[0]
            return any(x.startswith(stem + "-") for x in self.excluded)
        return False

    def add(self, source: str, qkey: str, question: str, text: str, label: int, weight: int = 1) -> None:
        for _ in range(weight):
            self.rows.append({"source": source, "qid": f"{source}:{qkey}", "split": split_of(f"{source}:{qkey}"),
                              "question": question, "candidate": text, "label": label})

    def store_negatives(self, question: str, avoid_docs: set[str], n: int, avoid_words: set[str] | None = None
                        ) -> list[str]:
        q = fts_query(question)
        if not q:
            return []
        try:
            rows = self.conn.execute(
                "SELECT p.doc_id, p.title, p.heading, p.text FROM passages_fts f JOIN passages p ON p.id = f.rowid "
                "WHERE passages_fts MATCH ? ORDER BY rank LIMIT 30", (q,)).fetchall()
        except sqlite3.OperationalError:
            return []
        qw = words(question)
        cands = []
        for doc_id, title, heading, text in rows:
            shown_heading, shown_title = ("", "") if doc_id.startswith("medquad:") else (heading, title)
            if doc_id in avoid_docs or self.is_excluded(doc_id):
                continue
            # another page asking the very same question would be a false negative
            if title and len(words(title) & qw) >= max(2, 0.7 * len(words(title))):
                continue
            ss = [s for s in sentences_of(text) if words(s) & qw]
            if ss:
                cands.append(candidate_text(self.rng.choice(ss), shown_heading, shown_title))
        self.rng.shuffle(cands)
        return cands[:n]

    # --- sources -------------------------------------------------------------------------

    def bioasq(self, limit: int | None) -> None:
        snippets = [json.loads(x) for x in (self.shared / "eval/bioasq_snippets.jsonl").read_text().split("\n") if x.strip()]
        mem = sqlite3.connect(":memory:")
        mem.execute("CREATE VIRTUAL TABLE s USING fts5(pmid UNINDEXED, text, tokenize='porter')")
        for sn in snippets:
            for sent in sentences_of(sn["text"]):
                mem.execute("INSERT INTO s VALUES (?, ?)", (sn["pmid"], sent))
        qs = [json.loads(x) for x in (self.shared / "eval/bioasq_dev.jsonl").read_text().split("\n") if x.strip()]
        for q in qs[:limit]:
            gold = set(q["pmids"])
            ideal = words(" ".join(q.get("ideal_answer") or []))
            pos = []
            for sn in q["snippets"][:4]:
                ss = sentences_of(sn["text"])
                if ss:
                    pos.append(max(ss, key=lambda s: len(words(s) & ideal) / (1 + len(words(s)) ** 0.5)))
            for s in dict.fromkeys(pos[:2]):
                self.add("bioasq", q["id"], q["question"], candidate_text(s), 1)
            rows = mem.execute("SELECT pmid, text FROM s WHERE s MATCH ? ORDER BY rank LIMIT 25",
                               (fts_query(q["question"]),)).fetchall() if fts_query(q["question"]) else []
            negs = [t for p, t in rows if p not in gold]
            for s in negs[:3]:
                self.add("bioasq", q["id"], q["question"], candidate_text(s), 0)

    def medquad(self, n_docs: int) -> None:
        docs = self.conn.execute("SELECT doc_id, title FROM documents WHERE kind = 'patient_info' "
                                 "AND doc_id LIKE 'medquad:%' ORDER BY doc_id").fetchall()
        by_stem: dict[str, list[str]] = {}
        for d, _ in docs:
            by_stem.setdefault(d.rsplit("-", 1)[0], []).append(d)
        docs = [(d, t) for d, t in docs if not self.is_excluded(d) and t and t.strip().endswith("?")]
        self.rng.shuffle(docs)
        for doc_id, title in docs[:n_docs]:
            sec = self.conn.execute("SELECT heading, text FROM sections WHERE doc_id = ? ORDER BY ord LIMIT 1",
                                    (doc_id,)).fetchone()
            if not sec:
                continue
            ss = sentences_of(sec[1])
            if not ss:
                continue
            for s in ss[:2]:
                self.add("medquad", doc_id, title, candidate_text(s), 1)
            siblings = [x for x in by_stem.get(doc_id.rsplit("-", 1)[0], []) if x != doc_id]
            if siblings:
                sib = self.rng.choice(siblings)
                row = self.conn.execute(
                    "SELECT d.title, s.text FROM documents d JOIN sections s ON s.doc_id = d.doc_id "
                    "WHERE d.doc_id = ? ORDER BY s.ord LIMIT 1", (sib,)).fetchone()
                sib_ss = sentences_of(row[1]) if row else []
                if sib_ss:
                    self.add("medquad", doc_id, title, candidate_text(self.rng.choice(sib_ss[:3])), 0)
            for c in self.store_negatives(title, set(siblings) | {doc_id}, 2):
                self.add("medquad", doc_id, title, c, 0)

    def pubmedqa(self) -> None:
        abstracts = {}
        for line in (self.shared / "corpus/pubmedqa/pqal_abstracts.jsonl").read_text().split("\n"):
            if line.strip():
                r = json.loads(line)
                abstracts[str(r["pmid"])] = r
        qs = [json.loads(x) for x in (self.shared / "eval/pubmedqa_dev.jsonl").read_text().split("\n") if x.strip()]
        pmids = list(abstracts)
        for q in qs:
            pmid = str(q["pmid"])
            if self.is_excluded(f"pmid:{pmid}"):
                continue
            pos = sentences_of(q.get("long_answer", ""))
            for s in pos[:2]:
                self.add("pubmedqa", pmid, q["question"], candidate_text(s), 1)
            a = abstracts.get(pmid)
            if a:
                other = [(sec.get("label") or "", s) for sec in a.get("abstract_sections", [])
                         if (sec.get("label") or "").upper() in ("BACKGROUND", "OBJECTIVE", "METHODS", "OBJECTIVES",
                                                                  "PURPOSE", "INTRODUCTION", "DESIGN")
                         for s in sentences_of(sec.get("text", ""))]
                for label, s in self.rng.sample(other, min(2, len(other))):
                    self.add("pubmedqa", pmid, q["question"], candidate_text(s), 0)
            b = abstracts.get(self.rng.choice(pmids))
            if b and str(b["pmid"]) != pmid:
                res = [(sec.get("label") or "", s) for sec in b.get("abstract_sections", [])
                       for s in sentences_of(sec.get("text", ""))]
                if res:
                    label, s = self.rng.choice(res)
                    self.add("pubmedqa", pmid, q["question"], candidate_text(s), 0)

    def own_dev(self) -> None:
        path = self.project / "eval/answers_dev.jsonl"
        for line in path.read_text().split("\n"):
            if not line.strip():
                continue
            q = json.loads(line)
            gold = set(q["gold_doc_ids"])
            alts = [a.lower() for f in q["key_facts"] for a in f]
            for doc_id in gold:
                rows = self.conn.execute("SELECT p.title, p.heading, p.text FROM passages p WHERE p.doc_id = ?",
                                         (doc_id,)).fetchall()
                pos, neg = [], []
                for title, heading, text in rows:
                    if doc_id.startswith("medquad:"):
                        title = heading = ""
                    for s in sentences_of(text):
                        (pos if any(a in s.lower() for a in alts) else neg).append(candidate_text(s, heading, title))
                for c in list(dict.fromkeys(pos))[:4]:
                    self.add("dev", q["qid"], q["question"], c, 1, weight=3)
                for c in self.rng.sample(neg, min(2, len(neg))):
                    self.add("dev", q["qid"], q["question"], c, 0, weight=3)
            for c in self.store_negatives(q["question"], gold, 6 if not gold else 3):
                self.add("dev", q["qid"], q["question"], c, 0, weight=3)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=Path("medcite.db"))
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--project", type=Path, default=Path(__file__).resolve().parents[2])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--medquad-docs", type=int, default=2600)
    ap.add_argument("--bioasq-limit", type=int, default=None)
    args = ap.parse_args(argv)
    b = Builder(args.db, args.shared, args.project)
    b.bioasq(args.bioasq_limit)
    print("bioasq", len(b.rows), file=sys.stderr)
    b.pubmedqa()
    print("+pubmedqa", len(b.rows), file=sys.stderr)
    b.own_dev()
    print("+dev", len(b.rows), file=sys.stderr)
    b.medquad(args.medquad_docs)
    print("+medquad", len(b.rows), file=sys.stderr)
    with args.out.open("w") as fh:
        for r in b.rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    stats: dict[str, dict[str, int]] = {}
    for r in b.rows:
        s = stats.setdefault(f"{r['source']}/{r['split']}", {"pos": 0, "neg": 0})
        s["pos" if r["label"] else "neg"] += 1
    print(json.dumps(stats, indent=1), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
