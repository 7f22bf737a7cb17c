"""A 10,000,000-passage index on one machine: build time, RAM, disk per million, lexical and hybrid latency.

    nice -n 19 python benchmarks/bench_scale.py --source-db medcite.db --n 10000000 --dir /work/bench10m/10m
    python benchmarks/bench_scale.py --dir /work/bench10m/10m --phase serve [--no-mmap]

Phases (each runs in its own process so its peak RSS is its own; each writes ``<dir>/phase-<name>.json``
and a re-run skips the phases already done, so an interrupted build resumes):

* ``store``: a generated store of N passages (10 per document) joining 3–6 sentences drawn at random from the
  source store's real passages, as ``bench_lexical.py`` does, so term statistics stay medical. The FTS5 mirror
  is not filled (its triggers are dropped for the run): tantivy is the lexical engine, and FTS5 alone took
  most of the 1M generator's 347 s. Committed every 100,000 passages; a re-run continues where it stopped.
* ``lexical``: tantivy's full build from the store (``TantivyIndex.sync``), then the bare engine's
  p50/p95 (``search_ids``, k = 100) over BioASQ dev questions.
* ``vectors``: SYNTHETIC passage vectors (clustered unit vectors, as ``bench_vector.py``; one per passage row
  id) written straight into medcite's on-disk layout (``<db>.vectors.g1.{ids,f32}.npy`` + the usearch int8
  graph + the manifest) chunk by chunk, never all in memory; the graph is checkpointed every 2M vectors.
  Embedding 10M passages on 2 cores would take ~16 hours, so relevance is meaningless; latency and recall
  of the graph against exact search are what is measured.
* ``serve``: a fresh process opens the store through ``Medcite`` (``vector_mmap`` on unless ``--no-mmap``),
  embeds each question with the bundled ONNX model and runs the retriever in lexical and in hybrid mode;
  reports open time, p50/p95, vector recall@10 against an exact scan, and RSS (anonymous and file-backed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import bioasq_questions, machine, peak_rss_mb, percentiles

PHASES = ("store", "lexical", "vectors", "serve")
_SENT = re.compile(r"(?<=[.!?])\s+")
PER_DOC = 10
COMMIT_DOCS = 10_000  # 100,000 passages a transaction
DIM = 384
CLUSTERS = 2000
CHUNK = 100_000
GRAPH_CHECKPOINT = 2_000_000


def rss() -> dict[str, float]:
    """Current and peak resident set of this process, split into anonymous and file-backed (MB)."""
    out: dict[str, float] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, val = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
            out[key] = round(int(val.split()[0]) / 1024, 1)
    return out


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def disk_mb(paths: list[Path]) -> float:
    total = 0
    for p in paths:
        if p.is_dir():
            total += sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        elif p.exists():
            total += p.stat().st_size
    return round(total / 2**20, 1)


# --- store -----------------------------------------------------------------------------------------


def phase_store(args: argparse.Namespace, db: Path) -> dict:
    from medcite.ingest.chunking import CHUNKER_VERSION
    from medcite.store.sqlite import Store

    src = sqlite3.connect(f"file:{args.source_db}?mode=ro", uri=True)
    texts = [r[0] for r in src.execute("SELECT text FROM passages")]
    titles = [r[0] for r in src.execute("SELECT title FROM documents")]
    src.close()
    sentences = [s for t in texts for s in _SENT.split(t) if len(s) > 20]
    del texts
    store = Store(db)
    conn = store.conn
    for trig in ("passages_ai", "passages_ad", "passages_au"):  # no FTS5 mirror (see the module doc)
        conn.execute(f"DROP TRIGGER IF EXISTS {trig}")
    conn.execute("PRAGMA synchronous=OFF")
    docs = args.n // PER_DOC
    done = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    print(f"store: {done:,} of {docs:,} documents already there; {len(sentences):,} source sentences", flush=True)
    t0 = time.perf_counter()
    if done % COMMIT_DOCS:
        raise SystemExit(f"{db} holds {done} documents, not whole blocks of {COMMIT_DOCS}: remove it and start again")
    store.check_fingerprint("chunker_version", CHUNKER_VERSION, "chunker")
    for start in range(done, docs, COMMIT_DOCS):
        rng = random.Random(f"{args.seed}:{start}")  # per block: a resumed run writes the same text
        conn.execute("BEGIN")
        for d in range(start, min(docs, start + COMMIT_DOCS)):
            doc_id = f"syn:{d}"
            title = rng.choice(titles)
            conn.execute(
                "INSERT INTO documents(doc_id, kind, title, parser, origin, content_hash, ingested_at, updated_at) "
                "VALUES (?, 'other', ?, 'synthetic', 'bench', ?, '', '')", (doc_id, title, str(d)))
            rows = []
            for p in range(PER_DOC):
                text = " ".join(rng.choice(sentences) for _ in range(rng.randint(3, 6)))
                rows.append((f"{doc_id}#0.{p}", doc_id, 0, "Abstract", 0, len(text), title, text))
            conn.executemany("INSERT INTO passages(passage_id, doc_id, section_ord, heading, start, end, title, text) "
                             "VALUES (?,?,?,?,?,?,?,?)", rows)
        conn.execute("COMMIT")
        if (start // COMMIT_DOCS) % 10 == 9:
            print(f"  {(start + COMMIT_DOCS) * PER_DOC:,} passages, {time.perf_counter() - t0:.0f} s, "
                  f"load {loadavg()}", flush=True)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    n, lo, hi = conn.execute("SELECT count(*), min(id), max(id) FROM passages").fetchone()
    store.close()
    if (lo, hi) != (1, n):
        raise SystemExit(f"passage row ids are {lo}..{hi} for {n} rows; the vectors phase needs 1..n")
    return {"passages": n, "build_s": round(time.perf_counter() - t0, 1), "fts5": "not filled",
            "disk_mb": disk_mb([db, Path(str(db) + "-wal")])}


# --- lexical ---------------------------------------------------------------------------------------


def phase_lexical(args: argparse.Namespace, db: Path) -> dict:
    from medcite.index.tantivy_index import TantivyIndex
    from medcite.store.sqlite import Store

    store = Store(db)
    index = TantivyIndex(store)
    t = time.perf_counter()
    report = index.sync()
    build_s = time.perf_counter() - t
    print(f"tantivy {report['action']} in {build_s:.0f} s", flush=True)
    questions = bioasq_questions(args.queries)
    for q in questions[:20]:
        index.search_ids(q, 100)
    times = []
    for q in questions:
        t = time.perf_counter()
        index.search_ids(q, 100)
        times.append((time.perf_counter() - t) * 1000)
    store.close()
    return {"sync": report["action"], "build_s": round(build_s, 1), "disk_mb": disk_mb([index.path]),
            "search_ids_k100_ms": percentiles(times), "queries": len(questions)}


# --- vectors ---------------------------------------------------------------------------------------


def _centres() -> np.ndarray:
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((CLUSTERS, DIM)).astype(np.float32)
    return centres / np.linalg.norm(centres, axis=1, keepdims=True)


def _clustered(m: int, centres: np.ndarray, rng: np.random.Generator, spread: float = 0.35) -> np.ndarray:
    c = centres[rng.integers(0, len(centres), m)]
    x = c + rng.standard_normal((m, DIM), dtype=np.float32) * (spread / np.sqrt(DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def query_vectors(n: int) -> np.ndarray:
    return _clustered(n, _centres(), np.random.default_rng(99))


def phase_vectors(args: argparse.Namespace, db: Path) -> dict:
    from medcite.index import vector as V
    from medcite.index.paths import default_index_path, manifest_path
    from medcite.index.registry import make_embedder
    from medcite.settings import Settings

    embedder = make_embedder(Settings(db=db, progress=False))
    n = args.n  # passage row ids 1..n (checked by the store phase), so this phase may run beside it
    path = default_index_path(db)
    base, stem = path.parent, path.name
    files = {"ids": f"{stem}.g1.ids.npy", "vectors": f"{stem}.g1.f32.npy", "graph": f"{stem}.g1.hnsw"}
    centres = _centres()
    t0 = time.perf_counter()
    timing: dict[str, float] = {}

    # 1. ids and float32 vectors, streamed into .npy files (a marker says they are complete)
    done_marker = base / f".{stem}.g1.vectors-done"
    if not done_marker.exists():
        ids = np.lib.format.open_memmap(base / files["ids"], mode="w+", dtype=np.int64, shape=(n,))
        vecs = np.lib.format.open_memmap(base / files["vectors"], mode="w+", dtype=np.float32, shape=(n, DIM))
        for start in range(0, n, CHUNK):
            m = min(CHUNK, n - start)
            ids[start:start + m] = np.arange(start + 1, start + m + 1, dtype=np.int64)
            vecs[start:start + m] = _clustered(m, centres, np.random.default_rng([7, start]))
        ids.flush(), vecs.flush()
        del ids, vecs
        done_marker.touch()
    timing["vectors_written_s"] = round(time.perf_counter() - t0, 1)
    print(f"float32 vectors written: {timing['vectors_written_s']} s", flush=True)

    # 2. the usearch graph (int8, cosine), checkpointed
    ids = np.load(base / files["ids"], mmap_mode="r")
    vecs = np.load(base / files["vectors"], mmap_mode="r")
    ckpt = base / f".{stem}.g1.hnsw.checkpoint"
    graph = V._new_graph(DIM)
    if ckpt.exists():
        graph.load(str(ckpt))
        print(f"graph checkpoint: {len(graph):,} vectors", flush=True)
    t = time.perf_counter()
    start0 = len(graph)
    for start in range(start0, n, CHUNK):
        m = min(CHUNK, n - start)
        graph.add(np.asarray(ids[start:start + m]).astype(np.uint64), np.ascontiguousarray(vecs[start:start + m]),
                  threads=0)
        added = start + m
        if added % 500_000 == 0 or added == n:
            rate = (added - start0) / (time.perf_counter() - t)
            print(f"  graph: {added:,} vectors, {time.perf_counter() - t:.0f} s ({rate:,.0f}/s), "
                  f"rss {rss()}, load {loadavg()}", flush=True)
        if added % GRAPH_CHECKPOINT == 0 and added < n:
            graph.save(str(ckpt) + ".tmp")
            os.replace(str(ckpt) + ".tmp", ckpt)
    timing["graph_build_s"] = round(time.perf_counter() - t, 1)
    timing["graph_resumed_from"] = start0
    t = time.perf_counter()
    extra = V._write_graph(graph, base, f"{stem}.g1")
    timing["graph_save_s"] = round(time.perf_counter() - t, 1)
    graph_mem_mb = round(graph.memory_usage / 2**20, 1)
    del graph
    sizes = {name: (base / name).stat().st_size for name in files.values()}
    manifest = {"format": V.FORMAT, "version": V.FORMAT_VERSION, "kind": "hnsw", "dim": DIM, "count": n,
                "embedder_id": embedder.id, "generation": 1, "files": files, "sizes": sizes,
                "vector_dtype": "float32", "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "hnsw": extra["hnsw"], "synthetic": True}
    V._atomic_write_bytes(manifest_path(path), json.dumps(manifest, indent=1).encode())
    ckpt.unlink(missing_ok=True)
    return {"vectors": n, "dim": DIM, "synthetic": f"clustered, {CLUSTERS} centres, spread 0.35",
            **timing, "graph_memory_mb": graph_mem_mb,
            "disk_mb": {k: round(v / 2**20, 1) for k, v in sizes.items()}}


def phase_vectors_partial(args: argparse.Namespace, db: Path) -> dict:
    """When the full graph cannot be built in the time there is: serve the last checkpoint (the first C
    vectors) as generation 2 of the index — ids and float32 rows 1..C copied out of generation 1's files,
    the checkpoint as the graph. The store and the lexical index keep all N passages."""
    from medcite.index import vector as V
    from medcite.index.paths import default_index_path, manifest_path
    from medcite.index.registry import make_embedder
    from medcite.settings import Settings

    embedder = make_embedder(Settings(db=db, progress=False))
    path = default_index_path(db)
    base, stem = path.parent, path.name
    ckpt = base / f".{stem}.g1.hnsw.checkpoint"
    graph = V._new_graph(DIM)
    graph.view(str(ckpt))
    c = len(graph)
    del graph
    files = {"ids": f"{stem}.g2.ids.npy", "vectors": f"{stem}.g2.f32.npy", "graph": f"{stem}.g2.hnsw"}
    src_ids = np.load(base / f"{stem}.g1.ids.npy", mmap_mode="r")
    src_vecs = np.load(base / f"{stem}.g1.f32.npy", mmap_mode="r")
    t = time.perf_counter()
    V._atomic_write_array(base / files["ids"], np.arange(c), src_ids)
    V._atomic_write_array(base / files["vectors"], np.arange(c), src_vecs)
    os.replace(ckpt, base / files["graph"])
    sizes = {name: (base / name).stat().st_size for name in files.values()}
    manifest = {"format": V.FORMAT, "version": V.FORMAT_VERSION, "kind": "hnsw", "dim": DIM, "count": c,
                "embedder_id": embedder.id, "generation": 2, "files": files, "sizes": sizes,
                "vector_dtype": "float32", "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "hnsw": {"library": V.USEARCH_PIN, "metric": "cos", "dtype": "i8", **V._DEFAULT_PARAMS},
                "synthetic": True, "partial_of": args.n}
    V._atomic_write_bytes(manifest_path(path), json.dumps(manifest, indent=1).encode())
    return {"vectors": c, "partial_of": args.n, "copy_s": round(time.perf_counter() - t, 1),
            "disk_mb": {k: round(v / 2**20, 1) for k, v in sizes.items()}}


# --- serve -----------------------------------------------------------------------------------------


def exact_top10(vecs: np.ndarray, ids: np.ndarray, queries: np.ndarray, chunk: int = 500_000) -> list[np.ndarray]:
    best_s = np.full((len(queries), 10), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), 10), dtype=np.int64)
    for start in range(0, len(vecs), chunk):
        s = np.asarray(vecs[start:start + chunk]) @ queries.T  # (chunk, q)
        top = np.argpartition(-s, 9, axis=0)[:10].T             # (q, 10)
        cand_s = np.concatenate([best_s, np.take_along_axis(s.T, top, axis=1)], axis=1)
        cand_i = np.concatenate([best_i, np.asarray(ids[start:start + chunk])[top]], axis=1)
        keep = np.argsort(-cand_s, axis=1)[:, :10]
        best_s = np.take_along_axis(cand_s, keep, axis=1)
        best_i = np.take_along_axis(cand_i, keep, axis=1)
    return list(best_i)


def phase_serve(args: argparse.Namespace, db: Path) -> dict:
    from medcite.service import Medcite
    from medcite.settings import Settings

    before = rss()
    t = time.perf_counter()
    svc = Medcite(Settings(db=db, progress=False, vector_mmap=not args.no_mmap))
    retr = svc.retriever()
    open_s = time.perf_counter() - t
    vectors = retr.vectors
    opened = rss()
    questions = bioasq_questions(args.queries)
    t = time.perf_counter()
    for q in questions[:20]:
        retr.search(q, 10, mode="hybrid")
    warm_s = time.perf_counter() - t
    result: dict = {"mmap": not args.no_mmap, "open_s": round(open_s, 2), "warmup_20_s": round(warm_s, 1),
                    "graph_mapped": bool(getattr(vectors, "graph_mapped", False)),
                    "vector_kind": getattr(vectors, "kind", None), "vectors": len(vectors) if vectors else 0,
                    "rss_before_open_mb": before, "rss_after_open_mb": opened}
    for rnd in (1, 2):
        for mode in ("lexical", "hybrid"):
            times, cpu = [], []
            for q in questions:
                t, c = time.perf_counter(), time.process_time()
                retr.search(q, 10, mode=mode)
                times.append((time.perf_counter() - t) * 1000)
                cpu.append((time.process_time() - c) * 1000)
            key = f"{mode}_ms" if rnd == 2 else f"{mode}_ms_first_pass"
            result[key] = percentiles(times)
            result[key.replace("_ms", "_cpu_ms")] = percentiles(cpu)  # CPU of the process: what load cannot inflate
            result[f"load_{key}"] = loadavg()
            print(mode, rnd, percentiles(times), "cpu", percentiles(cpu), rss(), loadavg(), flush=True)
    result["rss_after_queries_mb"] = rss()
    # the vector side alone: recall@10 of the graph search (int8 + float32 rescoring) against an exact scan
    Q = query_vectors(args.recall_queries)
    lat, got = [], []
    vcpu = []
    for q in Q:
        t, c = time.perf_counter(), time.process_time()
        ids, _ = vectors.search(q, 10)
        lat.append((time.perf_counter() - t) * 1000)
        vcpu.append((time.process_time() - c) * 1000)
        got.append(ids)
    result["vector_search_cpu_ms"] = percentiles(vcpu)
    t = time.perf_counter()
    truth = exact_top10(vectors._vecs, vectors._ids, Q)
    result["vector_search_ms"] = percentiles(lat)
    result["vector_recall_at_10"] = round(float(np.mean([len(set(g.tolist()) & set(r.tolist())) / 10
                                                         for g, r in zip(got, truth)])), 4)
    result["recall_queries"] = len(Q)
    result["exact_scan_s"] = round(time.perf_counter() - t, 1)
    return result


# --- driver ----------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source-db", type=Path, default=Path("medcite.db"))
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--dir", type=Path, required=True, help="where the store and indexes go (big: ~3.5 GB per 1M)")
    ap.add_argument("--phase", choices=("all",) + PHASES + ("vectors_partial",), default="all",
                    help="vectors_partial: serve the vectors phase's last graph checkpoint (see phase_vectors_partial)")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--recall-queries", type=int, default=100)
    ap.add_argument("--no-mmap", action="store_true", help="serve with the HNSW graph read into memory")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--redo", action="store_true", help="run the phase even when its JSON exists")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    db = args.dir / "scale.db"
    if args.phase == "all":
        for phase in PHASES:
            if (args.dir / f"phase-{phase}.json").exists():
                print(f"== {phase}: done before, skipped", flush=True)
                continue
            print(f"== {phase}", flush=True)
            cmd = [sys.executable, __file__, *sys.argv[1:], "--phase", phase]
            subprocess.run(cmd, check=True)
        summary = {p: json.loads((args.dir / f"phase-{p}.json").read_text()) for p in PHASES}
        total = disk_mb([args.dir])
        summary["disk_total_mb"] = total
        summary["disk_mb_per_million_passages"] = round(total / (args.n / 1e6), 1)
        (args.dir / "summary.json").write_text(json.dumps(summary, indent=2))
        print(json.dumps(summary, indent=2))
        return
    name = args.phase + ("-nommap" if args.phase == "serve" and args.no_mmap else "")
    out = args.dir / f"phase-{name}.json"
    if out.exists() and not args.redo:
        print(f"{out} exists", flush=True)
        return
    load0 = loadavg()
    t = time.perf_counter()
    result = globals()[f"phase_{args.phase}"](args, db)
    result.update({"phase": args.phase, "n": args.n, "wall_s": round(time.perf_counter() - t, 1),
                   "peak_rss_mb": round(peak_rss_mb(), 1), "load_before": load0, "load_after": loadavg(),
                   "machine": machine(), "command": " ".join(sys.argv)})
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2), flush=True)


if __name__ == "__main__":
    main()
