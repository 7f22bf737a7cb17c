"""Lexical search over passages with SQLite FTS5 / BM25 (title weighted above headings above text)."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Protocol, Sequence

from medcite.domain import Hit
from medcite.index.terms import fts_or_query, query_terms
from medcite.store.sqlite import Store


@dataclass(frozen=True)
class Filters:
    """Restrict a search to some kinds, a year range, or sources (case-insensitive substring)."""

    kinds: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    sources: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.kinds or self.year_min or self.year_max or self.sources)


@dataclass(frozen=True)
class LexicalResult:
    terms: list[str]
    match: str
    ids: list[int]
    scores: list[float]
    ms: float


class LexicalIndex(Protocol):
    name: str

    def search_ids(self, text: str, k: int, filters: Filters | None = None) -> LexicalResult: ...


class Fts5Index:
    """BM25 over the store's external-content FTS5 table (kept in step by triggers)."""

    name = "fts5"

    def __init__(self, store: Store, weights: tuple[float, float, float] = (4.0, 1.5, 1.0)) -> None:
        self.store = store
        self.weights = weights
        self._df: dict[str, int] = {}
        self._n: int | None = None

    def idf(self, term: str) -> float:
        """BM25-style inverse document frequency of ``term`` over passages (cached per index)."""
        import math

        n = self.passage_total()
        return math.log(1 + (n - self.df(term) + 0.5) / (self.df(term) + 0.5))

    def passage_total(self) -> int:
        if self._n is None:
            self._n = max(1, self.store.passage_count())
        return self._n

    def df(self, term: str) -> int:
        """How many passages contain ``term`` (after stemming by the FTS tokenizer); cached."""
        df = self._df.get(term)
        if df is None:
            try:
                df = int(self.store.conn.execute(
                    "SELECT count(*) FROM passages_fts WHERE passages_fts MATCH ?", (fts_or_query([term]),)
                ).fetchone()[0])
            except sqlite3.OperationalError:
                df = 0
            if len(self._df) > 50_000:
                self._df.clear()
            self._df[term] = df
        return df

    def search_ids(
        self, text: str, k: int, filters: Filters | None = None, *, terms: list[str] | None = None
    ) -> LexicalResult:
        started = time.perf_counter()
        terms = terms if terms is not None else query_terms(text)
        if not terms:
            return LexicalResult([], "", [], [], 0.0)
        match = fts_or_query(terms)
        wt, wh, wx = self.weights
        params: list[object] = [match]
        if filters is not None and not filters.empty:
            # CROSS JOIN keeps the FTS index as the outer loop: matching rows are filtered by their
            # document, never the whole documents table probed against the index
            clauses, fparams = filter_sql(filters)
            sql = (
                f"SELECT passages_fts.rowid, bm25(passages_fts, {wt}, {wh}, {wx}) AS s FROM passages_fts "
                f"CROSS JOIN passages p ON p.id = passages_fts.rowid CROSS JOIN documents d ON d.doc_id = p.doc_id "
                f"WHERE passages_fts MATCH ? AND {clauses} ORDER BY s LIMIT ?"
            )
            params.extend(fparams)
        else:
            sql = (
                f"SELECT rowid, bm25(passages_fts, {wt}, {wh}, {wx}) AS s FROM passages_fts "
                f"WHERE passages_fts MATCH ? ORDER BY s LIMIT ?"
            )
        params.append(k)
        try:
            rows = self.store.conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError:
            rows = []
        ids = [int(r[0]) for r in rows]
        scores = [-float(r[1]) for r in rows]  # bm25() is negative: lower is better
        return LexicalResult(terms, match, ids, scores, (time.perf_counter() - started) * 1000)


def filter_sql(filters: Filters) -> tuple[str, list[object]]:
    clauses: list[str] = []
    params: list[object] = []
    if filters.kinds:
        clauses.append(f"d.kind IN ({','.join('?' * len(filters.kinds))})")
        params.extend(filters.kinds)
    if filters.year_min is not None:
        clauses.append("d.year >= ?")
        params.append(filters.year_min)
    if filters.year_max is not None:
        clauses.append("d.year <= ?")
        params.append(filters.year_max)
    if filters.sources:
        clauses.append("(" + " OR ".join("lower(d.source) LIKE ?" for _ in filters.sources) + ")")
        params.extend(f"%{s.lower()}%" for s in filters.sources)
    return " AND ".join(clauses) or "1", params


def hits_from_ids(store: Store, ids: Sequence[int], scores: Sequence[float], stage: str) -> list[Hit]:
    rows = store.get_passages(list(ids))
    hits: list[Hit] = []
    for rank, (pid, score) in enumerate(zip(ids, scores), start=1):
        r = rows.get(pid)
        if r is None:
            continue
        hits.append(
            Hit(
                passage_id=r["passage_id"],
                doc_id=r["doc_id"],
                rank=rank,
                score=round(score, 6),
                kind=r["kind"],
                title=r["title"],
                heading=r["heading"],
                text=r["text"],
                source=r["source"],
                year=r["year"],
                status=r["status"],
                url=r["url"],
                stages={stage: {"rank": rank, "score": round(score, 6)}},
            )
        )
    return hits
