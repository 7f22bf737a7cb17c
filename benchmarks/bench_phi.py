"""PHI guard on the labelled set in eval/phi/: recall per Safe Harbor class and false blocks on clean questions.

    .venv/bin/python benchmarks/bench_phi.py [--split dev|heldout|fresh|both] [--show-misses] [--json]

An item is *caught* when every character of every marked identifier lies inside a redacted span (so redact mode
sends none of it and refuse mode blocks it); a clean question is *falsely blocked* when anything is found in it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT / "eval" / "phi"
sys.path.insert(0, str(ROOT / "src"))

from medcite.llm.phi import SAFE_HARBOR, find_phi  # noqa: E402

_MARK = re.compile(r"\[\[(\w+):(.+?)\]\](?!\])")


def load_phi(path: Path) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """(text, [(class, start, end)]) per item."""
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, marks, pos = "", [], 0
        for m in _MARK.finditer(line):
            text += line[pos:m.start()]
            start = len(text)
            text += m.group(2)
            marks.append((m.group(1), start, len(text)))
            pos = m.end()
        text += line[pos:]
        items.append((text, marks))
    return items


def load_clean(path: Path) -> list[tuple[str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            source, _, q = line.partition("\t")
            out.append((source, q))
    return out


def covered(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return all(not text[i].isalnum() or any(s <= i < e for s, e in spans) for i in range(start, end))


def run(split: str, show: bool) -> dict:
    phi = load_phi(EVAL / f"phi_{split}.txt")
    clean = load_clean(EVAL / f"clean_{split}.txt")
    per_class: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    items_caught = 0
    find_phi("Is Jane Doe from Dayton?")  # the word lists and vocabularies load once a process, untimed
    t0 = time.perf_counter()
    for text, marks in phi:
        spans = [(m.start, m.end) for m in find_phi(text)]
        ok_all = True
        for cls, s, e in marks:
            ok = covered(text, s, e, spans)
            per_class[cls][0] += ok
            per_class[cls][1] += 1
            ok_all &= ok
            if not ok and show:
                print(f"  MISS {cls:12} {text[s:e]!r:30} in {text!r}")
        items_caught += ok_all
    blocked: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for source, q in clean:
        found = find_phi(q)
        blocked[source][0] += bool(found)
        blocked[source][1] += 1
        if found and show:
            print(f"  FALSE {source:8} {[(m.kind, m.text) for m in found]} in {q!r}")
    elapsed = time.perf_counter() - t0
    n_clean = sum(v[1] for v in blocked.values())
    return {
        "split": split, "phi_items": len(phi), "recall": round(items_caught / len(phi), 4),
        "clean_questions": n_clean, "false_blocks": sum(v[0] for v in blocked.values()),
        "false_block_rate": round(sum(v[0] for v in blocked.values()) / n_clean, 4),
        "per_class": {c: {"caught": v[0], "of": v[1], "recall": round(v[0] / v[1], 3)}
                      for c, v in sorted(per_class.items())},
        "false_blocks_by_source": {s: {"blocked": v[0], "of": v[1]} for s, v in sorted(blocked.items())},
        "ms_per_question": round(1000 * elapsed / (len(phi) + n_clean), 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=["dev", "heldout", "fresh", "both"], default="both")
    ap.add_argument("--show-misses", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results = [run(s, args.show_misses) for s in (["dev", "heldout"] if args.split == "both" else [args.split])]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        print(f"\n== {r['split']}: {r['phi_items']} PHI items, recall {r['recall']:.3f}; "
              f"{r['clean_questions']} clean questions, {r['false_blocks']} blocked "
              f"({100 * r['false_block_rate']:.1f}%); {r['ms_per_question']} ms a question")
        print(f"  {'class':12} {'caught':>7} {'recall':>7}")
        for c in SAFE_HARBOR:
            v = r["per_class"].get(c)
            caught = "n/a" if v is None else f"{v['caught']}/{v['of']}"
            recall = "" if v is None else f"{v['recall']:.3f}"
            print(f"  {c:12} {caught:>7} {recall:>7}")
        print("  false blocks by source: " + ", ".join(f"{s} {v['blocked']}/{v['of']}"
                                                       for s, v in r["false_blocks_by_source"].items()))


if __name__ == "__main__":
    main()
