"""Vector index build time, memory, search latency and HNSW recall on synthetic clustered vectors.

    python benchmarks/bench_vector.py [--n 1000000] [--dim 384] [--queries 200] [--dir PATH]

The vectors are SYNTHETIC: points scattered around random cluster centres (like sentence embeddings,
which cluster by topic), L2-normalised. Queries are fresh points drawn around the same centres.
Reports, for the exact (numpy) and HNSW (usearch int8 + float32 rescoring) indexes: build and save
time, open time, file sizes, search p50/p95 (single query, warm), recall@10 of HNSW against the exact
index, the cost of an incremental update, and how much float16 storage would change the exact top 10.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import time
from pathlib import Path

import numpy as np
from _common import OUT, machine, peak_rss_mb, percentiles

from medcite.index import vector as V
from medcite.index.vector import ExactIndex, HnswIndex


def clustered(n: int, dim: int, centres: np.ndarray, rng: np.random.Generator, spread: float = 0.35,
              chunk: int = 100_000) -> np.ndarray:
    """n unit vectors: a random centre plus gaussian noise of norm ~``spread`` relative to it."""
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        c = centres[rng.integers(0, len(centres), m)]
        x = c + rng.standard_normal((m, dim), dtype=np.float32) * (spread / np.sqrt(dim))
        out[start:start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def timed_searches(index, queries: np.ndarray, k: int = 10) -> tuple[list[np.ndarray], dict[str, float]]:
    for q in queries[:10]:  # warm up
        index.search(q, k)
    res, ms = [], []
    for q in queries:
        t = time.perf_counter()
        ids, _ = index.search(q, k)
        ms.append((time.perf_counter() - t) * 1000)
        res.append(ids)
    return res, percentiles(ms)


def recall(got: list[np.ndarray], truth: list[np.ndarray], k: int = 10) -> float:
    return float(np.mean([len(set(g[:k].tolist()) & set(t[:k].tolist())) / k for g, t in zip(got, truth)]))


def dir_mb(path: Path, prefix: str) -> float:
    return round(sum(p.stat().st_size for p in path.iterdir() if p.name.startswith(prefix)) / 2**20, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--clusters", type=int, default=2000)
    ap.add_argument("--dir", type=Path, default=OUT / "vector-bench")
    ap.add_argument("--skip-exact", action="store_true", help="skip the exact index's own save/open/latency")
    args = ap.parse_args()

    n, dim = args.n, args.dim
    rng = np.random.default_rng(7)
    print(f"SYNTHETIC clustered vectors: n={n:,} dim={dim} clusters={args.clusters} — {machine()}", flush=True)
    centres = rng.standard_normal((args.clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    t = time.perf_counter()
    X = clustered(n, dim, centres, rng)
    Q = clustered(args.queries, dim, centres, rng)
    ids = np.arange(1, n + 1, dtype=np.int64)
    print(f"generated in {time.perf_counter() - t:.1f} s", flush=True)
    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    result: dict = {"synthetic": "clustered gaussian vectors around random centres", "n": n, "dim": dim,
                    "queries": args.queries, "machine": machine(),
                    "hnsw_params": {**V._DEFAULT_PARAMS, "metric": "cos", "dtype": "i8",
                                    "candidates": f"max(k*{V.HNSW_OVERSAMPLE}, {V.HNSW_MIN_CANDIDATES}) rescored in float32",
                                    "library": V.USEARCH_PIN}}

    # ground truth: exact top 10 by a brute-force scan
    truth100 = [ids[np.argsort(-(X @ q))[:100]] for q in Q]
    truth = [t[:10] for t in truth100]

    # float16 storage: would the exact top 10 change?
    X16 = X.astype(np.float16).astype(np.float32)  # stored as float16, computed in float32
    f16_top, f16_err = [], 0.0
    for q in Q:
        s = X16 @ q
        f16_top.append(ids[np.argsort(-s)[:10]])
        top = np.argsort(-s)[:10]
        f16_err = max(f16_err, float(np.abs(s[top] - X[top] @ q).max()))
    result["float16_storage"] = {"recall_at_10_vs_float32": round(recall(f16_top, truth), 4),
                                 "max_score_error": round(f16_err, 5)}
    del X16
    gc.collect()
    print("float16 storage:", result["float16_storage"], flush=True)

    # --- exact ----------------------------------------------------------------------------------------
    if not args.skip_exact:
        t = time.perf_counter()
        ex = ExactIndex.open(args.dir / "exact", dim)
        ex.add(ids, X)
        t_add = time.perf_counter() - t
        t = time.perf_counter()
        ex.save()
        t_save = time.perf_counter() - t
        del ex
        gc.collect()
        t = time.perf_counter()
        ex = ExactIndex.open(args.dir / "exact", dim)
        t_open = time.perf_counter() - t
        got, lat = timed_searches(ex, Q)
        result["exact"] = {"add_s": round(t_add, 2), "save_s": round(t_save, 2), "open_s": round(t_open, 3),
                           "disk_mb": dir_mb(args.dir, "exact"), "search_ms": lat, "recall_at_10": recall(got, truth)}
        print("exact:", result["exact"], flush=True)
        del ex
        gc.collect()

    # --- HNSW -----------------------------------------------------------------------------------------
    t = time.perf_counter()
    hn = HnswIndex.open(args.dir / "hnsw", dim)
    step = 100_000
    for start in range(0, n, step):
        hn.add(ids[start:start + step], X[start:start + step])
        if start and (start // step) % 2 == 0:
            print(f"  hnsw: {start:,} added, {time.perf_counter() - t:.0f} s", flush=True)
    t_build = time.perf_counter() - t
    graph_mb = round(hn._graph.memory_usage / 2**20, 1)
    t = time.perf_counter()
    hn.save()
    t_save = time.perf_counter() - t
    del hn
    gc.collect()
    t = time.perf_counter()
    hn = HnswIndex.open(args.dir / "hnsw", dim)
    t_open = time.perf_counter() - t
    got, lat = timed_searches(hn, Q)
    got100, _ = timed_searches(hn, Q, k=100)
    # incremental update on the loaded index: replace 1,000, remove 1,000, add 1,000 new
    t = time.perf_counter()
    hn.add(ids[:1000], X[:1000])
    hn.remove(ids[1000:2000].tolist())
    hn.add(np.arange(n + 1, n + 1001, dtype=np.int64), clustered(1000, dim, centres, rng))
    t_update = time.perf_counter() - t
    t = time.perf_counter()
    hn.save()
    t_resave = time.perf_counter() - t
    result["hnsw"] = {
        "build_s": round(t_build, 1), "save_s": round(t_save, 2), "open_s": round(t_open, 2),
        "graph_memory_mb": graph_mb, "disk_mb": dir_mb(args.dir, "hnsw"),
        "search_ms": lat, "recall_at_10": round(recall(got, truth), 4),
        "recall_at_100": round(recall(got100, truth100, k=100), 4),
        "update_3000_s": round(t_update, 2), "resave_s": round(t_resave, 2),
    }
    print("hnsw:", result["hnsw"], flush=True)
    result["peak_rss_mb"] = round(peak_rss_mb(), 0)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"vector-{n}x{dim}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
