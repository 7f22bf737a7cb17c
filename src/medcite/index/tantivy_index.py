"""Lexical search over passages with tantivy (BM25, title weighted above headings above text).

The index lives in a folder beside the database (``<db>.tantivy/``) and is *derived* from the
store: the store is the source of truth, and :meth:`TantivyIndex.sync` brings the folder up to
date with it.

Consistency protocol
--------------------
:data:`CHANGE_LOG_SQL` (to be added to the store's migrations) keeps a change log filled by
triggers in the same transaction as every passage insert, delete or update (and every change to a
document's ``kind``, ``year`` or ``source``, which are filter fields). The log's AUTOINCREMENT
sequence is the store's *lexical generation*; ``meta.lexical_store_id`` names the store, so an index
left beside a store that was deleted and re-created is never mistaken for its own.

The index folder carries ``medcite-lexical.json`` with the store id, the generation it reflects,
its format version and its document count. :meth:`TantivyIndex.sync`:

* does nothing when the generation matches;
* applies the log entries after its generation (delete each changed passage's row id, re-add the
  passage's current row if it still exists — replaying is idempotent, so a crash between the
  index commit and the sidecar write only costs a replay);
* rebuilds from scratch, into a side folder swapped in atomically, when the index is missing,
  unreadable, inconsistent with its sidecar, from another store or format, or when the log no
  longer reaches back to its generation (pruned) or holds more changes than a rebuild would cost.

A store without the change log (migration not applied) still works: the generation falls back to a
fingerprint of the store and any change triggers a full rebuild.

User text never reaches a query parser: :func:`medcite.index.terms.query_terms` cuts it into plain
words and the query is built from analysed tokens (term or phrase queries), so ``NOT``, ``"``,
``*``, ``:``, ``(`` or ``title:x`` are only ever words.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from medcite.errors import ConfigError
from medcite.index.lexical import Filters, LexicalResult
from medcite.index.terms import fts_or_query, query_terms
from medcite.store.faults import READ_ONLY_ERRNOS, store_fault
from medcite.store.sqlite import Store

#: bump when the schema, the analyser or the sidecar layout changes: older folders are rebuilt
FORMAT_VERSION = 1
TOKENIZER = "medcite_en"
SIDECAR = "medcite-lexical.json"
TEXT_FIELDS = ("title", "heading", "text")

#: the store change log (append to ``medcite.store.migrations.MIGRATIONS`` as one migration)
from medcite.store.migrations import CHANGE_LOG_MIGRATION, CHANGE_LOG_SQL  # noqa: E402



def install_change_log(conn: sqlite3.Connection) -> bool:
    """Apply :data:`CHANGE_LOG_SQL` as a recorded migration if it is not there yet (True when applied).

    The store should instead list ``(CHANGE_LOG_MIGRATION, CHANGE_LOG_SQL)`` in its ``MIGRATIONS``;
    this helper runs the very same migration (same name) for stores opened before that happens.
    """
    from medcite.store.migrations import migrate

    return bool(migrate(conn, [(CHANGE_LOG_MIGRATION, CHANGE_LOG_SQL)]))


def has_change_log(conn: sqlite3.Connection) -> bool:
    return conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'lexical_changes'"
    ).fetchone() is not None


def lexical_generation(conn: sqlite3.Connection) -> int:
    """The store's lexical generation: the last change-log sequence number (0 before any change)."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'lexical_changes'").fetchone()
    return int(row[0]) if row else 0


def prune_change_log(store: Store, upto: int) -> int:
    """Forget change-log entries up to generation ``upto`` (already applied). Needs a write transaction."""
    if not has_change_log(store.conn):
        return 0
    with store.transaction() as conn:
        return conn.execute("DELETE FROM lexical_changes WHERE seq <= ?", (upto,)).rowcount


def _tantivy() -> Any:
    try:
        import tantivy
    except ImportError:
        raise ConfigError(
            "the tantivy lexical engine needs the Python package 'tantivy'",
            hint="pip install tantivy==0.27.0 (or set the lexical engine to fts5)",
        ) from None
    return tantivy


def _analyzer(tv: Any) -> Any:
    # close to FTS5's `porter unicode61 remove_diacritics 2`: split on non-alphanumerics,
    # lower-case, fold diacritics, Porter/Snowball English stemming
    return (
        tv.TextAnalyzerBuilder(tv.Tokenizer.simple())
        .filter(tv.Filter.remove_long(64))
        .filter(tv.Filter.lowercase())
        .filter(tv.Filter.ascii_fold())
        .filter(tv.Filter.stemmer("english"))
        .build()
    )


def _schema(tv: Any) -> Any:
    sb = tv.SchemaBuilder()
    for name in TEXT_FIELDS:
        sb.add_text_field(name, stored=False, tokenizer_name=TOKENIZER, index_option="position")
    sb.add_unsigned_field("id", stored=False, indexed=True, fast=True)
    sb.add_text_field("kind", stored=False, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("source", stored=False, tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("year", stored=False, indexed=True, fast=True)
    return sb.build()


_ROWS_SQL = (
    "SELECT p.id, p.title, p.heading, p.text, d.kind, d.year, d.source "
    "FROM passages p JOIN documents d ON d.doc_id = p.doc_id"
)


class TantivyIndex:
    """BM25 over a tantivy index kept in step with the store by :meth:`sync`."""

    name = "tantivy"

    def __init__(
        self,
        store: Store,
        weights: tuple[float, float, float] = (4.0, 1.5, 1.0),
        *,
        path: Path | str | None = None,
        auto_sync: bool = True,
        writer_heap_mb: int = 128,
        rebuild_share: float = 0.3,
    ) -> None:
        self._tv = _tantivy()
        self.store = store
        self.weights = weights
        self.path = Path(path) if path is not None else Path(str(store.path) + ".tantivy")
        self.auto_sync = auto_sync
        self.writer_heap_mb = writer_heap_mb
        #: a sync that would re-add more than this share of the passages rebuilds instead
        self.rebuild_share = rebuild_share
        self._schema = _schema(self._tv)
        self._analyzer = _analyzer(self._tv)
        self._index: Any = None
        self._searcher: Any = None
        self._meta: dict[str, Any] = {}
        self._df: dict[str, int] = {}
        self._sources: tuple[str, list[str]] | None = None
        self.last_sync: dict[str, Any] = {}
        self._seen: tuple[int, int] | None = None

    # --- store side --------------------------------------------------------------------

    def _store_state(self) -> tuple[str, str, bool]:
        """(store id, generation, incremental possible) as the store sees it now."""
        conn = self.store.conn
        if has_change_log(conn):
            sid = self.store.get_meta("lexical_store_id") or "unknown"
            return sid, str(lexical_generation(conn)), True
        # no change log: any visible change of the store means a rebuild
        fp = self.store.fingerprint()
        n = self.store.passage_count()
        chunker = self.store.get_meta("chunker_version", "") or ""
        return "fingerprint", f"{fp}|{n}|{chunker}", False

    # --- index folder --------------------------------------------------------------------

    def _read_sidecar(self, path: Path) -> dict[str, Any] | None:
        try:
            meta = json.loads((path / SIDECAR).read_text())
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) else None

    def _write_sidecar(self, path: Path, meta: dict[str, Any]) -> None:
        tmp = path / (SIDECAR + ".tmp")
        tmp.write_text(json.dumps(meta, sort_keys=True))
        os.replace(tmp, path / SIDECAR)

    def _open(self) -> bool:
        """Open the folder if it is a usable index of this store (format, sidecar, document count)."""
        self._index = self._searcher = None
        meta = self._read_sidecar(self.path)
        if meta is None or meta.get("format") != FORMAT_VERSION:
            return False
        try:
            if not self._tv.Index.exists(str(self.path)):
                return False
            index = self._tv.Index.open(str(self.path))
            index.register_tokenizer(TOKENIZER, self._analyzer)
            for field in (*TEXT_FIELDS, "kind", "source"):  # raises when the folder's schema lacks a field
                self._tv.Query.term_query(index.schema, field, "x")
            index.reload()
            searcher = index.searcher()
            if int(searcher.num_docs) != int(meta.get("num_docs", -1)):
                return False
            # touch the postings of every segment once: a damaged segment fails here, not mid-search
            searcher.search(self._tv.Query.term_query(self._schema, "text", "medcit"), 1)
        except BaseException as exc:  # noqa: BLE001 - tantivy raises ValueError/OSError/RuntimeError/panics
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            return False
        self._index, self._searcher, self._meta = index, searcher, meta
        self._df.clear()
        return True

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """One syncing process at a time (tantivy allows a single writer per index)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fh = open(str(self.path) + ".lock", "a+")
        except OSError as exc:
            if exc.errno not in READ_ONLY_ERRNOS:
                raise
            yield  # a read-only folder: no process can change the index, so none needs the lock
            return
        with fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # --- sync --------------------------------------------------------------------------

    def sync(self, store: Store | None = None, *, force_rebuild: bool = False) -> dict[str, Any]:
        """Bring the index up to date with the store; returns what was done.

        ``{"action": "none" | "reload" | "incremental" | "rebuild", "generation", "added", "deleted",
        "reason", "seconds"}``.
        """
        if store is not None and store is not self.store:
            self.store = store
            self._seen = None
        started = time.perf_counter()
        try:
            with self._lock():
                self._remove_leftovers()
                out = self._sync_locked(force_rebuild)
        except (OSError, ValueError, RuntimeError) as exc:  # a full disk or a read-only folder: one clear line
            fault = store_fault(exc, self.path)
            if fault is None:
                raise
            raise fault from None
        out["seconds"] = round(time.perf_counter() - started, 3)
        self.last_sync = out
        self._sources = None
        return out

    def _remove_leftovers(self) -> None:
        """Delete side folders of a rebuild that was killed (``.building-<pid>``, ``.old-<pid>``): only the
        process holding the lock builds or swaps, so under the lock every such folder is left over."""
        for stale in self.path.parent.glob(f"{self.path.name}.building-*"):
            shutil.rmtree(stale, ignore_errors=True)
        for stale in self.path.parent.glob(f"{self.path.name}.old-*"):
            shutil.rmtree(stale, ignore_errors=True)

    def _sync_locked(self, force_rebuild: bool) -> dict[str, Any]:
        sid, gen, incremental = self._store_state()
        disk = self._read_sidecar(self.path)
        if force_rebuild:
            return self._rebuild("forced")
        # another process may have advanced or rebuilt the folder since we opened it
        if self._index is None or disk is None or disk.get("build_id") != self._meta.get("build_id"):
            if not self._open():
                return self._rebuild("index missing, unreadable or inconsistent")
        else:
            self._meta = disk
        meta = self._meta
        if meta.get("store_id") != sid:
            return self._rebuild("index belongs to another store")
        if meta.get("generation") == gen:
            if self._searcher is not None:
                self._index.reload()
                self._searcher = self._index.searcher()
            return {"action": "none", "generation": gen, "added": 0, "deleted": 0, "reason": "up to date"}
        if not incremental or meta.get("mode") != "log":
            return self._rebuild("store changed (no change log)")
        return self._apply_changes(int(meta["generation"]), sid)

    def _apply_changes(self, since: int, sid: str) -> dict[str, Any]:
        conn = self.store.conn
        own_txn = not conn.in_transaction
        if own_txn:
            conn.execute("BEGIN")  # one read snapshot: generation, log and rows agree
        try:
            gen = lexical_generation(conn)
            oldest = conn.execute("SELECT min(seq) FROM lexical_changes").fetchone()[0]
            if gen > since and (oldest is None or int(oldest) > since + 1):
                reason = "change log pruned past the index generation"
                ids: list[int] = []
                rows: list[tuple[Any, ...]] = []
            else:
                reason = ""
                ids = [int(r[0]) for r in conn.execute(
                    "SELECT DISTINCT passage FROM lexical_changes WHERE seq > ? AND seq <= ?", (since, gen)
                )]
                n = max(1, self.store.passage_count())
                if len(ids) > max(20_000, self.rebuild_share * n):
                    reason = f"{len(ids)} changed passages: a rebuild is cheaper"
                rows = []
                if not reason:
                    for start in range(0, len(ids), 500):
                        chunk = ids[start : start + 500]
                        marks = ",".join("?" * len(chunk))
                        rows.extend(tuple(r) for r in conn.execute(f"{_ROWS_SQL} WHERE p.id IN ({marks})", chunk))
        finally:
            if own_txn:
                conn.execute("COMMIT")
        if reason:
            return self._rebuild(reason)
        writer = self._index.writer(heap_size=_heap(self.writer_heap_mb, 1), num_threads=1)
        try:
            # by query: delete_documents_by_term does not match u64 terms in tantivy-py 0.27
            for start in range(0, len(ids), 1000):
                writer.delete_documents_by_query(
                    self._tv.Query.term_set_query(self._schema, "id", ids[start : start + 1000])
                )
            for row in rows:
                writer.add_document(self._document(row))
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            try:
                writer.rollback()
            except Exception:  # noqa: BLE001
                pass
            raise
        self._index.reload()
        self._searcher = self._index.searcher()
        meta = dict(self._meta, store_id=sid, generation=str(gen), num_docs=int(self._searcher.num_docs))
        self._write_sidecar(self.path, meta)
        self._meta = meta
        self._df.clear()
        return {"action": "incremental", "generation": str(gen), "added": len(rows),
                "deleted": len(ids) - len(rows), "changed": len(ids), "reason": "store changed"}

    def _rebuild(self, reason: str) -> dict[str, Any]:
        """Build a new index in a side folder and swap it in; a failure (a full disk) removes the side folder
        and leaves the old index as it was."""
        tmp = self.path.with_name(f"{self.path.name}.building-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            return self._build_into(tmp, reason)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _build_into(self, tmp: Path, reason: str) -> dict[str, Any]:
        tmp.mkdir(parents=True)
        index = self._tv.Index(self._schema, str(tmp), reuse=False)
        index.register_tokenizer(TOKENIZER, self._analyzer)
        # one indexing thread per ~100k passages (each thread writes its own segments), at most 4
        threads = max(1, min(4, os.cpu_count() or 1, self.store.passage_count() // 100_000 + 1))
        writer = index.writer(heap_size=_heap(self.writer_heap_mb, threads), num_threads=threads)
        conn = self.store.conn
        own_txn = not conn.in_transaction
        if own_txn:
            conn.execute("BEGIN")
        try:
            sid, gen, incremental = self._store_state()
            added = 0
            cur = conn.execute(_ROWS_SQL)
            while True:
                batch = cur.fetchmany(2000)
                if not batch:
                    break
                for row in batch:
                    writer.add_document(self._document(tuple(row)))
                added += len(batch)
        finally:
            if own_txn:
                conn.execute("COMMIT")
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        searcher = index.searcher()
        meta = {
            "format": FORMAT_VERSION,
            "store_id": sid,
            "generation": gen,
            "mode": "log" if incremental else "fingerprint",
            "num_docs": int(searcher.num_docs),
            "build_id": uuid.uuid4().hex,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self._write_sidecar(tmp, meta)
        del writer, searcher, index
        old = self.path.with_name(f"{self.path.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        if self.path.exists() or self.path.is_symlink():
            if self.path.is_dir() and not self.path.is_symlink():
                os.replace(self.path, old)
            else:
                self.path.unlink()
        os.replace(tmp, self.path)
        shutil.rmtree(old, ignore_errors=True)
        if not self._open():  # pragma: no cover - a fresh build that does not open is a bug
            raise RuntimeError(f"the freshly built lexical index {self.path} cannot be opened")
        return {"action": "rebuild", "generation": gen, "added": added, "deleted": 0, "reason": reason}

    def _document(self, row: tuple[Any, ...]) -> Any:
        pid, title, heading, text, kind, year, source = row
        doc = self._tv.Document()
        doc.add_unsigned("id", int(pid))
        if title:
            doc.add_text("title", title)
        if heading:
            doc.add_text("heading", heading)
        if text:
            doc.add_text("text", text)
        doc.add_text("kind", kind or "")
        doc.add_text("source", source or "")
        if year is not None:
            try:
                doc.add_integer("year", int(year))
            except (TypeError, ValueError):
                pass
        return doc

    def _change_token(self) -> tuple[int, int]:
        """Changes whenever any connection commits to the store (``data_version`` covers the others,
        ``total_changes`` this one): microseconds, unlike the fingerprint of a store without a log."""
        conn = self.store.conn
        return int(conn.execute("PRAGMA data_version").fetchone()[0]), int(conn.total_changes)

    def ensure_current(self) -> None:
        """Sync when the store moved on since the last look (one PRAGMA on the hot path)."""
        token = self._change_token()
        if self._index is not None and token == self._seen:
            return
        if self._index is None:
            self.sync()
        else:
            sid, gen, _ = self._store_state()
            if self._meta.get("generation") != gen or self._meta.get("store_id") != sid:
                self.sync()
        self._seen = token

    def close(self) -> None:
        self._index = self._searcher = None

    # --- search ------------------------------------------------------------------------

    def _tokens(self, term: str) -> list[str]:
        return [t for t in self._analyzer.analyze(term) if t]

    def _text_query(self, terms: list[str]) -> Any:
        tv = self._tv
        clauses = []
        for term in terms:
            toks = self._tokens(term)
            if not toks:
                continue
            for field, weight in zip(TEXT_FIELDS, self.weights):
                if weight <= 0:
                    continue
                q = (tv.Query.term_query(self._schema, field, toks[0]) if len(toks) == 1
                     else tv.Query.phrase_query(self._schema, field, toks))
                if weight != 1.0:
                    q = tv.Query.boost_query(q, float(weight))
                clauses.append((tv.Occur.Should, q))
        if not clauses:
            return None
        return tv.Query.boolean_query(clauses)

    def _filter_queries(self, filters: Filters) -> list[Any] | None:
        """Filter clauses; None when the filter can match nothing."""
        tv = self._tv
        out = []
        if filters.kinds:
            out.append(tv.Query.term_set_query(self._schema, "kind", list(filters.kinds)))
        if filters.year_min is not None or filters.year_max is not None:
            out.append(tv.Query.range_query(
                self._schema, "year", tv.FieldType.Integer, filters.year_min, filters.year_max, True, True
            ))
        if filters.sources:
            needles = [s.lower() for s in filters.sources]
            matching = [s for s in self._all_sources() if any(n in s.lower() for n in needles)]
            if not matching:
                return None
            out.append(tv.Query.term_set_query(self._schema, "source", matching))
        return out

    def _all_sources(self) -> list[str]:
        gen = str(self._meta.get("generation"))
        if self._sources is None or self._sources[0] != gen:
            vals = [r[0] or "" for r in self.store.conn.execute("SELECT DISTINCT source FROM documents")]
            self._sources = (gen, vals)
        return self._sources[1]

    def search_ids(
        self, text: str, k: int, filters: Filters | None = None, *, terms: list[str] | None = None
    ) -> LexicalResult:
        started = time.perf_counter()
        terms = terms if terms is not None else query_terms(text)
        if not terms:
            return LexicalResult([], "", [], [], 0.0)
        match = fts_or_query(terms)
        if self.auto_sync or self._index is None:
            self.ensure_current()
        query = self._text_query(terms)
        if query is None or k <= 0:
            return LexicalResult(terms, match, [], [], (time.perf_counter() - started) * 1000)
        if filters is not None and not filters.empty:
            fq = self._filter_queries(filters)
            if fq is None:
                return LexicalResult(terms, match, [], [], (time.perf_counter() - started) * 1000)
            tv = self._tv
            query = tv.Query.boolean_query(
                [(tv.Occur.Must, query)] + [(tv.Occur.Must, tv.Query.const_score_query(q, 0.0)) for q in fq]
            )
        try:
            res = self._searcher.search(query, int(k), count=False)
            hits = res.hits
            ids = self._searcher.fast_field_values("id", [addr for _, addr in hits])
        except ValueError:
            # a damaged index: rebuild once from the store, then search again
            self.sync(force_rebuild=True)
            res = self._searcher.search(query, int(k), count=False)
            hits = res.hits
            ids = self._searcher.fast_field_values("id", [addr for _, addr in hits])
        # equal scores in passage order: the order within a tie must not depend on how the index happens to
        # be split into segments (a fresh build and an incrementally synced one give the same answers)
        ranked = sorted(zip((float(s) for s, _ in hits), (int(i) for i in ids)), key=lambda p: (-p[0], p[1]))
        out_ids = [i for _, i in ranked]
        scores = [s for s, _ in ranked]
        return LexicalResult(terms, match, out_ids, scores, (time.perf_counter() - started) * 1000)

    def passage_total(self) -> int:
        """Passages in the index (the store's count once synced)."""
        if self._index is None:
            self.ensure_current()
        return max(1, int(self._searcher.num_docs))

    def df(self, term: str) -> int:
        """How many passages contain ``term`` after analysis (any field; a phrase counts as its rarest
        word; cached until the next sync)."""
        if self._index is None:
            self.ensure_current()
        df = self._df.get(term)
        if df is None:
            toks = self._tokens(term)
            df = 0
            if toks:
                df = min(max(int(self._searcher.doc_freq(f, t)) for f in TEXT_FIELDS) for t in toks)
            if len(self._df) > 50_000:
                self._df.clear()
            self._df[term] = df
        return df

    def idf(self, term: str) -> float:
        """BM25-style inverse document frequency of ``term`` over passages."""
        n = self.passage_total()
        df = self.df(term)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))


def _heap(mb: int, threads: int) -> int:
    return max(int(mb) * 1024 * 1024, 16 * 1024 * 1024 * threads)

