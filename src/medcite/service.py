"""The one facade the faces (CLI, web) call: ``Medcite(settings)``.

Each method does one user-level thing — ingest, search, stats, demo — and returns plain data;
rendering is the face's job.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from medcite.domain import Hit, IngestReport
from medcite.errors import QueryError
from medcite.index.lexical import Filters, Fts5Index, hits_from_ids
from medcite.ingest.base import parser_versions
from medcite.ingest.chunking import CHUNKER_VERSION, chunk_document
from medcite.ingest.pipeline import Ingestor, ProgressFn
from medcite.settings import Settings
from medcite.store.sqlite import Store


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    terms: list[str] = field(default_factory=list)
    reason: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    explain: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "terms": self.terms,
            "reason": self.reason,
            "timings_ms": self.timings_ms,
            "hits": [h.to_dict() for h in self.hits],
        }


class Medcite:
    """medcite's service facade."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Store | None = None

    # --- store -------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.settings.db)
            self._check_versions(self._store)
        return self._store

    def open_existing(self) -> Store:
        """The store, which must already exist (reads never create an empty database)."""
        if self._store is None:
            self._store = Store(self.settings.db, create=False)
            self._check_versions(self._store)
        return self._store

    def _check_versions(self, store: Store) -> None:
        store.check_fingerprint("chunker_version", CHUNKER_VERSION, "chunker")

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    # --- ingest ------------------------------------------------------------------------

    def ingest(self, paths: Iterable[str | Path], progress: ProgressFn | None = None) -> IngestReport:
        store = self.store
        store.set_meta("parser_versions", json.dumps(parser_versions(), sort_keys=True))
        ingestor = Ingestor(store, progress=progress)
        return ingestor.ingest(paths)

    def demo(self, corpus: Path | None = None, progress: ProgressFn | None = None, fresh: bool = True) -> IngestReport:
        """Ingest the demo corpus (``<shared_dir>/corpus`` by default) into a fresh database."""
        corpus = corpus or self.settings.corpus
        if not corpus.exists():
            raise QueryError(
                f"corpus folder {corpus} does not exist",
                hint="pass --corpus DIR or set MEDCITE_SHARED_DIR to the folder holding corpus/",
            )
        if fresh:
            self.close()
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.settings.db) + suffix).unlink(missing_ok=True)
        return self.ingest([corpus], progress=progress)

    def reindex(self) -> dict[str, int]:
        """Re-chunk every document from its stored sections and rebuild the lexical index."""
        store = self.store
        docs = [r[0] for r in store.conn.execute("SELECT doc_id FROM documents WHERE status IN ('active','superseded')")]
        n_passages = 0
        with store.transaction() as conn:
            conn.execute("DELETE FROM passages")
            for doc_id in docs:
                doc = store.get_document(doc_id)
                passages = chunk_document(doc)
                conn.executemany(
                    """INSERT INTO passages(passage_id, doc_id, section_ord, heading, start, end, title, text)
                       VALUES (?,?,?,?,?,?,?,?)""",
                    [(p.passage_id, p.doc_id, p.section_index, p.heading, p.start, p.end, doc.title, p.text)
                     for p in passages],
                )
                n_passages += len(passages)
            conn.execute("INSERT INTO passages_fts(passages_fts) VALUES ('rebuild')")
            store.set_meta("chunker_version", CHUNKER_VERSION)
        return {"documents": len(docs), "passages": n_passages}

    # --- search ------------------------------------------------------------------------

    def lexical_index(self) -> Fts5Index:
        s = self.settings
        return Fts5Index(
            self.open_existing(), (s.lexical_title_weight, s.lexical_heading_weight, s.lexical_text_weight)
        )

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> SearchResult:
        """Lexical search; never raises on odd input — an empty result carries a reason."""
        started = time.perf_counter()
        k = k or self.settings.search_k
        text = (query or "")[: self.settings.max_query_chars]
        if not text.strip():
            return SearchResult(query=query or "", hits=[], reason="empty query: type some words to search for")
        index = self.lexical_index()
        res = index.search_ids(text, k, filters)
        if not res.terms:
            return SearchResult(query=query, hits=[], reason="the query has no searchable words")
        hits = hits_from_ids(self.open_existing(), res.ids, res.scores, "lexical")
        total = (time.perf_counter() - started) * 1000
        reason = "" if hits else "no passage matches these words"
        return SearchResult(
            query=query,
            hits=hits,
            terms=res.terms,
            reason=reason,
            timings_ms={"lexical": round(res.ms, 2), "total": round(total, 2)},
            explain={"fts_match": res.match, "weights": list(index.weights)},
        )

    def stats(self) -> dict[str, Any]:
        store = self.open_existing()
        out = store.stats()
        out["db"] = str(self.settings.db)
        return out
