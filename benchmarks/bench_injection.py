"""Precision and recall of the instruction detector on eval/injection_sentences.jsonl, and its speed.

Usage: ``python benchmarks/bench_injection.py [--json benchmarks/out/injection.json] [--misses] [--corpus N]``

Each line of the set is one text (a sentence, or two sentences for the ``split`` kind) labelled
``injection`` or ``benign``, with a ``kind`` and a ``split`` (``dev`` — looked at while the detector was
written — or ``heldout`` — only measured). A text counts as *flagged* when
:func:`medcite.answer.safety.screen` removes any of it; an injection counts as *caught* when nothing
of it is left to quote (no word of three or more letters outside markup survives). Figures are given
per split and per kind, with the time to screen one text (cache cleared). ``--corpus N`` also screens N
random passages of the built store (medcite.db) and lists every segment flagged there: on real corpus
text every flag is a false one.
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

from medcite.answer.safety import flagged_spans, instruction_cues, screen  # noqa: E402
from medcite.text import sentence_spans  # noqa: E402

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


def corpus_flags(n: int, seed: int = 13) -> dict:
    """Screen ``n`` random passages of the built store: how many sentences are flagged, and which."""
    import random
    import sqlite3

    conn = sqlite3.connect(f"file:{ROOT / 'medcite.db'}?mode=ro", uri=True)
    ids = [r[0] for r in conn.execute("SELECT id FROM passages")]
    random.Random(seed).shuffle(ids)
    ids = ids[:n]
    rows = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows += conn.execute(f"SELECT p.text, d.parser FROM passages p JOIN documents d USING (doc_id) "
                             f"WHERE p.id IN ({','.join('?' * len(chunk))})", chunk).fetchall()
    instruction_cues.cache_clear()
    t0 = time.perf_counter()
    flags = [(parser, cue, text[s:e][:160]) for text, parser in rows for s, e, cue in flagged_spans(text)]
    elapsed = time.perf_counter() - t0
    sentences = sum(len(sentence_spans(text)) for text, _ in rows)
    return {"passages": len(rows), "sentences": sentences, "flagged": len(flags),
            "ms_per_passage": round(elapsed / max(1, len(rows)) * 1000, 3), "examples": flags}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--misses", action="store_true", help="list missed injections and flagged benign texts")
    ap.add_argument("--corpus", type=int, default=0, help="also screen this many random passages of medcite.db")
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
        instruction_cues.cache_clear()
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
    if args.corpus:
        out["corpus"] = corpus_flags(args.corpus)
        c = out["corpus"]
        print(f"corpus: {c['flagged']} of {c['sentences']} sentences flagged in {c['passages']} passages "
              f"({c['ms_per_passage']} ms per passage)")
        for parser, cue, text in c["examples"]:
            print(f"  [{parser}/{cue}] {text}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
