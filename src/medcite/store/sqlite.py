"""The SQLite evidence store: one file, WAL, foreign keys, named migrations, FTS5 kept in step by triggers."""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from medcite.domain import (
    NOTICE_LABELS,
    RETRACTED,
    SEARCHABLE_STATUSES,
    Document,
    DocKind,
    DocStatus,
    Passage,
    Section,
    own_notices,
    worst_notice,
)
from medcite.errors import NotFound, ReindexRequired, StoreError
from medcite.store.faults import read_only, store_fault, writable
from medcite.store.migrations import MIGRATIONS, migrate

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA cache_size=-65536",
    "PRAGMA mmap_size=134217728",
    "PRAGMA temp_store=MEMORY",
)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Store:
    """Documents, sections and passages in one SQLite file.

    The connection runs in autocommit mode; writes go through :meth:`transaction`, so one ingested
    file is one transaction and a failure rolls all of it back.
    """

    def __init__(self, path: Path | str, *, create: bool = True, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        #: seconds a write waits for another process's write to finish before giving up with a clear error
        self.busy_timeout = float(busy_timeout)
        #: opened read-only (the file or its folder cannot be written): reads work, writes raise StoreError
        self.read_only = False
        if not create and not self.path.exists():
            raise StoreError(
                f"no evidence store at {self.path}",
                hint="run `medcite ingest PATH` (or `medcite demo`) first, or point --db / MEDCITE_DB at one",
            )
        try:
            if self.path.exists() and not writable(self.path):
                self._open_read_only()
            else:
                if self.path.parent and not self.path.parent.exists():
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    self._open_read_write()
                except sqlite3.OperationalError as exc:
                    fault = store_fault(exc, self.path)
                    if fault is None or "read-only" not in fault.message or not self.path.exists():
                        raise
                    self._open_read_only()
        except sqlite3.DatabaseError as exc:
            fault = store_fault(exc, self.path, waited=self.busy_timeout)
            if fault is not None:
                raise fault from None
            raise StoreError(
                f"cannot open the evidence store {self.path}: {exc}",
                hint="is it a medcite database? Move it aside and re-run `medcite ingest`",
            ) from None

    def _open_read_write(self) -> None:
        # the busy handler is set before the first statement, so a writer opening it at the same time waits
        self.conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False,
                                    timeout=self.busy_timeout)
        try:
            for pragma in _PRAGMAS:
                self.conn.execute(pragma)
            self.conn.row_factory = sqlite3.Row
            migrate(self.conn)
        except BaseException:
            self.conn.close()
            raise

    def _open_read_only(self) -> None:
        """Open for reading only: ``mode=ro``, or ``immutable=1`` when even the WAL index cannot be opened."""
        from urllib.parse import quote

        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False,
                                   timeout=self.busy_timeout)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            conn = sqlite3.connect(uri + "&immutable=1", uri=True, isolation_level=None, check_same_thread=False)
        for pragma in _PRAGMAS[1:]:  # not journal_mode: that is a write
            conn.execute(pragma)
        conn.row_factory = sqlite3.Row
        self.conn, self.read_only = conn, True
        try:
            done = {r[0] for r in conn.execute("SELECT name FROM _migrations")}
        except sqlite3.OperationalError:
            done = set()
        if any(name not in done for name, _ in MIGRATIONS):
            conn.close()
            raise StoreError(
                f"the store is read-only: {self.path}, and it needs an upgrade this medcite would write",
                hint="make the file and its folder writable once and run any medcite command",
            )

    # --- housekeeping ----------------------------------------------------------------------

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction. A busy store (another writer past ``busy_timeout``), a full disk or a
        read-only store raise a clear :class:`StoreError`; nothing of the transaction is kept."""
        with self.faults():
            self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException as exc:
            if self.conn.in_transaction:  # SQLite may already have rolled back (a full disk)
                self.conn.execute("ROLLBACK")
            fault = store_fault(exc, self.path, waited=self.busy_timeout) if isinstance(exc, sqlite3.Error) else None
            if fault is not None:
                raise fault from None
            raise
        else:
            with self.faults():
                try:
                    self.conn.execute("COMMIT")
                except BaseException:
                    if self.conn.in_transaction:
                        self.conn.execute("ROLLBACK")
                    raise

    @contextmanager
    def faults(self) -> Iterator[None]:
        """Turn SQLite and file-system faults (busy, disk full, read-only) into one clear StoreError."""
        if self.read_only:
            try:
                yield
            except sqlite3.OperationalError as exc:
                if store_fault(exc, self.path) is None:
                    raise
                raise read_only(self.path) from None
            return
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            fault = store_fault(exc, self.path, waited=self.busy_timeout)
            if fault is None:
                raise
            raise fault from None

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.faults():
            self.conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def check_fingerprint(self, key: str, expected: str, what: str) -> None:
        """Record ``expected`` under ``key`` on first use; raise ReindexRequired on a mismatch."""
        current = self.get_meta(key)
        if current is None:
            if not self.read_only:
                self.set_meta(key, expected)
        elif current != expected:
            raise ReindexRequired(
                f"the store was built with {what} {current!r} but this medcite uses {expected!r}",
                hint="run `medcite reindex` to rebuild passages and indexes",
            )

    # --- writes --------------------------------------------------------------------------

    def upsert_document(
        self,
        doc: Document,
        make_passages: Callable[[Document], Sequence[Passage]],
        *,
        parser: str,
        origin: str,
    ) -> tuple[str, int]:
        """Insert or replace a document; returns (``added``/``updated``/``unchanged``/``older``, passages).

        Must run inside :meth:`transaction`. An older ``version`` never replaces a newer one. Passages
        are only computed when the document is new or changed, so a re-ingest costs one lookup.
        """
        content_hash = doc.content_hash()
        row = self.conn.execute(
            "SELECT content_hash, version, status FROM documents WHERE doc_id = ?", (doc.doc_id,)
        ).fetchone()
        now = _now()
        if doc.status.value in SEARCHABLE_STATUSES and self._retraction_noticed(doc.doc_id):
            doc = replace(doc, status=DocStatus.RETRACTED)  # its retraction notice came first (hash unchanged)
        if row is not None:
            if row["content_hash"] == content_hash:
                return "unchanged", 0
            if row["status"] == DocStatus.DELETED.value and doc.version <= row["version"]:
                return "unchanged", 0  # deleted upstream: an older or equal copy does not resurrect it
            if row["version"] > doc.version:
                return "older", 0
            self.conn.execute("DELETE FROM passages WHERE doc_id = ?", (doc.doc_id,))
            self.conn.execute("DELETE FROM sections WHERE doc_id = ?", (doc.doc_id,))
            self.conn.execute(
                """UPDATE documents SET kind=?, title=?, source=?, date=?, year=?, authors=?, url=?, pmid=?,
                   pmcid=?, doi=?, mesh_terms=?, publication_types=?, license=?, status=?, version=?, metadata=?,
                   parser=?, origin=?, content_hash=?, updated_at=? WHERE doc_id=?""",
                (*self._doc_values(doc), parser, origin, content_hash, now, doc.doc_id),
            )
            outcome = "updated"
        else:
            self.conn.execute(
                """INSERT INTO documents(kind, title, source, date, year, authors, url, pmid, pmcid, doi,
                   mesh_terms, publication_types, license, status, version, metadata, parser, origin,
                   content_hash, ingested_at, updated_at, doc_id)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                (*self._doc_values(doc), parser, origin, content_hash, now, now, doc.doc_id),
            )
            outcome = "added"
        self.conn.executemany(
            "INSERT INTO sections(doc_id, ord, heading, text) VALUES (?,?,?,?)",
            [(doc.doc_id, i, s.heading, s.text) for i, s in enumerate(doc.sections)],
        )
        passages = make_passages(doc) if doc.status.value in SEARCHABLE_STATUSES else ()
        if passages:
            self.conn.executemany(
                """INSERT INTO passages(passage_id, doc_id, section_ord, heading, start, end, title, text)
                   VALUES (?,?,?,?,?,?,?,?)""",
                [
                    (p.passage_id, p.doc_id, p.section_index, p.heading, p.start, p.end, doc.title, p.text)
                    for p in passages
                ],
            )
        return outcome, len(passages)

    @staticmethod
    def _doc_values(doc: Document) -> tuple[Any, ...]:
        return (
            doc.kind.value,
            doc.title,
            doc.source,
            doc.date,
            doc.year,
            json.dumps(list(doc.authors), ensure_ascii=False),
            doc.url,
            doc.pmid,
            doc.pmcid,
            doc.doi,
            json.dumps(list(doc.mesh_terms), ensure_ascii=False),
            json.dumps(list(doc.publication_types), ensure_ascii=False),
            doc.license,
            doc.status.value,
            doc.version,
            json.dumps(dict(doc.metadata), ensure_ascii=False, sort_keys=True, default=str),
        )

    def set_status(self, doc_id: str, status: DocStatus, *, version: int = 1, parser: str = "", origin: str = "") -> bool:
        """Change a document's status; passages leave the index when it stops being searchable.

        Deleting an unknown document records a tombstone (no sections) so an older copy ingested
        later stays deleted. Returns True when something changed. Must run inside :meth:`transaction`.
        """
        row = self.conn.execute("SELECT status FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is None:
            if status is not DocStatus.DELETED:
                return False
            now = _now()
            self.conn.execute(
                """INSERT INTO documents(doc_id, kind, title, status, version, parser, origin, content_hash,
                   ingested_at, updated_at) VALUES (?, 'other', '', 'deleted', ?, ?, ?, 'tombstone', ?, ?)""",
                (doc_id, version, parser, origin, now, now),
            )
            return True
        if row["status"] == status.value:
            return False
        self.conn.execute(
            "UPDATE documents SET status = ?, updated_at = ? WHERE doc_id = ?", (status.value, _now(), doc_id)
        )
        if status.value not in SEARCHABLE_STATUSES:
            self.conn.execute("DELETE FROM passages WHERE doc_id = ?", (doc_id,))
        return True

    # --- retractions and corrections -------------------------------------------------------

    def _retraction_noticed(self, doc_id: str) -> bool:
        return self.conn.execute(
            "SELECT 1 FROM document_notices WHERE target = ? AND notice = ? LIMIT 1", (doc_id, RETRACTED)
        ).fetchone() is not None

    def record_notice(self, target: str, notice: str, source_doc: str, *, ref_source: str = "",
                      origin: str = "") -> str:
        """Record that ``source_doc`` (a retraction notice, erratum or expression of concern) is about ``target``.

        A retraction takes the target out of search (status ``retracted``), now or when it arrives later; an
        erratum or expression of concern only marks it. Returns ``"retracted"`` when the target stopped being
        searchable now, ``"marked"`` when a stored target got a new notice, ``"pending"`` when the target is not
        in the store yet, ``""`` when the notice was already known. Must run inside :meth:`transaction`.
        """
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO document_notices(target, notice, source_doc, ref_source, origin, recorded_at) "
            "VALUES (?,?,?,?,?,?)", (target, notice, source_doc, ref_source, origin, _now()))
        new = cur.rowcount == 1
        row = self.conn.execute("SELECT status FROM documents WHERE doc_id = ?", (target,)).fetchone()
        if row is None:
            return "pending" if new else ""
        if notice == RETRACTED and row["status"] in SEARCHABLE_STATUSES:
            self.set_status(target, DocStatus.RETRACTED)
            return "retracted"
        if new:
            self.conn.execute("UPDATE documents SET updated_at = ? WHERE doc_id = ?", (_now(), target))
            return "marked"
        return ""

    def notices(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """The most serious notice per document (``retracted``, ``expression_of_concern``, ``erratum``), from
        its status, its own record (``RetractionIn`` …) and notices about it; documents without one are left out."""
        found: dict[str, list[str]] = {}
        ids = list(dict.fromkeys(doc_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.conn.execute(
                f"SELECT doc_id, status, metadata FROM documents WHERE doc_id IN ({marks})", chunk
            ):
                mine = own_notices(json.loads(r["metadata"] or "{}"))
                if r["status"] == DocStatus.RETRACTED.value:
                    mine.append(RETRACTED)
                found.setdefault(r["doc_id"], []).extend(mine)
            for r in self.conn.execute(
                f"SELECT target, notice FROM document_notices WHERE target IN ({marks})", chunk
            ):
                found.setdefault(r["target"], []).append(r["notice"])
        out = {doc_id: worst_notice(ns) for doc_id, ns in found.items()}
        return {k: v for k, v in out.items() if v}

    def notice_details(self, doc_id: str) -> list[dict[str, Any]]:
        """Every notice about a document, most serious first: ``{notice, label, doc_id, pmid, ref_source}``
        (``doc_id`` of the notice's record when it is in the store or named by PMID, else '')."""
        out: list[dict[str, Any]] = []
        row = self.conn.execute("SELECT status, metadata FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is not None:
            for c in json.loads(row["metadata"] or "{}").get("corrections") or ():
                kinds = own_notices({"corrections": [c]})
                if kinds:
                    pmid = str(c.get("pmid") or "")
                    out.append({"notice": kinds[0], "doc_id": f"pmid:{pmid}" if pmid else "", "pmid": pmid,
                                "ref_source": str(c.get("ref_source") or "")})
        for r in self.conn.execute(
            "SELECT notice, source_doc FROM document_notices WHERE target = ? ORDER BY recorded_at, source_doc",
            (doc_id,),
        ):  # (the row's ref_source cites the target itself: nothing to show on the target's page)
            if any(d["notice"] == r["notice"] and d["doc_id"] == r["source_doc"] for d in out):
                continue
            pmid = r["source_doc"][5:] if r["source_doc"].startswith("pmid:") else ""
            out.append({"notice": r["notice"], "doc_id": r["source_doc"], "pmid": pmid, "ref_source": ""})
        if row is not None and row["status"] == DocStatus.RETRACTED.value and not any(
            d["notice"] == RETRACTED for d in out
        ):
            out.append({"notice": RETRACTED, "doc_id": "", "pmid": "", "ref_source": ""})  # "Retracted Publication"
        order = {n: i for i, n in enumerate(NOTICE_LABELS)}
        out.sort(key=lambda d: order.get(d["notice"], 99))
        for d in out:
            d["label"] = NOTICE_LABELS.get(d["notice"], d["notice"])
        return out

    # --- reads ---------------------------------------------------------------------------

    def document_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM documents").fetchone()[0])

    def passage_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM passages").fetchone()[0])

    def get_document(self, doc_id: str) -> Document:
        row = self.conn.execute("SELECT * FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is None:
            raise NotFound(f"no document {doc_id!r} in the store", hint="check the id with `medcite search`")
        sections = tuple(
            Section(r["heading"], r["text"])
            for r in self.conn.execute("SELECT heading, text FROM sections WHERE doc_id = ? ORDER BY ord", (doc_id,))
        )
        return row_to_document(row, sections)

    def get_passages(self, ids: Sequence[int]) -> dict[int, sqlite3.Row]:
        """Passages with their document's metadata, by integer row id."""
        if not ids:
            return {}
        out: dict[int, sqlite3.Row] = {}
        for chunk_start in range(0, len(ids), 500):
            chunk = list(ids[chunk_start : chunk_start + 500])
            marks = ",".join("?" * len(chunk))
            for r in self.conn.execute(
                f"""SELECT p.id, p.passage_id, p.doc_id, p.section_ord, p.heading, p.start, p.end, p.title, p.text,
                           d.kind, d.source, d.year, d.date, d.status, d.url, d.publication_types, d.metadata
                    FROM passages p JOIN documents d ON d.doc_id = p.doc_id WHERE p.id IN ({marks})""",
                chunk,
            ):
                out[r["id"]] = r
        return out

    def document_rows(self, doc_ids: Sequence[str]) -> dict[str, sqlite3.Row]:
        """Document metadata rows (no sections) by id."""
        out: dict[str, sqlite3.Row] = {}
        ids = list(dict.fromkeys(doc_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.conn.execute(f"SELECT * FROM documents WHERE doc_id IN ({marks})", chunk):
                out[r["doc_id"]] = r
        return out

    def passage_meta(self, ids: Sequence[int]) -> dict[int, tuple[str, str, int | None, str]]:
        """(doc_id, kind, year, status) by passage row id — what ranking needs, without the text."""
        out: dict[int, tuple[str, str, int | None, str]] = {}
        ids = list(ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.conn.execute(
                f"""SELECT p.id, p.doc_id, d.kind, d.year, d.status FROM passages p
                    JOIN documents d ON d.doc_id = p.doc_id WHERE p.id IN ({marks})""",
                chunk,
            ):
                out[r[0]] = (r[1], r[2], r[3], r[4])
        return out

    def get_passage(self, passage_id: str) -> sqlite3.Row:
        row = self.conn.execute(
            "SELECT id FROM passages WHERE passage_id = ?", (passage_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no passage {passage_id!r} in the store")
        return self.get_passages([row["id"]])[row["id"]]

    def stats(self) -> dict[str, Any]:
        """Counts of documents and passages by kind, source and status."""
        c = self.conn

        def grouped(sql: str) -> dict[str, int]:
            return {str(k): int(v) for k, v in c.execute(sql)}

        return {
            "documents": self.document_count(),
            "passages": self.passage_count(),
            "documents_by_kind": grouped("SELECT kind, count(*) FROM documents GROUP BY kind ORDER BY kind"),
            "documents_by_status": grouped("SELECT status, count(*) FROM documents GROUP BY status ORDER BY status"),
            "documents_by_source": grouped(
                "SELECT source, count(*) FROM documents GROUP BY source ORDER BY count(*) DESC, source"
            ),
            "passages_by_kind": grouped(
                "SELECT d.kind, count(*) FROM passages p JOIN documents d ON d.doc_id = p.doc_id "
                "GROUP BY d.kind ORDER BY d.kind"
            ),
        }

    def fingerprint(self) -> str:
        """Changes whenever the corpus changes (used to label answers and caches).

        Cached until this or another connection commits a change (``PRAGMA data_version``).
        """
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        cached = getattr(self, "_fingerprint", None)
        if cached and cached[0] == version and cached[1] == self.conn.total_changes:
            return cached[2]
        # one statement (one snapshot) of four subqueries, each of which SQLite answers from a b-tree's count or
        # an index's last entry (~2 ms); as two aggregates of two columns each, both tables were scanned (~50 ms)
        docs, passage_max, passages, updated = self.conn.execute(
            "SELECT (SELECT count(*) FROM documents), (SELECT coalesce(max(id), 0) FROM passages), "
            "(SELECT count(*) FROM passages), (SELECT coalesce(max(updated_at), '') FROM documents)"
        ).fetchone()
        fp = f"{docs}-{passage_max}-{passages}-{updated}"
        self._fingerprint = (version, self.conn.total_changes, fp)
        return fp


def row_to_document(row: sqlite3.Row, sections: tuple[Section, ...]) -> Document:
    return Document(
        doc_id=row["doc_id"],
        kind=DocKind(row["kind"]),
        title=row["title"],
        sections=sections,
        source=row["source"],
        date=row["date"],
        year=row["year"],
        authors=tuple(json.loads(row["authors"])),
        url=row["url"],
        pmid=row["pmid"],
        pmcid=row["pmcid"],
        doi=row["doi"],
        mesh_terms=tuple(json.loads(row["mesh_terms"])),
        publication_types=tuple(json.loads(row["publication_types"])),
        license=row["license"],
        status=DocStatus(row["status"]),
        version=row["version"],
        metadata=json.loads(row["metadata"]),
    )
