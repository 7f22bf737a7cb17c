"""Tune hybrid fusion on BioASQ dev: cache each query's lexical and dense runs once, then score fusions.

    python benchmarks/tune_fusion.py [--limit N]

Prints nDCG@10 for reciprocal rank fusion over a grid of k and run weights, and for a convex
combination of min-max-normalised scores. Uses the eval store cached by `medcite eval retrieval`.
"""

from __future__ import annotations

import argparse
import json
import statistics

import numpy as np

from _common import SHARED

from medcite.evaluation.metrics import ndcg_at
from medcite.evaluation.retrieval import corpus_fingerprint, load_queries
from medcite.retrieve.fusion import reciprocal_rank_fusion
from medcite.service import Medcite
from medcite.settings import Settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--full", action="store_true", help="embed the full question, not its core")
    ap.add_argument("--prf", type=float, default=0.0, help="Rocchio weight of the first-pass top-3 vectors")
    args = ap.parse_args()
    settings = Settings(progress=False)
    corpus = SHARED / "eval" / "bioasq_snippets.jsonl"
    db = settings.cache / "eval" / f"bioasq-{corpus_fingerprint(corpus)}.db"
    svc = Medcite(settings.model_copy(update={"db": db}))
    retr = svc.retriever()
    store = svc.open_existing()
    pmid_of = {r[0]: r[1] for r in store.conn.execute(
        "SELECT p.id, d.pmid FROM passages p JOIN documents d ON d.doc_id = p.doc_id")}
    by_pmid: dict[str, set[int]] = {}
    for pid, pm in pmid_of.items():
        by_pmid.setdefault(pm, set()).add(pid)
    queries = load_queries("bioasq", SHARED / "eval" / "bioasq_dev.jsonl")
    if args.limit:
        queries = queries[: args.limit]
    runs = []
    for q in queries:
        aq = retr.analyzer.analyze(q.question)
        lex = retr.lexical.search_ids(q.question, 100, terms=list(aq.terms))
        exp = retr.lexical.search_ids(q.question, 100, terms=list(aq.terms) + list(aq.expanded_terms)) \
            if aq.expanded_terms else lex
        qv = retr.embedder.embed_query(q.question if args.full else (aq.core or q.question))
        ids, scores = retr.vectors.search(qv, 100)
        if args.prf:
            # Rocchio feedback from the fused top 3 of the first pass
            first = [f.key for f in reciprocal_rank_fusion({"l": lex.ids, "d": [int(i) for i in ids]}, k=10)][:3]
            _, vecs = retr.vectors.vectors_of(first)
            q2 = qv + args.prf * vecs.mean(axis=0)
            q2 = q2 / np.linalg.norm(q2)
            ids, scores = retr.vectors.search(q2.astype(np.float32), 100)
        rel = set().union(*(by_pmid.get(p, set()) for p in q.relevant))
        runs.append((lex, exp, [int(i) for i in ids], [float(s) for s in scores], rel))

    def ndcg(rank_fn) -> float:
        return statistics.mean(ndcg_at(rank_fn(r), r[4], 10, len(r[4])) for r in runs)

    results = {}
    results["lexical"] = ndcg(lambda r: r[0].ids)
    results["dense"] = ndcg(lambda r: r[2])
    for k in (10, 20, 40, 60, 100):
        for wd in (0.8, 1.0, 1.2, 1.5, 2.0):
            for we in (0.0, 0.5):
                results[f"rrf k={k} dense={wd} exp={we}"] = ndcg(lambda r: [f.key for f in reciprocal_rank_fusion(
                    {"lexical": r[0].ids, "expanded": r[1].ids, "dense": r[2]}, k=k,
                    weights={"lexical": 1.0, "expanded": we, "dense": wd})])

    def convex(r, alpha: float) -> list[int]:
        def norm(ids, scores):
            if not scores:
                return {}
            lo, hi = min(scores), max(scores)
            return {i: (s - lo) / (hi - lo or 1.0) for i, s in zip(ids, scores)}
        lx = norm(r[0].ids, r[0].scores)
        dn = norm(r[2], r[3])
        keys = set(lx) | set(dn)
        return sorted(keys, key=lambda i: -(alpha * dn.get(i, 0.0) + (1 - alpha) * lx.get(i, 0.0)))

    for alpha in (0.3, 0.4, 0.5, 0.6, 0.7):
        results[f"convex alpha={alpha}"] = ndcg(lambda r: convex(r, alpha))
    best = sorted(results.items(), key=lambda kv: -kv[1])
    print(json.dumps({"n_queries": len(runs), "top": best[:12], "baselines": {k: results[k] for k in ("lexical", "dense")}},
                     indent=1))


if __name__ == "__main__":
    main()
