"""Rebuild clean_dev.txt and clean_heldout.txt: clinical questions with no identifier.

Sources: the shared evaluation sets (BioASQ, PubMedQA, K-QA questions), MedQuAD questions from the shared
corpus, medcite's own answer question sets (eval/answers_*.jsonl) and ``clean_extra.txt`` (hand-written questions
with eponyms, drug names, doses, fractions, scores and population ages). A fixed-seed sample; each question goes
to dev or held-out by a hash of its text, so re-running gives the same files.

    .venv/bin/python eval/phi/make_clean.py [--shared /work/shared]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def _jsonl(path: Path, key: str) -> list[str]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                out.append(str(json.loads(line)[key]))
    return out


def _medquad(root: Path, limit: int, rng: random.Random) -> list[str]:
    files = sorted(root.glob("*/*.xml"))
    rng.shuffle(files)
    out: list[str] = []
    for f in files:
        for m in re.finditer(r"<Question[^>]*>(.*?)</Question>", f.read_text(encoding="utf-8", errors="replace"), re.S):
            out.append(" ".join(m.group(1).split()))
            break
        if len(out) >= limit:
            break
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(REPO.parent / "shared"))
    args = ap.parse_args()
    shared = Path(args.shared)
    rng = random.Random(13)
    sets: list[tuple[str, list[str], int]] = [
        ("bioasq", _jsonl(shared / "eval/bioasq_dev.jsonl", "question"), 220),
        ("pubmedqa", _jsonl(shared / "eval/pubmedqa_dev.jsonl", "question"), 200),
        ("kqa", _jsonl(shared / "eval/kqa_dev.jsonl", "Question"), 108),
        ("medquad", _medquad(shared / "corpus/medquad", 150, rng), 150),
    ]
    answers = [q for p in sorted((REPO / "eval").glob("answers_*.jsonl")) for q in _jsonl(p, "question")]
    sets.append(("answers", answers, len(answers)))
    extra = [ln.strip() for ln in (HERE / "clean_extra.txt").read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.startswith("#")]
    sets.append(("extra", extra, len(extra)))
    dev: list[str] = []
    held: list[str] = []
    seen: set[str] = set()
    for source, questions, n in sets:
        qs = [" ".join(q.split()) for q in questions if q.strip()]
        picked = qs if n >= len(qs) else rng.sample(qs, n)
        for q in picked:
            if q in seen:
                continue
            seen.add(q)
            h = int(hashlib.sha1(q.encode()).hexdigest(), 16)
            (dev if h % 2 == 0 else held).append(f"{source}\t{q}")
    header = "# clean clinical questions (source<TAB>question); built by make_clean.py\n"
    (HERE / "clean_dev.txt").write_text(header + "\n".join(dev) + "\n", encoding="utf-8")
    (HERE / "clean_heldout.txt").write_text(header + "\n".join(held) + "\n", encoding="utf-8")
    print(f"dev {len(dev)}, held-out {len(held)}")


if __name__ == "__main__":
    main()
