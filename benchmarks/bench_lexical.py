"""Lexical search latency on a real store and on a generated 1,000,000-passage store.

    python benchmarks/bench_lexical.py --source-db medcite.db [--n 1000000] [--scale-db PATH] [--queries 300]
        [--engines fts5,tantivy] [--k 100]

The scale store is generated from the source store's real passages: each synthetic passage joins
sentences drawn at random from real passages (so term statistics stay medical), under synthetic
document ids. Queries are BioASQ dev questions. Reports p50/p95 in milliseconds (warm cache).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
import time
from pathlib import Path

from _common import OUT, bioasq_questions, machine, percentiles

from medcite.index.lexical import Fts5Index
from medcite.store.sqlite import Store

_SENT = re.compile(r"(?<=[.!?])\s+")


def build_scale_store(source: Path, target: Path, n: int, seed: int = 13) -> None:
    src = sqlite3.connect(str(source))
    texts = [r[0] for r in src.execute("SELECT text FROM passages")]
    titles = [r[0] for r in src.execute("SELECT title FROM documents")]
    src.close()
    sentences = [s for t in texts for s in _SENT.split(t) if len(s) > 20]
    rng = random.Random(seed)
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    store = Store(target)
    conn = store.conn
    per_doc = 10
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    for d in range(n // per_doc):
        doc_id = f"syn:{d}"
        title = rng.choice(titles)
        conn.execute(
            "INSERT INTO documents(doc_id, kind, title, parser, origin, content_hash, ingested_at, updated_at) "
            "VALUES (?, 'other', ?, 'synthetic', 'bench', ?, '', '')",
            (doc_id, title, str(d)),
        )
        rows = []
        for p in range(per_doc):
            k = rng.randint(3, 6)
            text = " ".join(rng.choice(sentences) for _ in range(k))
            rows.append((f"{doc_id}#0.{p}", doc_id, 0, "Abstract", 0, len(text), title, text))
        conn.executemany(
            "INSERT INTO passages(passage_id, doc_id, section_ord, heading, start, end, title, text) "
            "VALUES (?,?,?,?,?,?,?,?)",
            rows,
        )
        if d and d % 10000 == 0:
            conn.execute("COMMIT")
            print(f"  {d * per_doc:,} passages, {time.perf_counter() - t0:.0f} s", flush=True)
            conn.execute("BEGIN")
    conn.execute("COMMIT")
    conn.execute("INSERT INTO passages_fts(passages_fts) VALUES ('optimize')")
    store.close()
    print(f"built {n:,} passages in {time.perf_counter() - t0:.0f} s")


def open_index(engine: str, store: Store) -> tuple[object, dict[str, object]]:
    """The engine's index over ``store``; for tantivy, brought up to date first (build time reported)."""
    if engine == "fts5":
        return Fts5Index(store), {}
    from medcite.index.tantivy_index import TantivyIndex

    index = TantivyIndex(store)
    t = time.perf_counter()
    report = index.sync()
    return index, {"sync": report["action"], "sync_s": round(time.perf_counter() - t, 1)}


def time_queries(db: Path, questions: list[str], k: int = 10, engine: str = "fts5") -> dict[str, object]:
    store = Store(db)
    index, extra = open_index(engine, store)
    for q in questions[:20]:  # warm the page cache
        index.search_ids(q, k)
    times = []
    for q in questions:
        t = time.perf_counter()
        index.search_ids(q, k)
        times.append((time.perf_counter() - t) * 1000)
    n = store.passage_count()
    store.close()
    return {"passages": n, "engine": engine, "k": k, **extra, **percentiles(times)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-db", type=Path, default=Path("medcite.db"))
    ap.add_argument("--scale-db", type=Path, default=OUT / "scale-1m.db")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--engines", default="fts5", help="comma-separated: fts5, tantivy")
    ap.add_argument("--k", type=int, default=100, help="results per query (retrieval asks for 100)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    questions = bioasq_questions(args.queries)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    result: dict[str, object] = {"machine": machine(), "queries": len(questions)}
    for engine in engines:
        result[f"shared_corpus/{engine}"] = time_queries(args.source_db, questions, args.k, engine)
    if args.rebuild or not args.scale_db.exists():
        build_scale_store(args.source_db, args.scale_db, args.n)
    for engine in engines:
        result[f"scale/{engine}"] = time_queries(args.scale_db, questions, args.k, engine)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
