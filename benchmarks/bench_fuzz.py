"""Fuzz ingest with hostile files made from real samples of every format (issue 13, item 8).

    python benchmarks/bench_fuzz.py [--out benchmarks/out/fuzz.json] [--limit N] [--seed 13]

Each mutated file is ingested by ``medcite ingest --no-embed --json`` in its own process, in a folder where a
good JSON-lines file sorts before it and another after it. Recorded per run: a traceback anywhere in the
output (must never happen), wall time (none may pass 60 s), the child's peak RSS from ``wait4`` (its parse
worker included; must stay under 1 GB) and whether both good files were stored (always).

Mutations: the property tests' random truncations, byte flips, inserted XML fragments and dropped closing tags
(tests/fuzzing.py), plus truncation in half, 32 flipped bytes, a 40 MiB line, nesting 100,000 deep, billion
laughs, gzip bombs (3 GiB of one byte behind a valid head), UTF-16 and EBCDIC re-encodings, binary junk, empty
and blank files, and corrupt gzip streams; a third of the files are also tried gzip-compressed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, ROOT, SHARED, machine  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
from fuzzing import mutate  # noqa: E402

MiB = 1024 * 1024
GOOD = ("fuzz:good-a", "fuzz:good-z")
TIME_LIMIT_S = 60.0
KILL_AFTER_S = 180.0


# --- samples --------------------------------------------------------------------------------------


def _pubmed_sample(path: Path, max_bytes: int = 60_000) -> bytes:
    """The head of a real PubMed file, cut after the last whole record before ``max_bytes``."""
    data = gzip.decompress(path.read_bytes())
    cut = data.rfind(b"</PubmedArticle>", 0, max_bytes) + len(b"</PubmedArticle>")
    return data[:cut] + b"\n</PubmedArticleSet>\n"


def _lines(path: Path, n: int) -> bytes:
    with path.open("rb") as fh:
        return b"".join(fh.readline() for _ in range(n))


def samples() -> list[tuple[str, str, str, bytes]]:
    """(format, sub-folder, file name, bytes): real files from the shared corpus, or the test fixtures."""
    corpus = SHARED / "corpus"
    fix = ROOT / "tests" / "fixtures"
    if not corpus.is_dir():
        raise SystemExit(f"shared corpus not found at {corpus} (set MEDCITE_SHARED_DIR)")
    medquad = sorted((corpus / "medquad" / "1_CancerGov_QA").glob("*.xml"))[0]
    return [
        ("pubmed", "", "pubmed26n1334.xml", _pubmed_sample(corpus / "pubmed" / "baseline" / "pubmed26n1334.xml.gz")),
        ("jats", "", "pone.0000217.nxml", (corpus / "pmc" / "pone.0000217.nxml").read_bytes()),
        ("medquad", "1_CancerGov_QA", medquad.name, medquad.read_bytes()),
        ("ngc", "", "ngc-10412.xml", (corpus / "ngc" / "ngc-10412.xml").read_bytes()),
        ("spl", "", "METHOXSALEN.xml", (corpus / "spl" / "METHOXSALEN.xml").read_bytes()),
        ("jsonl-rct", "", "pmc_rct.jsonl", _lines(corpus / "rct" / "pmc_rct_ccby.jsonl", 4)),
        ("jsonl-pubmedqa", "", "pqal.jsonl", _lines(corpus / "pubmedqa" / "pqal_abstracts.jsonl", 20)),
        ("json-array", "", "array.json", (fix / "jsonl" / "array.json").read_bytes()),
    ]


# --- mutations --------------------------------------------------------------------------------------


def _is_xml(data: bytes) -> bool:
    return data.lstrip().startswith(b"<")


def _inside(data: bytes, payload: bytes) -> bytes:
    """``payload`` placed inside the document: before the last closing tag (XML) or as a new record (JSON)."""
    if _is_xml(data):
        at = data.rindex(b"</")
        return data[:at] + payload + data[at:]
    return data + payload


def _huge_line(data: bytes) -> bytes:
    if _is_xml(data):
        return _inside(data, b"<a>" + b"x" * (40 * MiB) + b"</a>")
    return data + b'{"id": "x:1", "kind": "other", "sections": ["' + b"a" * (40 * MiB) + b'"]}\n'


def _deep(data: bytes) -> bytes:
    n = 100_000
    if _is_xml(data):
        return _inside(data, b"<a>" * n + b"</a>" * n)
    return data + b'{"id": "x:1", "kind": "other", "sections": ["t"], "metadata": ' + b"[" * n + b"]" * n + b"}\n"


_LAUGHS = b"".join(
    b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10 if i else b"lol") for i in range(10)
)


def _billion_laughs(data: bytes) -> bytes:
    if not _is_xml(data):
        return data + b'{"id": "x:lol", "kind": "other", "sections": ["&lol9;"], "title": "' + b"&lol9;" * 1000 + b'"}\n'
    body = data.split(b"?>", 1)[1] if data.startswith(b"<?xml") else data
    lines = body.lstrip().split(b"\n")
    body = b"\n".join(ln for ln in lines if not ln.lstrip().startswith(b"<!DOCTYPE"))
    root = body.lstrip()[1:].split(b">", 1)[0].split()[0]
    return (b'<?xml version="1.0"?>\n<!DOCTYPE ' + root + b" [" + _LAUGHS + b"]>\n"
            + _inside(body.lstrip(), b"<lol>&lol9;</lol>"))


def gz_bomb(head: bytes, fill: bytes, gib: int = 3) -> bytes:
    """``head`` then ``gib`` GiB of ``fill``, as gzip: one compressed MiB repeated (about 1 KB per MiB)."""
    member = gzip.compress(fill * MiB, compresslevel=9)
    return gzip.compress(head) + member * (gib * 1024) + gzip.compress(b"\n")


def _head(data: bytes) -> bytes:
    """The sample up to just inside its first record (the bomb's filler lands inside a document)."""
    if _is_xml(data):
        for tag in (b"<AbstractText", b"<p>", b"<Answer>", b"<Field", b"<text>", b"<title"):
            at = data.find(tag)
            if at >= 0:
                return data[: data.index(b">", at) + 1]
        return data[:200]
    return b'{"id": "x:bomb", "kind": "other", "sections": ["'


def mutated_files(seed: int) -> list[dict]:
    """Every hostile file: name, sub-folder, bytes, and what was done to which sample."""
    rng = random.Random(seed)
    out: list[dict] = []

    def add(fmt: str, sub: str, name: str, kind: str, data: bytes, gz: bool = False) -> None:
        if gz:
            data, name = gzip.compress(data, compresslevel=1), name + ".gz"
        out.append({"format": fmt, "sub": sub, "name": f"m_{len(out):03d}_{name}", "kind": kind + (" (gz)" if gz else ""),
                    "data": data})

    for fmt, sub, name, data in samples():
        for i in range(10):  # the property tests' mutations, seeded
            bad, ops = mutate(data, rng)
            add(fmt, sub, name, "random: " + "+".join(ops), bad, gz=i % 3 == 0)
        add(fmt, sub, name, "truncated in half", data[: len(data) // 2])
        add(fmt, sub, name, "truncated in half", data[: len(data) // 2], gz=True)
        flipped = bytearray(data)
        for _ in range(32):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        add(fmt, sub, name, "32 bit flips", bytes(flipped))
        add(fmt, sub, name, "40 MiB line", _huge_line(data), gz=True)
        add(fmt, sub, name, "nested 100,000 deep", _deep(data))
        add(fmt, sub, name, "billion laughs", _billion_laughs(data))
        add(fmt, sub, name + ".gz", "gzip bomb: 3 GiB of spaces", gz_bomb(_head(data), b" "))
        add(fmt, sub, name + ".gz", "gzip bomb: 3 GiB of one letter", gz_bomb(_head(data), b"a"))
        add(fmt, sub, name + ".gz", "gzip bomb: 3 GiB of newlines", gz_bomb(_head(data), b"\n"))
        add(fmt, sub, name, "UTF-16", data.decode("utf-8", "replace").encode("utf-16"))
        add(fmt, sub, name, "EBCDIC (cp500)", data.decode("utf-8", "replace").encode("cp500", "replace"))
        add(fmt, sub, name, "binary junk", rng.randbytes(64 * 1024))
        add(fmt, sub, name, "valid head, binary tail", data[:300] + rng.randbytes(32 * 1024))
        add(fmt, sub, name, "empty", b"")
        add(fmt, sub, name, "blank lines only", b"\n \n\t\n" * 100)
        gz = bytearray(gzip.compress(data))
        add(fmt, sub, name + ".gz", "corrupt gzip: truncated", bytes(gz[: len(gz) // 2]))
        gz[len(gz) // 2] ^= 0xFF
        add(fmt, sub, name + ".gz", "corrupt gzip: flipped byte", bytes(gz))
    return out


# --- one run -----------------------------------------------------------------------------------------


def _good(doc_id: str) -> bytes:
    text = "Aspirin reduces the risk of stroke in adults with atrial fibrillation."
    return json.dumps({"id": doc_id, "kind": "other", "title": doc_id, "sections": [text]}).encode() + b"\n"


# Runs the ingest and writes its peak RSS (KB; its parse worker included) to argv[1]. A process forked from
# this benchmark would report at least the benchmark's own peak (Linux carries ru_maxrss across exec), so
# the ingest is started from this small shim instead.
_SHIM = ("import os, subprocess, sys\n"
         "p = subprocess.Popen(sys.argv[2:])\n"
         "_, status, usage = os.wait4(p.pid, 0)\n"
         "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
         "sys.exit(os.waitstatus_to_exitcode(status))\n")


def run_one(case: dict, work: Path) -> dict:
    if work.exists():
        shutil.rmtree(work)
    folder = work / "corpus"
    target = folder / case["sub"] if case["sub"] else folder
    target.mkdir(parents=True)
    (folder / "a_good.jsonl").write_bytes(_good(GOOD[0]))
    (target / case["name"]).write_bytes(case["data"])
    (folder / "z_good.jsonl").write_bytes(_good(GOOD[1]))
    db = work / "fuzz.db"
    env = dict(os.environ, MEDCITE_PROGRESS="false", MEDCITE_EMBEDDER="none")
    stdout, stderr, rss = work / "stdout", work / "stderr", work / "rss"
    started = time.perf_counter()
    command = [sys.executable, "-m", "medcite", "--db", str(db), "ingest", "--no-embed", "--json", str(folder)]
    with stdout.open("wb") as so, stderr.open("wb") as se:
        proc = subprocess.Popen([sys.executable, "-c", _SHIM, str(rss), *command], stdout=so, stderr=se, env=env,
                                start_new_session=True)
        try:
            proc.wait(timeout=KILL_AFTER_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
    seconds = time.perf_counter() - started
    rss_kb = int(rss.read_text()) if rss.exists() else 0
    text = stdout.read_text(errors="replace") + stderr.read_text(errors="replace")
    stored: set[str] = set()
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        stored = {r[0] for r in conn.execute("SELECT doc_id FROM documents")}
        conn.close()
    except sqlite3.Error:
        pass
    errors = [ln for ln in stderr.read_text(errors="replace").splitlines() if ln.startswith("✗")]
    return {
        "format": case["format"], "kind": case["kind"], "file": case["name"], "bytes": len(case["data"]),
        "exit": proc.returncode, "seconds": round(seconds, 2), "rss_mb": round(rss_kb / 1024, 1),
        "traceback": "Traceback (most recent call last)" in text,
        "good_stored": all(g in stored for g in GOOD),
        "first_error": errors[0][2:][:300] if errors else "",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT / "fuzz.json")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--limit", type=int, default=0, help="run only the first N files (a quick look)")
    ap.add_argument("--only", default="", help="run only mutations whose name contains this text")
    args = ap.parse_args()
    cases = [c for c in mutated_files(args.seed) if args.only in c["kind"]]
    if args.limit:
        cases = cases[: args.limit]
    results = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="medcite-fuzz-") as tmp:
        for i, case in enumerate(cases, 1):
            r = run_one(case, Path(tmp) / "run")
            results.append(r)
            flag = " TRACEBACK" if r["traceback"] else ""
            flag += " SLOW" if r["seconds"] > TIME_LIMIT_S else ""
            flag += " GOOD-FILES-LOST" if not r["good_stored"] else ""
            print(f"[{i}/{len(cases)}] {r['format']:<14} {r['kind'][:40]:<40} exit {r['exit']} "
                  f"{r['seconds']:6.1f} s {r['rss_mb']:7.1f} MB{flag}", flush=True)
    rss = [r["rss_mb"] for r in results]
    secs = [r["seconds"] for r in results]
    summary = {
        "files": len(results),
        "formats": sorted({r["format"] for r in results}),
        "tracebacks": sum(r["traceback"] for r in results),
        "over_60_s": sum(s > TIME_LIMIT_S for s in secs),
        "rss_mb": {"median": round(statistics.median(rss), 1), "max": max(rss)},
        "rss_over_1_gb": sum(x >= 1024 for x in rss),
        "seconds": {"median": round(statistics.median(secs), 2), "max": max(secs)},
        "good_files_stored_always": all(r["good_stored"] for r in results),
        "exit_codes": {str(c): sum(r["exit"] == c for r in results) for c in sorted({r["exit"] for r in results})},
        "bad_file_refused": sum(bool(r["first_error"]) for r in results),
        "total_seconds": round(time.perf_counter() - started, 1),
        "machine": machine(),
        "seed": args.seed,
    }
    slowest = max(results, key=lambda r: r["seconds"])
    largest = max(results, key=lambda r: r["rss_mb"])
    summary["slowest"] = {k: slowest[k] for k in ("format", "kind", "seconds")}
    summary["largest_rss"] = {k: largest[k] for k in ("format", "kind", "rss_mb")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "runs": results}, indent=1))
    print(json.dumps(summary, indent=1))
    if summary["tracebacks"] or summary["over_60_s"] or summary["rss_over_1_gb"] or not summary["good_files_stored_always"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
