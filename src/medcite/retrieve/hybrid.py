"""Hybrid retrieval: query analysis → lexical and dense runs → reciprocal rank fusion → evidence rerank.

Lexical search is always available; the dense run joins when an embedder and a vector index are
configured and cover the corpus (dense indexing may still be catching up — search never waits
for it). Every hit records each stage's rank and score for ``--explain``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, Sequence

from medcite.domain import Hit
from medcite.index.lexical import Filters, Fts5Index
from medcite.retrieve.fusion import reciprocal_rank_fusion
from medcite.retrieve.rerank import Candidate, RerankWeights, evidence_rerank
from medcite.store.sqlite import Store

if TYPE_CHECKING:  # numpy is imported where the dense run needs it: a lexical-only `medcite ask` never loads it
    import numpy as np

MODES = ("hybrid", "lexical", "dense")


class _Embedder(Protocol):
    id: str

    def embed_query(self, text: str) -> np.ndarray: ...


class _Vectors(Protocol):
    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def __len__(self) -> int: ...


@dataclass(frozen=True)
class HybridConfig:
    candidates: int = 100          # depth of each run before fusion
    # fusion parameters tuned on BioASQ dev with benchmarks/tune_fusion.py (docs/evaluation.md)
    rrf_k: int = 10
    lexical_weight: float = 1.0
    dense_weight: float = 1.5
    expansion_weight: float = 0.5  # weight of the run over expanded terms (synonyms, brand → generic)
    prf_weight: float = 0.7        # Rocchio feedback from the first pass's top passages (0 = off)
    prf_docs: int = 2
    prf_skip_on_agreement: bool = True  # both runs rank the same passage first: confident, no feedback
    prf_skip_above: float = 0.6         # no feedback when the best dense match is already this similar
    rerank: RerankWeights = field(default_factory=RerankWeights)
    rerank_enabled: bool = True


@dataclass
class Retrieval:
    query: str
    mode: str
    hits: list[Hit]
    analysis: dict[str, Any] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    dense_used: bool = False
    analyzed: Any = None


class HybridRetriever:
    def __init__(
        self,
        store: Store,
        lexical: Fts5Index,
        *,
        analyzer: Any | None = None,
        embedder: _Embedder | None = None,
        vectors: _Vectors | None = None,
        config: HybridConfig | None = None,
    ) -> None:
        self.store = store
        self.lexical = lexical
        self.analyzer = analyzer
        self.embedder = embedder
        self.vectors = vectors
        self.config = config or HybridConfig()

    @property
    def dense_ready(self) -> bool:
        return self.embedder is not None and self.vectors is not None and len(self.vectors) > 0

    def search(
        self,
        text: str,
        k: int = 10,
        filters: Filters | None = None,
        mode: str = "hybrid",
        analyzed: Any = None,
        max_per_doc: int | None = None,
        prefer_kinds: tuple[str, ...] = (),
        prefer_extra: int = 0,
    ) -> Retrieval:
        """Retrieve ``k`` passages. ``max_per_doc`` overrides the diversity cap (answers want depth);
        ``prefer_kinds``/``prefer_extra`` append up to that many more candidates of those kinds found
        beyond the top ``k`` (so an answer sees the best guideline even when trials outrank it)."""
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        cfg = self.config
        analysis: dict[str, Any] = {}
        terms: list[str]
        expanded: list[str] = []
        core = text
        aq = analyzed
        if aq is None and self.analyzer is not None:
            aq = self.analyzer.analyze(text)
        if aq is not None:
            analysis = aq.to_dict()
            terms, expanded, core = list(aq.terms), list(aq.expanded_terms), aq.core or text
        else:
            from medcite.index.terms import query_terms

            terms = query_terms(text)
            analysis = {"terms": terms}
        timings["analyze"] = _ms(t0)
        if not terms:
            return Retrieval(text, mode, [], analysis, timings, reason="the query has no searchable words", analyzed=aq)

        depth = max(cfg.candidates, k * 3)
        runs: dict[str, list[int]] = {}
        stage_scores: dict[str, dict[int, float]] = {}
        weights: dict[str, float] = {}
        if mode in ("hybrid", "lexical"):
            t = time.perf_counter()
            lex = self.lexical.search_ids(text, depth, filters, terms=terms)
            runs["lexical"] = lex.ids
            stage_scores["lexical"] = dict(zip(lex.ids, lex.scores))
            weights["lexical"] = cfg.lexical_weight
            if expanded:
                ex = self.lexical.search_ids(text, depth, filters, terms=terms + expanded)
                runs["expanded"] = ex.ids
                stage_scores["expanded"] = dict(zip(ex.ids, ex.scores))
                weights["expanded"] = cfg.expansion_weight
            timings["lexical"] = _ms(t)
        dense_used = False
        if mode in ("hybrid", "dense") and self.dense_ready:
            t = time.perf_counter()
            qv = self.embedder.embed_query(core)  # type: ignore[union-attr]
            timings["embed_query"] = _ms(t)
            t = time.perf_counter()
            fetch = depth * (3 if filters and not filters.empty else 1)
            ids, scores = self.vectors.search(qv, fetch)  # type: ignore[union-attr]
            agree = bool(runs.get("lexical")) and len(ids) > 0 and int(ids[0]) == runs["lexical"][0]
            confident = len(scores) > 0 and float(scores[0]) >= cfg.prf_skip_above
            if (mode == "hybrid" and cfg.prf_weight > 0 and runs.get("lexical")
                    and not (cfg.prf_skip_on_agreement and agree) and not confident):
                # pseudo-relevance feedback (Rocchio): move the query towards the passages both runs
                # rank highest, then search again — the second dense run replaces the first
                first = reciprocal_rank_fusion({"lexical": runs["lexical"], "dense": [int(i) for i in ids]},
                                               k=cfg.rrf_k, limit=cfg.prf_docs)
                qv = self._feedback(qv, [int(f.key) for f in first])
                ids, scores = self.vectors.search(qv, fetch)  # type: ignore[union-attr]
            id_list = [int(i) for i in ids]
            if filters is not None and not filters.empty:
                id_list = self._filter_ids(id_list, filters)[:depth]
            runs["dense"] = id_list
            stage_scores["dense"] = {int(i): float(s) for i, s in zip(ids, scores)}
            weights["dense"] = cfg.dense_weight
            timings["dense"] = _ms(t)
            dense_used = True
        elif mode == "dense":
            return Retrieval(text, mode, [], analysis, timings,
                             reason="dense index not built yet — run `medcite embed`", analyzed=aq)

        t = time.perf_counter()
        fused = reciprocal_rank_fusion(runs, k=cfg.rrf_k, weights=weights, limit=depth)
        meta = self.store.passage_meta([int(f.key) for f in fused])
        cands = []
        for f in fused:
            m = meta.get(int(f.key))
            if m is None:
                continue
            cands.append(Candidate(int(f.key), m[0], m[1], m[2], m[3], f.score))
        fused_rank = {int(f.key): (i + 1, f) for i, f in enumerate(fused)}
        if cfg.rerank_enabled:
            weights = cfg.rerank if max_per_doc is None else replace(cfg.rerank, max_per_doc=max_per_doc)
            ranked = evidence_rerank(cands, weights, date.today().year)
        else:
            ranked = cands
        timings["fuse_rerank"] = _ms(t)
        chosen = list(ranked[:k])
        if prefer_kinds and prefer_extra:
            chosen += [c for c in ranked[k:] if c.kind in prefer_kinds][:prefer_extra]
        rows = self.store.get_passages([c.key for c in chosen])  # full text only for what is returned
        hits: list[Hit] = []
        for rank, c in enumerate(chosen, start=1):
            r = rows[c.key]
            frank, f = fused_rank[c.key]
            stages: dict[str, Any] = {
                name: {"rank": f.ranks[name], "score": round(stage_scores[name].get(c.key, 0.0), 6)}
                for name in f.ranks
            }
            stages["fusion"] = {"rank": frank, "score": round(f.score, 6)}
            if cfg.rerank_enabled:
                stages["rerank"] = {"rank": rank, "score": round(c.final, 6),
                                    **{k2: round(v, 4) for k2, v in c.parts.items()}}
            hits.append(
                Hit(
                    passage_id=r["passage_id"], doc_id=r["doc_id"], rank=rank,
                    score=round(c.final if cfg.rerank_enabled else f.score, 6),
                    kind=r["kind"], title=r["title"], heading=r["heading"], text=r["text"],
                    source=r["source"], year=r["year"], status=r["status"], url=r["url"], stages=stages,
                )
            )
        timings["total"] = _ms(t0)
        reason = "" if hits else "no passage matches this query"
        return Retrieval(text, mode, hits, analysis, timings, reason, dense_used, aq)

    def _feedback(self, qv: np.ndarray, ids: list[int]) -> np.ndarray:
        getter = getattr(self.vectors, "vectors_of", None)
        if getter is None or not ids:
            return qv
        _found, vecs = getter(ids)
        if len(vecs) == 0:
            return qv
        import numpy as np

        moved = qv + self.config.prf_weight * np.asarray(vecs, dtype=np.float32).mean(axis=0)
        norm = float(np.linalg.norm(moved))
        return (moved / norm).astype(np.float32) if norm else qv

    def _filter_ids(self, ids: Sequence[int], filters: Filters) -> list[int]:
        from medcite.index.lexical import filter_sql

        if not ids:
            return []
        clauses, params = filter_sql(filters)
        marks = ",".join("?" * len(ids))
        ok = {
            int(r[0])
            for r in self.store.conn.execute(
                f"SELECT p.id FROM passages p JOIN documents d ON d.doc_id = p.doc_id WHERE p.id IN ({marks}) AND {clauses}",
                [*ids, *params],
            )
        }
        return [i for i in ids if i in ok]


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 2)
