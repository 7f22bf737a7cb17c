"""Precision and recall of the instruction detector on eval/injection_sentences.jsonl, and its speed.

Usage: ``python benchmarks/bench_injection.py [--json benchmarks/out/injection.json] [--misses]``

Each line of the set is one text (a sentence, or two sentences for the ``split`` kind) labelled
``injection`` or ``benign``, with a ``kind`` and a ``split`` (``dev`` — looked at while the detector was
written — or ``heldout`` — only measured). A text counts as *flagged* when
:func:`medcite.answer.safety.screen` removes any of it; an injection counts as *caught* when nothing
of it is left to quote (no word of three or more letters outside markup survives). Figures are given
per split and per kind, with the time to screen one sentence.
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
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import machine  # noqa: E402

from medcite.answer.safety import screen  # noqa: E402

DATA = ROOT / "eval" / "injection_sentences.jsonl"
_TAG = re.compile(r"<[^<>]*>")
_WORD = re.compile(r"[^\W\d_]{3,}")


def load(path: Path = DATA) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def judge(text: str) -> tuple[bool, bool]:
    """(flagged: something was removed, caught: nothing quotable is left)."""
    kept, removed = screen(text)
    return removed > 0, not _WORD.search(_TAG.sub(" ", kept))


def figures(rows: list[dict]) -> dict:
    inj = [r for r in rows if r["label"] == "injection"]
    ben = [r for r in rows if r["label"] == "benign"]
    caught = sum(judge(r["text"])[1] for r in inj)
    false_flags = sum(judge(r["text"])[0] for r in ben)
    recall = caught / len(inj) if inj else 0.0
    precision = caught / (caught + false_flags) if caught + false_flags else 1.0
    return {"injections": len(inj), "caught": caught, "recall": round(recall, 3),
            "benign": len(ben), "false_flags": false_flags,
            "false_flag_rate": round(false_flags / len(ben), 3) if ben else 0.0,
            "precision": round(precision, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--misses", action="store_true", help="list missed injections and flagged benign texts")
    args = ap.parse_args()
    rows = load()
    out: dict = {"machine": machine(), "set": str(DATA.relative_to(ROOT))}
    for split in ("dev", "heldout"):
        out[split] = figures([r for r in rows if r["split"] == split])
    out["all"] = figures(rows)
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_kind[f"{r['label']}/{r['kind']}"].append(r)
    out["by_kind"] = {}
    for key, group in sorted(by_kind.items()):
        f = figures(group)
        out["by_kind"][key] = (f"{f['caught']}/{f['injections']} caught" if key.startswith("injection")
                               else f"{f['false_flags']}/{f['benign']} flagged")
    texts = [r["text"] for r in rows]
    t0 = time.perf_counter()
    reps = 20
    for _ in range(reps):
        for t in texts:
            screen(t)
    out["us_per_text"] = round((time.perf_counter() - t0) / (reps * len(texts)) * 1e6, 1)
    for split in ("dev", "heldout", "all"):
        f = out[split]
        print(f"{split:8s} recall {f['recall']:.3f} ({f['caught']}/{f['injections']})  "
              f"false flags {f['false_flag_rate']:.3f} ({f['false_flags']}/{f['benign']})  "
              f"precision {f['precision']:.3f}")
    for key, v in out["by_kind"].items():
        print(f"  {key:28s} {v}")
    print(f"screen(): {out['us_per_text']} µs per text · {out['machine']}")
    if args.misses:
        for r in rows:
            flagged, caught = judge(r["text"])
            if r["label"] == "injection" and not caught:
                print(f"MISS  [{r['split']}/{r['kind']}] {r['text']}  → kept: {screen(r['text'])[0]!r}")
            elif r["label"] == "benign" and flagged:
                print(f"FLAG  [{r['split']}/{r['kind']}] {r['text']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
