"""`--ray` against plain runs: embedding throughput at 1 and 2 Ray workers, and ingesting the whole shared corpus.

    python benchmarks/bench_ray.py [--corpus DIR] [--embed-corpus FILE] [--passages N] [--skip-ingest]

* embed: a store of ``--embed-corpus`` (default: the PubMedQA abstracts), its first ``--passages`` passages
  embedded by a plain ``embed`` (ONNX Runtime, every core), then by ``embed --ray`` with 1 and 2 workers (one
  ONNX thread each) on a local cluster started once; passages/s over the whole call (worker start included) and
  the lowest cosine between each Ray vector and the plain one;
* ingest: the corpus into two fresh stores, plainly and with ``ingest --ray`` (2 workers), with the stats of
  the two compared (they must be identical), and the top 10 hits of a few searches.

Writes benchmarks/out/ray.json and prints it. The Ray cluster's start (about 15 s) is reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import OUT, SHARED, machine

from medcite.service import Medcite
from medcite.settings import Settings

QUERIES = ("colorectal cancer screening age", "aspirin primary prevention", "metformin gestational diabetes",
           "statin myalgia", "hepatitis B vaccination adults")


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _vectors(svc: Medcite) -> dict[str, np.ndarray]:
    _, index = svc.dense_components()
    names = dict(svc.open_existing().conn.execute("SELECT id, passage_id FROM passages"))
    ids, vecs = index.vectors_of(index.ids())
    return {names[int(i)]: v for i, v in zip(ids, vecs)}


def bench_embed(work: Path, corpus: Path, n: int) -> dict:
    base = Settings(db=work / "embed-plain.db", progress=False, embedder="onnx-minilm")
    plain = Medcite(base)
    plain.ingest([corpus])
    total = plain.stats()["passages"]
    n = min(n, total)
    t0 = time.perf_counter()
    plain.embed(limit=n)
    plain_s = time.perf_counter() - t0
    ref = _vectors(plain)
    out = {"corpus": str(corpus), "passages": n, "load_before": _load(),
           "plain": {"seconds": round(plain_s, 1), "passages_per_s": round(n / plain_s, 1),
                     "threads": os.cpu_count()}}
    for workers in (1, 2):
        db = work / f"embed-ray{workers}.db"
        # joins the cluster main() started (ray is initialised): the service neither starts nor stops one
        svc = Medcite(base.model_copy(update={"db": db, "ray_workers": workers}))
        svc.ingest([corpus])  # the same store, no vectors yet
        t = time.perf_counter()
        res = svc.embed(limit=n, ray=True)
        secs = time.perf_counter() - t
        got = _vectors(svc)
        cos = [float(ref[k] @ got[k]) for k in ref]
        out[f"ray_{workers}"] = {"seconds": round(secs, 1), "passages_per_s": round(n / secs, 1),
                                 "run_passages_per_s": res["passages_per_s"], "min_cosine": round(min(cos), 6),
                                 "same_ids": sorted(ref) == sorted(got)}
        svc.close()
    out["load_after"] = _load()
    plain.close()
    return out


def bench_ingest(work: Path, corpus: Path) -> dict:
    plain = Medcite(Settings(db=work / "ingest-plain.db", progress=False, embedder="none"))
    on_ray = Medcite(Settings(db=work / "ingest-ray.db", progress=False, embedder="none", ray_workers=2))
    out: dict = {"corpus": str(corpus), "load_before": _load()}
    t = time.perf_counter()
    a = plain.ingest([corpus])
    out["plain"] = {"seconds": round(time.perf_counter() - t, 1), "documents": a.documents,
                    "docs_per_s": round(a.documents / (time.perf_counter() - t))}
    t = time.perf_counter()
    b = on_ray.ingest([corpus], ray=True)
    out["ray_2"] = {"seconds": round(time.perf_counter() - t, 1), "documents": b.documents,
                    "docs_per_s": round(b.documents / (time.perf_counter() - t))}
    sa, sb = plain.stats(), on_ray.stats()
    sa.pop("db"), sb.pop("db")
    out["identical_stats"] = sa == sb
    out["identical_reports"] = (a.to_dict() | {"seconds": 0}) == (b.to_dict() | {"seconds": 0})
    out["identical_top10"] = all(
        [h.passage_id for h in plain.search(q, k=10).hits] == [h.passage_id for h in on_ray.search(q, k=10).hits]
        for q in QUERIES)
    out["stats"] = {"documents": sa["documents"], "passages": sa["passages"]}
    out["load_after"] = _load()
    plain.close()
    on_ray.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    ap.add_argument("--embed-corpus", type=Path, default=SHARED / "corpus" / "pubmedqa" / "pqal_abstracts.jsonl")
    ap.add_argument("--passages", type=int, default=3000)
    ap.add_argument("--skip-ingest", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    result = {"machine": machine(), "cores": os.cpu_count(), "load_before": _load()}
    from medcite.cluster.runtime import RayCluster

    t = time.perf_counter()
    cluster = RayCluster()  # a local cluster with every core, joined by each service below
    result["ray_start_s"] = round(time.perf_counter() - t, 1)
    try:
        result["embed"] = bench_embed(work, args.embed_corpus, args.passages)
        if not args.skip_ingest:
            result["ingest"] = bench_ingest(work, args.corpus)
    finally:
        cluster.shutdown()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ray.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
