"""The one facade the faces (CLI, web) call: ``Medcite(settings)``.

Each method does one user-level thing — ingest, search, stats, demo — and returns plain data;
rendering is the face's job.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from medcite.answer.build import assemble, doc_meta_from_rows
from medcite.answer.extractive import STRICT_READING, ComposerConfig, ExtractiveComposer
from medcite.answer.gather import (
    asked_terms,
    clean_question,
    fuse_hits,
    graded_recommendations,
    question_matches,
)
from medcite.answer.notices import cited_doc_ids, mark_notices, quotable_status
from medcite.answer.related import related_questions, remember_question
from medcite.answer.safety import names, quotable_hits
from medcite.answer.schema import Answer
from medcite.domain import Hit, IngestReport
from medcite.errors import ConfigError, MedciteError, QueryError, StoreError
from medcite.index.terms import query_terms
from medcite.retrieve.hybrid import HybridRetriever, Retrieval
from medcite.index.lexical import Filters, Fts5Index, hits_from_ids
from medcite.ingest.chunking import CHUNKER_VERSION, chunk_document
from medcite.settings import Settings
from medcite.store.sqlite import Store

if TYPE_CHECKING:  # the ingest stack (parsers, limits, the pipeline's processes) loads when an ingest runs
    from medcite.ingest.pipeline import ProgressFn


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


log = logging.getLogger(__name__)

#: passages retrieved before composing an answer, unless the caller asks for another number
ASK_DEPTH = 50
#: characters of a sentence embedded when judging it by meaning (its first ~35 words carry it)
SEM_CHARS = 200


#: meta key set while `embed` runs (cleared when it completes)
DENSE_PENDING = "dense_embed_pending"


class Medcite:
    """medcite's service facade."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Store | None = None
        self._analyzer: Any | None = None
        self._retriever: HybridRetriever | None = None
        self._editorial: Any | None = None
        self._lexical: Any | None = None
        self._sem_embedder: Any | None = None
        self._sem_cache: dict[str, Any] = {}
        self._composer: Any | None = None
        self._cluster: Any | None = None

    # --- store -------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.settings.db, busy_timeout=self.settings.store_busy_timeout)
            self._check_versions(self._store)
        return self._store

    def open_existing(self) -> Store:
        """The store, which must already exist (reads never create an empty database)."""
        if self._store is None:
            self._store = Store(self.settings.db, create=False, busy_timeout=self.settings.store_busy_timeout)
            self._check_versions(self._store)
        return self._store

    def _check_versions(self, store: Store) -> None:
        store.check_fingerprint("chunker_version", CHUNKER_VERSION, "chunker")

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.shutdown()
            self._cluster = None
        if self._store is not None:
            self._store.close()
            self._store = None
        self._retriever = None
        if self._lexical is not None:
            close = getattr(self._lexical, "close", None)
            if close:
                close()
            self._lexical = None
        if self._editorial is not None:
            self._editorial.close()
            self._editorial = None

    # --- ingest ------------------------------------------------------------------------

    def ingest(self, paths: Iterable[str | Path], progress: ProgressFn | None = None,
               ray: bool = False) -> IngestReport:
        """Ingest files; with ``ray`` they are parsed on Ray workers (:meth:`cluster`) and stored here, in order."""
        from medcite.ingest.base import parser_versions
        from medcite.ingest.limits import Limits
        from medcite.ingest.pipeline import Ingestor

        store = self.store
        store.set_meta("parser_versions", json.dumps(parser_versions(), sort_keys=True))
        limits = Limits.from_settings(self.settings)
        source = self.cluster().parse_source(limits) if ray else None
        ingestor = Ingestor(store, progress=progress, limits=limits, source=source)
        report = ingestor.ingest(paths)
        # always: an index build that a crash interrupted is finished here, not by the next search (a few ms
        # when the index is current)
        self.sync_lexical()
        if ingestor.changed_doc_ids:
            try:
                # retracted first: those articles leave the approved state; the rest are flagged where they stand
                report.flagged_articles = self.editorial.return_for_retractions(ingestor.retracted_doc_ids)
                report.flagged_articles += self.editorial.flag_changed_documents(
                    ingestor.changed_doc_ids, "a cited document was updated, deleted or retracted by a later ingest"
                )
            except MedciteError as exc:
                report.errors.append(f"articles citing changed documents could not be flagged: {exc}")
        return report

    # --- sync ------------------------------------------------------------------------------

    def sync_download_dir(self) -> Path:
        """Where sync downloads go: ``sync_download_dir``, or ``<db>.downloads/`` beside the store."""
        db = Path(self.settings.db)
        return self.settings.sync_download_dir or db.with_name(db.name + ".downloads")

    def _sync_fetcher(self, min_interval: float = 0.0) -> Any:
        from medcite.sync.http import Fetcher

        return Fetcher(timeout=self.settings.sync_timeout, tries=self.settings.sync_tries,
                       backoff=self.settings.sync_backoff, min_interval=min_interval)

    def sync_pubmed(self, base_url: str | None = None, download_dir: Path | None = None,
                    on_step: Any | None = None) -> Any:
        """Download, verify and ingest the PubMed baseline and update files this store does not have yet
        (:mod:`medcite.sync.pubmed`); returns a :class:`~medcite.sync.SyncReport`."""
        from medcite.sync.pubmed import PubMedMirror

        with self._sync_fetcher() as fetcher:
            mirror = PubMedMirror(self.store, self.ingest, fetcher, base_url or self.settings.sync_pubmed_url,
                                  download_dir or self.sync_download_dir() / "pubmed",
                                  keep_downloads=self.settings.sync_keep_downloads, on_step=on_step)
            return mirror.run()

    def sync_pubmed_query(self, query: str, max_records: int, eutils_url: str | None = None,
                          download_dir: Path | None = None, on_step: Any | None = None, batch: int | None = None) -> Any:
        """Ingest the PubMed records one E-utilities search finds (:mod:`medcite.sync.eutils`)."""
        from medcite.sync.eutils import BATCH, EUtilsQuery, interval_for

        key = self.settings.eutils_api_key.get_secret_value() if self.settings.eutils_api_key else None
        with self._sync_fetcher(interval_for(key)) as fetcher:
            job = EUtilsQuery(self.ingest, fetcher, eutils_url or self.settings.eutils_url,
                              download_dir or self.sync_download_dir() / "pubmed", api_key=key,
                              batch=batch or BATCH, keep_downloads=self.settings.sync_keep_downloads, on_step=on_step)
            return job.run(query, max_records)

    def demo(self, corpus: Path | None = None, progress: ProgressFn | None = None, fresh: bool = True) -> IngestReport:
        """Ingest the demo corpus (``<shared_dir>/corpus`` by default) into a fresh database."""
        corpus = corpus or self.settings.corpus
        if not corpus.exists():
            raise QueryError(
                f"corpus folder {corpus} does not exist",
                hint="pass --corpus DIR or set MEDCITE_SHARED_DIR to the folder holding corpus/",
            )
        if fresh:
            self._refuse_to_wipe_accounts()
            self.close()
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.settings.db) + suffix).unlink(missing_ok=True)
            import shutil

            shutil.rmtree(str(self.settings.db) + ".tantivy", ignore_errors=True)
            self.drop_vectors()
        return self.ingest([corpus], progress=progress)

    def _refuse_to_wipe_accounts(self) -> None:
        """The demo rebuilds its store from scratch; never over a file that holds accounts or articles."""
        db = Path(self.settings.db)
        if not db.exists():
            return
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                n = conn.execute(
                    "SELECT (SELECT count(*) FROM review_users) + (SELECT count(*) FROM review_articles)"
                ).fetchone()[0]
            finally:
                conn.close()
        except sqlite3.Error:
            return  # no editorial tables (or not a database at all): nothing to protect
        if n:
            raise QueryError(
                f"{db} holds editorial accounts or articles; the demo would erase them",
                hint="run the demo on another file: medcite --db demo.db demo",
            )

    def reindex(self) -> dict[str, int]:
        """Re-chunk every document from its stored sections and rebuild the lexical index.

        The one command that opens a store built by another chunker without refusing: it is the cure.
        """
        if self._store is None:
            self._store = Store(self.settings.db, create=False, busy_timeout=self.settings.store_busy_timeout)
        store = self._store
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
        # passage rows changed: the dense index is rebuilt by the next `medcite embed`
        self.sync_lexical()
        self.drop_vectors()
        return {"documents": len(docs), "passages": n_passages}

    # --- search ------------------------------------------------------------------------

    def lexical_index(self, *, fallback: bool = True) -> Any:
        """The configured lexical engine over the store (tantivy by default, FTS5 as fallback).

        With ``fallback``, a tantivy index that cannot be brought up to date (a full disk; a read-only folder,
        where tantivy cannot even open it) gives way to FTS5, which reads the store itself."""
        if self._lexical is None:
            s = self.settings
            weights = (s.lexical_title_weight, s.lexical_heading_weight, s.lexical_text_weight)
            store = self.open_existing()
            index: Any = None
            if s.lexical_engine == "tantivy":
                try:
                    from medcite.index.tantivy_index import TantivyIndex

                    index = TantivyIndex(store, (s.tantivy_title_weight, s.tantivy_heading_weight,
                                                 s.lexical_text_weight))
                except ConfigError:
                    index = None  # tantivy not installed: SQLite FTS5 serves the same queries
                if index is not None and fallback:
                    try:
                        index.sync()
                    except StoreError as exc:  # a stale index on a full disk or in a read-only folder
                        log.warning("lexical index not usable (%s); searching with SQLite FTS5", exc.message)
                        index = None  # FTS5 reads the store itself
            self._lexical = index or Fts5Index(store, weights)
        return self._lexical

    def sync_lexical(self) -> dict[str, Any]:
        """Bring an external lexical index (tantivy) up to date with the store; no-op for FTS5."""
        index = self.lexical_index(fallback=False)
        sync = getattr(index, "sync", None)
        if sync is None:
            return {}
        result = sync()
        from medcite.index.tantivy_index import prune_change_log

        if result.get("generation") not in (None, ""):
            try:
                prune_change_log(self.open_existing(), int(result["generation"]))
            except (TypeError, ValueError):
                pass
        return result

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

    # --- retrieval & answers -------------------------------------------------------------

    def analyzer(self) -> Any | None:
        if self._analyzer is None and self.settings.query_expansion:
            from medcite.retrieve.query import QueryAnalyzer

            self._analyzer = QueryAnalyzer()
        return self._analyzer

    def retriever(self) -> HybridRetriever:
        if self._retriever is None:
            embedder, vectors = self.dense_components()
            self._retriever = HybridRetriever(
                self.open_existing(), self.lexical_index(), analyzer=self.analyzer(),
                embedder=embedder, vectors=vectors,
            )
        return self._retriever

    def vector_path(self) -> Path:
        from medcite.index.paths import default_index_path

        return default_index_path(self.settings.db)

    def dense_components(self, create: bool = False) -> tuple[Any | None, Any | None]:
        """The embedder and vector index; (None, None) when no dense index exists yet (lexical only)."""
        from medcite.index.paths import manifest_path

        if self.settings.embedder == "none":
            return None, None
        if not create and not manifest_path(self.vector_path()).exists():
            return None, None
        from medcite.index.registry import make_embedder
        from medcite.index.vector import open_vector_index

        embedder = make_embedder(self.settings)
        vectors = open_vector_index(
            self.vector_path(), embedder.dim, self.settings.vector_index, self.settings.ann_threshold,
            embedder_id=embedder.id, mmap=self.settings.vector_mmap,
        )
        return embedder, vectors

    def drop_vectors(self) -> None:
        """Delete the vector index files (the next `medcite embed` rebuilds them)."""
        from medcite.index.paths import manifest_path

        base = self.vector_path()
        for p in base.parent.glob(base.name + "*"):
            if p.is_file():
                p.unlink(missing_ok=True)
        manifest_path(base).unlink(missing_ok=True)
        self._retriever = None

    def dense_indexer(self) -> Any:
        from medcite.index.dense import DenseIndexer

        embedder, vectors = self.dense_components(create=True)
        if embedder is None:
            raise QueryError("dense retrieval is switched off (embedder = none)",
                             hint="set MEDCITE_EMBEDDER=onnx-minilm to build a dense index")
        return DenseIndexer(self.open_existing(), embedder, vectors)

    def cluster(self) -> Any:
        """The Ray cluster of ``--ray``: the one at ``ray_address``, or a local one started now (needs the ray
        extra; ``medcite.cluster``). It stops with :meth:`close` or at exit."""
        if self._cluster is None:
            from medcite.cluster.runtime import RayCluster

            s = self.settings
            self._cluster = RayCluster(s.ray_address, s.ray_workers, s.ray_gpus_per_worker)
        return self._cluster

    def embed(self, progress: Any | None = None, limit: int | None = None, ray: bool = False) -> dict[str, Any]:
        """Bring the dense index up to date with the store (new passages embedded, stale ones removed); with
        ``ray`` the batches are embedded on Ray workers and the vectors written here."""
        if self.open_existing().read_only:
            from medcite.store.faults import read_only

            raise read_only(self.settings.db)
        store = self.open_existing()
        # a mark that an embed is under way, cleared when it completes: an embed killed before its first save
        # (no vector index on disk yet) is then finished by the next `medcite ingest` too (``dense_lags``)
        indexer = self.dense_indexer()  # (raises first when dense retrieval is switched off)
        if ray:
            indexer.embed_map = self.cluster().embed_map(indexer.embedder, self.settings)
        with store.transaction():
            store.set_meta(DENSE_PENDING, "1")
        result = indexer.run(progress=progress, limit=limit)
        self._retriever = None  # pick up the new vectors
        if limit is None:
            with store.transaction() as conn:
                conn.execute("DELETE FROM meta WHERE key = ?", (DENSE_PENDING,))
        return result

    def dense_lags(self) -> bool:
        """Whether a dense index exists but holds another number of vectors than the store has passages (an
        embed was interrupted), or an embed began and never completed. Counts only: no embedder is loaded."""
        from medcite.index.paths import manifest_path

        if self.open_existing().get_meta(DENSE_PENDING):
            return True

        try:
            count = int(json.loads(manifest_path(self.vector_path()).read_text())["count"])
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return count != self.open_existing().passage_count()

    def dense_status(self) -> dict[str, Any]:
        if self.settings.embedder == "none":
            return {"embedder": "none"}
        status = self.dense_indexer().status().to_dict()
        return status

    def retrieve(self, query: str, k: int | None = None, filters: Filters | None = None,
                 mode: str = "hybrid") -> Retrieval:
        text = (query or "")[: self.settings.max_query_chars]
        if not text.strip():
            return Retrieval(query or "", mode, [], reason="empty query: type some words to search for")
        return self.retriever().search(text, k or self.settings.search_k, filters, mode)

    def ask(
        self,
        question: str,
        audience: str = "clinician",
        k: int | None = None,
        filters: Filters | None = None,
        remember: bool = True,
        context: list[str] | None = None,
        llm: bool | None = None,
    ) -> Answer:
        """Answer a question with the extractive composer (every sentence verbatim and cited).

        ``llm=True`` (default: ``settings.llm_default``) lets the configured chat model write the answer,
        checked sentence by sentence (medcite.answer.llm_composer); the extractive answer is its fallback.

        ``context`` holds earlier questions of a thread: their words join the search, so a follow-up
        such as "and in pregnancy?" is answered about the thread's topic.
        """
        t0 = time.perf_counter()
        use_llm = self.settings.llm_default if llm is None else llm
        chat = self.chat_model() if use_llm else None
        if use_llm and chat is None:
            raise ConfigError("no LLM configured — set MEDCITE_LLM_BASE_URL and MEDCITE_LLM_MODEL",
                              hint="or ask without --llm; docs/llm.md shows vLLM, llama.cpp and Ollama set-ups")
        q, notes = clean_question(question, self.settings.max_question_chars)
        if audience not in ("clinician", "patient"):
            raise QueryError(f"unknown audience {audience!r}", hint="use clinician or patient")
        store = self.open_existing()
        retriever = self.retriever()
        depth = k or ASK_DEPTH
        search_text = q
        if context:
            extra = [t for c in context[-2:] for t in query_terms(c) if t not in query_terms(q)]
            search_text = q + " " + " ".join(dict.fromkeys(extra))
            notes.append("follow-up: earlier question words added to the search")
        prefer = ("patient_info",) if audience == "patient" else ("guideline", "systematic_review")
        main = retriever.search(search_text, depth, filters, max_per_doc=15, prefer_kinds=prefer, prefer_extra=12)
        hits = list(main.hits)
        emphasis, anaphoric = asked_terms(q)
        if emphasis and not context and not anaphoric:
            # a question after some context ("My husband snores … How is sleep apnea treated?"): a second
            # run on the question sentence alone, fused with the first, so the context cannot drown it
            asked = retriever.search(" ".join(emphasis), depth, filters, max_per_doc=15, prefer_kinds=prefer,
                                     prefer_extra=12)
            hits = fuse_hits(hits, asked.hits)
        if audience == "patient":
            # the pages written for this very question join the candidates without reordering the
            # main run (whose top titles tell the composer what the question is about)
            have = {h.passage_id for h in hits}
            extra = [h for h in self._question_matches(query_terms(search_text), filters) if h.passage_id not in have]
            hits += [replace(h, rank=len(hits) + i) for i, h in enumerate(extra, start=1)]
        hits += graded_recommendations(store, hits)
        composer = self._composer_for(q)
        routed = composer == "model" and self.settings.composer != "model"
        if composer == "model" and self._model_composer().config.question_types:
            from medcite.answer.gather import typed_passages
            from medcite.answer.qtypes import question_types

            hits += typed_passages(store, hits, question_types(q))
        t_retrieve = time.perf_counter()
        aq = main.analyzed
        terms = list(aq.terms) if aq is not None else query_terms(search_text)
        expansions = list(aq.expansions) if aq is not None else []
        doc_rows = store.document_rows([h.doc_id for h in hits])
        hits = quotable_status(hits, doc_rows)  # never a retracted or deleted document, even from a stale index
        # evidence is data: instructions in passages are screened out, and only trusted documents are quoted
        quotable, hits, screened = quotable_hits(hits, doc_rows, names(self.settings.quote_formats),
                                                 names(self.settings.quote_kinds))
        lexical = retriever.lexical
        if composer == "model":
            comp = self._model_composer().select(q, terms, quotable, doc_meta_from_rows(doc_rows), lexical.idf,
                                                 audience, df=lexical.df, expansions=expansions,
                                                 candidates=self.settings.routed_candidates if routed else None)
        else:
            comp = self._rules_select(q, terms, expansions, quotable, doc_rows, lexical, audience, emphasis,
                                      anaphoric, retriever)
        comp = self._drug_coverage(q, comp, store)
        t_compose = time.perf_counter()
        related = related_questions(store, q, topic=self._topic_words(comp, terms, doc_rows))
        answer = assemble(
            question=q, audience=audience, comp=comp, hits=hits, doc_rows=doc_rows,
            fingerprint=store.fingerprint(),
            timings={},
            related_questions=related,
            metadata={"query": main.analysis, "input_notes": notes, "dense": main.dense_used,
                      "best_cover": round(comp.best_cover, 3),
                      "best_passage_cover": comp.best_passage_cover,
                      "missing_terms": comp.missing_terms, "unnamed_drugs": comp.unnamed_drugs,
                      "instructions_screened": screened},
            notices=store.notices(list(doc_rows)),
        )
        # a drug the question names that no document behind the answer names (``drug_coverage``) is not the LLM's
        # to fill in from the other drug's passages: the question stays "insufficient evidence", nothing is sent
        if chat is not None and comp.unnamed_drugs:
            answer.metadata["llm_skipped"] = "the documents do not name every drug the question names"
        elif chat is not None:  # the LLM composer: the extractive answer above is its fallback
            from medcite.answer.llm_composer import LLMComposer

            extractive, s = answer, self.settings
            answer = LLMComposer().compose(q, audience, quotable, doc_rows, model=chat, unsupported=s.llm_unsupported,
                                           fallback=lambda: extractive, fingerprint=store.fingerprint(),
                                           related_questions=related, phi=s.llm_phi, related_hits=hits)
            answer.metadata = {**extractive.metadata, **answer.metadata}
            mark_notices(answer, store.notices(cited_doc_ids(answer)))
        if remember and not answer.insufficient_evidence and not store.read_only:
            remember_question(store, _redacted(q), audience)
        answer.timings_ms = {
            "retrieve": round((t_retrieve - t0) * 1000, 1),
            "compose": round((t_compose - t_retrieve) * 1000, 1),
            "total": round((time.perf_counter() - t0) * 1000, 1),
        }
        return answer

    def _drug_coverage(self, question: str, comp: Any, store: Any) -> Any:
        """"Insufficient evidence" when the question names two or more drugs and the bottom line's documents do not
        name one of them (``drug_coverage``; medcite.answer.drugs)."""
        analyzer = self.analyzer() if self.settings.drug_coverage and comp.bottom else None
        if analyzer is None:
            return comp
        from medcite.answer.drugs import bottom_line_drugs, named_drugs

        named = named_drugs(question, analyzer.vocab.drugs, analyzer.generics())
        if len(set(named.values())) < 2:
            return comp
        # a bottom-line sentence whose document names none of the drugs is about something else: left out
        off_topic, missing = bottom_line_drugs(named, [s.doc_id for s in comp.bottom], store,
                                               analyzer.drug_variants())
        if off_topic:
            comp = replace(comp, bottom=[s for s in comp.bottom if s.doc_id not in off_topic])
        if not missing:
            return comp
        return type(comp)(unnamed_drugs=missing, ranked=comp.ranked)

    def _composer_for(self, question: str) -> str:
        """The composer for this question: the configured one, except that with the rules composer a question
        whose wrong answer can harm — may he take it (contraindication; "is it safe to take … while pregnant"
        included), with what (interaction), what are its side effects or warning signs (a "list" answer shape) —
        goes to the model composer, which reads the sections that answer such questions (a label's
        CONTRAINDICATIONS, WARNINGS, DRUG INTERACTIONS, ADVERSE REACTIONS; a page's list of signs), prefers a
        sentence of the asked-for shape and abstains when none answers (``safety_routing``; the types routed are
        ``routed_types``, default contraindication and interaction; docs/composer.md)."""
        chosen = self.settings.composer
        if chosen == "rules" and self.settings.safety_routing:
            from medcite.answer.qtypes import answer_shapes, question_types

            routed = {t.strip() for t in self.settings.routed_types.split(",") if t.strip()}
            if routed & set(question_types(question)) or "list" in answer_shapes(question):
                return "model"
        return chosen

    def _model_composer(self) -> Any:
        """The model composer, its model loaded once per process (one intra-op thread)."""
        if self._composer is None:
            from medcite.answer.model import load_answer_model, model_meta
            from medcite.answer.ranked import Combiner, ModelComposer, RankedConfig

            folder = self.settings.answer_model_dir
            model = load_answer_model(str(folder) if folder else None)
            meta = model_meta(folder) if folder else model_meta()
            if not model.id.startswith("cross-encoder"):
                # the bi-encoder has its own fitted combiner and thresholds (in the shipped model's record)
                meta = meta.get("fallback") or model_meta().get("fallback") or {}
            config = RankedConfig(**{k: float(meta[k]) for k in ("answer_prob", "section_prob") if k in meta})
            self._composer = ModelComposer(model, config, Combiner.from_meta(meta),
                                           drug_words=lambda: self.analyzer().drug_words() if self.analyzer() else frozenset())
        return self._composer

    def _rules_select(self, q: str, terms: list[str], expansions: list[Any], hits: list[Hit], doc_rows: Any,
                      lexical: Any, audience: str, emphasis: list[str], anaphoric: bool,
                      retriever: HybridRetriever) -> Any:
        """The older word-cover composer (``composer = "rules"``)."""
        config = ComposerConfig(**STRICT_READING) if self.settings.patient_reading == "strict" else None
        return ExtractiveComposer(config).select(terms, expansions, hits, doc_meta_from_rows(doc_rows), lexical.idf,
                                                 audience, df=lexical.df, emphasis=emphasis, question=q,
                                                 emphasis_needs_topic=anaphoric,
                                                 similarity=self._similarity(q, retriever))

    @staticmethod
    def _topic_words(comp: Any, terms: list[str], doc_rows: Any) -> list[str]:
        """The question's words its answer's lead document names in its title (for related questions)."""
        if comp.concepts:
            return [c.term for c in comp.concepts if c.topic]
        if not comp.bottom:
            return []
        from medcite.index.terms import tokenize
        from medcite.text import stem

        row = doc_rows.get(comp.bottom[0].doc_id)
        title = {stem(w) for w in tokenize(row["title"] or "")} if row is not None else set()
        return [t for t in terms if stem(t) in title]

    def warm_up(self) -> None:
        """Load what the first answer would otherwise wait for (word frequencies, the embedding model, the
        answer model when some questions go to the model composer, the patient-page questions).

        Best effort: a store that does not exist yet, or a model that cannot load, is reported by the
        first question that needs it, not here.
        """
        from medcite.answer.concepts import word_rarity

        try:
            word_rarity("warm")
            sim = self._similarity("warm up", self.retriever())
            if sim is not None:
                sim(["warm up"])
            if self.settings.composer == "model" or self.settings.safety_routing:
                self._model_composer().model.score("warm up", ["Warm up."])
            if self.settings.drug_coverage and self.analyzer() is not None:
                self.analyzer().generics()
            if Path(self.settings.db).exists():
                from medcite.answer.related import page_questions

                page_questions(self.open_existing())  # the patient-page questions related questions come from
        except Exception as exc:  # noqa: BLE001 — warming up must never stop a server from starting
            log.info("warm-up skipped: %s", exc)

    def _similarity(self, question: str, retriever: HybridRetriever) -> Any:
        """A function: sentences → cosine similarity to the question (None when no real embedder is set).

        Uses the dense retriever's embedder, or the configured one when no vector index is built yet
        (the bundled model needs no index); sentence vectors are cached between questions.
        """
        if not self.settings.answer_semantic or self.settings.embedder in ("none", "hashing"):
            return None
        embedder = retriever.embedder or self._sem_embedder
        if embedder is None:
            from medcite.index.registry import make_embedder

            try:
                embedder = self._sem_embedder = make_embedder(self.settings)
            except MedciteError:
                return None  # no model available: the composer works on words alone
        import numpy as np

        cache = self._sem_cache
        qv = embedder.embed_query(question)

        def similarity(texts: list[str]) -> Any:
            if not texts:
                return np.zeros(0, dtype=np.float32)
            vecs = {t: cache.get(t) for t in texts}  # a local view: other threads may clear the cache
            todo = [t for t, v in vecs.items() if v is None]
            if todo:
                new = dict(zip(todo, embedder.embed([t[:SEM_CHARS] for t in todo])))
                vecs.update(new)
                if len(cache) > 50_000:
                    cache.clear()
                cache.update(new)
            return np.stack([vecs[t] for t in texts]) @ qv

        return similarity

    # --- LLM --------------------------------------------------------------------------

    def chat_model(self) -> Any:
        """The configured chat model (``medcite.llm.client.ChatModel``); None when no LLM is configured."""
        s = self.settings
        if not s.llm_base_url or not s.llm_model:
            return None
        if getattr(self, "_chat", None) is None:
            from medcite.llm.client import OpenAIChatModel

            key = s.llm_api_key.get_secret_value() if s.llm_api_key else None
            self._chat = OpenAIChatModel(s.llm_base_url, s.llm_model, api_key=key, timeout=s.llm_timeout,
                                         max_retries=s.llm_max_retries)
        return self._chat

    def llm_check(self) -> dict[str, Any]:
        """Does the configured LLM server answer, how fast, and does it honour json_schema output?"""
        from medcite.llm.client import check

        model = self.chat_model()
        if model is None:
            return {"ok": False, "configured": False, "base_url": self.settings.llm_base_url or "",
                    "model": self.settings.llm_model or "", "latency_ms": None, "json_schema": None,
                    "error": "no LLM configured — set MEDCITE_LLM_BASE_URL and MEDCITE_LLM_MODEL"}
        return {"configured": True, **check(model)}

    # --- evaluation ------------------------------------------------------------------------

    def eval_retrieval(
        self,
        dataset: str,
        queries: Path,
        corpus: Path | None = None,
        k: int = 10,
        retrievers: tuple[str, ...] = ("lexical", "dense", "hybrid"),
        limit: int | None = None,
        progress: Any | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Run lexical, dense and hybrid retrieval on a benchmark; returns (summary, raw results)."""
        from medcite.evaluation import retrieval as ev

        if dataset not in ("bioasq", "pubmedqa"):
            raise QueryError(f"unknown dataset {dataset!r}", hint="use --dataset bioasq or --dataset pubmedqa")
        default = {
            "bioasq": self.settings.shared_dir / "eval" / "bioasq_snippets.jsonl",
            "pubmedqa": self.settings.shared_dir / "corpus" / "pubmedqa" / "pqal_abstracts.jsonl",
        }[dataset]
        corpus = corpus or default
        if not corpus.exists():
            raise QueryError(f"corpus file {corpus} not found", hint="pass --corpus FILE")
        qs = ev.load_queries(dataset, queries)[: limit or None]
        cache = self.settings.cache / "eval"
        cache.mkdir(parents=True, exist_ok=True)
        db = cache / f"{dataset}-{ev.corpus_fingerprint(corpus)}.db"
        if not db.exists():
            ev.build_store(dataset, corpus, db)
        sub = Medcite(self.settings.model_copy(update={"db": db}))
        try:
            if any(r.partition("+")[0] in ("dense", "hybrid") for r in retrievers):
                sub.embed(progress=progress)
            store = sub.open_existing()
            pmid_of: dict[str, str] = {}
            by_pmid: dict[str, set[str]] = {}
            for pid, pmid in store.conn.execute(
                "SELECT p.passage_id, coalesce(d.pmid, '') FROM passages p JOIN documents d ON d.doc_id = p.doc_id"
            ):
                pmid_of[pid] = pmid
                by_pmid.setdefault(pmid, set()).add(pid)

            def search(mode: str, question: str, depth: int) -> list[tuple[str, str, float]]:
                base, _, rerank = mode.partition("+")
                hits = sub.retrieve(question, depth, mode=base).hits
                if rerank:  # "hybrid+rerank": the answer model reorders the top 20
                    from medcite.answer.model import load_answer_model
                    from medcite.retrieve.model_rerank import rerank_hits

                    hits = rerank_hits(load_answer_model(), question, hits)
                    return [(h.passage_id, pmid_of.get(h.passage_id, ""), -float(h.rank)) for h in hits]
                return [(h.passage_id, pmid_of.get(h.passage_id, ""), h.score) for h in hits]

            def relevance(q: Any) -> set[str]:
                out: set[str] = set()
                for pm in q.relevant:
                    out |= by_pmid.get(pm, set())
                return out

            active = tuple(r for r in retrievers if r.partition("+")[0] != "dense" or sub.retriever().dense_ready)
            results = ev.evaluate(qs, dataset, search, relevance, active, k)
        finally:
            sub.close()
        summary = {
            "dataset": dataset,
            "queries_file": str(queries),
            "corpus_file": str(corpus),
            "n_queries": len(qs),
            "retrievers": {name: res.metrics for name, res in results.items()},
        }
        return summary, results

    def eval_answers(self, questions: Path, audience: str | None = None) -> dict[str, Any]:
        from medcite.evaluation.answers import evaluate_answers, load_questions

        qs = load_questions(questions)
        self.warm_up()  # latency is a warm server's: model loading is not charged to the first question
        return evaluate_answers(qs, lambda q: self.ask(q.question, audience or q.audience, remember=False))

    def _question_matches(self, terms: list[str], filters: Filters | None, n_docs: int = 3) -> list[Hit]:
        return question_matches(self.open_existing(), terms, filters, n_docs)

    # --- threads, documents, editorial board ---------------------------------------------

    def start_thread(self, answer: Answer) -> str:
        """Keep an answer as the first turn of a new follow-up thread; returns the thread id."""
        import uuid

        thread_id = uuid.uuid4().hex
        now = answer.generated_at
        store = self.open_existing()
        with store.transaction() as conn:
            conn.execute("INSERT INTO threads(thread_id, audience, created_at, updated_at) VALUES (?,?,?,?)",
                         (thread_id, answer.audience, now, now))
            conn.execute("INSERT INTO thread_turns(thread_id, turn, question, answer, created_at) VALUES (?,?,?,?,?)",
                         (thread_id, 1, _redacted(answer.question), _stored(answer), now))
        return thread_id

    def thread(self, thread_id: str) -> list[Answer]:
        """Every answer of a thread, in order (NotFound for an unknown id)."""
        from medcite.errors import NotFound

        rows = self.open_existing().conn.execute(
            "SELECT answer FROM thread_turns WHERE thread_id = ? ORDER BY turn", (thread_id,)
        ).fetchall()
        if not rows:
            raise NotFound(f"no thread {thread_id!r}", hint="start a new question")
        from medcite.llm.marks import mark_flagged

        answers = [mark_flagged(Answer.model_validate_json(r[0])) for r in rows]  # unsupported sentences marked
        return [self.with_notices(a) for a in answers]  # retractions since the answer was written show

    def follow_up(self, thread_id: str, question: str, audience: str | None = None) -> Answer:
        """Answer a follow-up with the thread's earlier questions as context and keep it in the thread."""
        turns = self.thread(thread_id)
        answer = self.ask(question, audience or turns[-1].audience, context=[t.question for t in turns])
        answer.metadata["thread_id"] = thread_id
        store = self.open_existing()
        with store.transaction() as conn:
            conn.execute("INSERT INTO thread_turns(thread_id, turn, question, answer, created_at) VALUES (?,?,?,?,?)",
                         (thread_id, len(turns) + 1, _redacted(answer.question), _stored(answer),
                          answer.generated_at))
            conn.execute("UPDATE threads SET updated_at = ? WHERE thread_id = ?", (answer.generated_at, thread_id))
        return answer

    def document(self, doc_id: str) -> Any:
        """A stored document with its sections (NotFound for an unknown id)."""
        return self.open_existing().get_document(doc_id)

    def document_notices(self, doc_id: str) -> list[dict[str, Any]]:
        """Retraction, erratum and expression-of-concern notices about a document, most serious first."""
        return self.open_existing().notice_details(doc_id)

    def with_notices(self, answer: Any) -> Any:
        """``answer`` (an Answer or its dict) with each reference's ``notice`` as the corpus stands now."""
        return mark_notices(answer, self.open_existing().notices(cited_doc_ids(answer)))

    @property
    def editorial(self) -> Any:
        """The editorial board (accounts, articles, reviews) on SQLite or PostgreSQL."""
        if self._editorial is None:
            from medcite.review import Editorial, connect

            self._editorial = Editorial(connect(self.settings.database_url or self.settings.db))
        return self._editorial

    def stats(self) -> dict[str, Any]:
        store = self.open_existing()
        out = store.stats()
        out["db"] = str(self.settings.db)
        return out


def _stored(answer: Answer) -> str:
    """An answer as a thread keeps it: the JSON with the question's identifiers taken out (PHI guard)."""
    import json

    from medcite.llm.phi import scrub

    return json.dumps(scrub(answer.model_dump(mode="json"), answer.question), ensure_ascii=False)


def _redacted(question: str) -> str:
    """Questions are stored only after PHI redaction (names, precise dates, numbers that identify people)."""
    from medcite.llm.phi import redact

    return redact(question)[0]
