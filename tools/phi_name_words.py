"""Census names that are also everyday or clinical words, for the PHI guard (src/medcite/llm/phi_name_words.txt).

The PHI guard reads first names and surnames from the ``names`` package (US census lists). Many of them are also
words ("will", "may", "brown", "white", "page", "dose"): a match on those alone would block clean questions. This
script counts, in a store built from a medical corpus, how often each census name is written in lower case and how
often capitalised in the middle of a sentence; a name written in lower case at least as often as capitalised
(and at least ``--min-lower`` times) is a word, and goes into the list. Words with apostrophes and names shorter
than 3 letters are left to the guard's own rules.

    .venv/bin/python tools/phi_name_words.py --db medcite.db [--sample 4]
"""

from __future__ import annotations

import argparse
import re
import sqlite3
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "src/medcite/llm/phi_name_words.txt"
_TOKEN = re.compile(r"(?<=([.!?:;\"(]\s|..))\b([A-Za-z][a-z]+)\b")


def census_names() -> set[str]:
    import names  # the census lists ship as data files in the package folder

    root = Path(names.__file__).parent
    out: set[str] = set()
    for f in ("dist.male.first", "dist.female.first", "dist.all.last"):
        for line in (root / f).read_text(encoding="ascii").splitlines():
            if line.strip():
                out.add(line.split()[0].lower())
    return {n for n in out if len(n) >= 3 and n.isalpha()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=str(REPO / "medcite.db"))
    ap.add_argument("--sample", type=int, default=1, help="read every Nth passage")
    ap.add_argument("--min-lower", type=int, default=3)
    args = ap.parse_args()
    lexicon = census_names()
    lower: Counter[str] = Counter()
    cap: Counter[str] = Counter()
    conn = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    rows = conn.execute("SELECT text FROM passages WHERE rowid % ? = 0", (args.sample,))
    word = re.compile(r"(?<![\w'’-])([A-Za-z][a-z]+)(?![\w'’-])")
    sentence_start = re.compile(r"(?:^|[.!?:;]\s+|\n\s*)$")
    for (text,) in rows:
        for m in word.finditer(text):
            w = m.group(1)
            lw = w.lower()
            if lw not in lexicon:
                continue
            if w[0].islower():
                lower[lw] += 1
            elif not sentence_start.search(text[max(0, m.start() - 3):m.start()]):
                cap[lw] += 1
    words = sorted(n for n in lexicon if lower[n] >= args.min_lower and lower[n] >= cap[n])
    OUT.write_text("# census names that are words (tools/phi_name_words.py); one a line\n" + "\n".join(words) + "\n",
                   encoding="utf-8")
    print(f"{len(lexicon)} census names, {len(words)} are words -> {OUT}")


if __name__ == "__main__":
    main()
