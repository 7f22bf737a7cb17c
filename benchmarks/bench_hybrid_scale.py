"""Hybrid search latency at 1,000,000 passages, against lexical-only in the same process.

    python benchmarks/bench_hybrid_scale.py --scale-db /tmp/scale-1m.db [--queries 300]

The store is the generated 1M-passage store of bench_lexical.py. Its passage vectors are
SYNTHETIC (clustered random 384-d unit vectors, one per passage row id) — embedding 1M passages
would take hours on 2 cores — so relevance is meaningless here; the figures are latency only.
The query side is real: each question is embedded with the bundled ONNX model, then searched
in the HNSW index (int8 + float32 rescoring), fused with the lexical run, reranked.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from _common import bioasq_questions, machine, percentiles

from medcite.index.vector import default_index_path, manifest_path, open_vector_index
from medcite.service import Medcite
from medcite.settings import Settings


def build_vectors(svc: Medcite, dim: int, seed: int = 7) -> float:
    store = svc.open_existing()
    ids = np.fromiter((r[0] for r in store.conn.execute("SELECT id FROM passages")), dtype=np.int64)
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((2000, dim)).astype(np.float32)
    embedder, _ = svc.dense_components(create=True)
    index = open_vector_index(default_index_path(svc.settings.db), dim, "auto", svc.settings.ann_threshold,
                              embedder_id=embedder.id)
    t = time.perf_counter()
    for start in range(0, len(ids), 100_000):
        chunk = ids[start : start + 100_000]
        vecs = centres[rng.integers(0, len(centres), len(chunk))] + 0.35 * rng.standard_normal((len(chunk), dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        index.add(chunk, vecs.astype(np.float32))
        print(f"  {start + len(chunk):,} vectors", flush=True)
    index.save()  # builds the HNSW graph (auto: above ann_threshold)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale-db", type=Path, default=Path("/tmp/scale-1m.db"))
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args()
    svc = Medcite(Settings(db=args.scale_db, progress=False))
    result = {"machine": machine(), "note": "passage vectors are synthetic; latency only"}
    if not manifest_path(default_index_path(args.scale_db)).exists():
        result["vector_build_s"] = round(build_vectors(svc, 384), 1)
    svc.sync_lexical()
    retr = svc.retriever()
    questions = bioasq_questions(args.queries)
    for q in questions[:20]:
        retr.search(q, 10, mode="hybrid")
    for mode in ("lexical", "hybrid"):
        times = []
        for q in questions:
            t = time.perf_counter()
            retr.search(q, 10, mode=mode)
            times.append((time.perf_counter() - t) * 1000)
        result[mode] = percentiles(times)
    result["passages"] = svc.open_existing().passage_count()
    result["vectors"] = len(retr.vectors) if retr.vectors is not None else 0
    result["hybrid_p95_over_lexical_p95_plus_10ms"] = round(result["hybrid"]["p95"] / (1.5 * result["lexical"]["p95"] + 10), 3)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
