"""Named, transactional schema migrations, recorded in the ``_migrations`` table.

Each migration runs in its own transaction together with the row that records it, so a crash
never leaves a half-applied schema. New migrations are appended; applied ones are never edited.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

#: the passage change log external lexical indexes (tantivy) follow — see index/tantivy_index.py
CHANGE_LOG_MIGRATION = "0004_lexical_change_log"
CHANGE_LOG_SQL = """
-- every passage row id whose indexed content changed, in commit order; the AUTOINCREMENT sequence
-- is the lexical generation that external indexes (tantivy) compare against
CREATE TABLE lexical_changes (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    passage INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta(key, value) VALUES ('lexical_store_id', lower(hex(randomblob(16))));
CREATE TRIGGER lexical_changes_ai AFTER INSERT ON passages BEGIN
    INSERT INTO lexical_changes(passage) VALUES (new.id);
END;
CREATE TRIGGER lexical_changes_ad AFTER DELETE ON passages BEGIN
    INSERT INTO lexical_changes(passage) VALUES (old.id);
END;
CREATE TRIGGER lexical_changes_au AFTER UPDATE ON passages BEGIN
    INSERT INTO lexical_changes(passage) VALUES (old.id);
    INSERT INTO lexical_changes(passage) SELECT new.id WHERE new.id <> old.id;
END;
CREATE TRIGGER lexical_changes_du AFTER UPDATE OF kind, year, source ON documents BEGIN
    INSERT INTO lexical_changes(passage) SELECT id FROM passages WHERE doc_id = new.doc_id;
END;
"""


MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_documents_sections_passages",
        """
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE documents (
            doc_id            TEXT PRIMARY KEY,
            kind              TEXT NOT NULL,
            title             TEXT NOT NULL,
            source            TEXT NOT NULL DEFAULT '',
            date              TEXT,
            year              INTEGER,
            authors           TEXT NOT NULL DEFAULT '[]',
            url               TEXT NOT NULL DEFAULT '',
            pmid              TEXT,
            pmcid             TEXT,
            doi               TEXT,
            mesh_terms        TEXT NOT NULL DEFAULT '[]',
            publication_types TEXT NOT NULL DEFAULT '[]',
            license           TEXT NOT NULL DEFAULT '',
            status            TEXT NOT NULL DEFAULT 'active',
            version           INTEGER NOT NULL DEFAULT 1,
            metadata          TEXT NOT NULL DEFAULT '{}',
            parser            TEXT NOT NULL,
            origin            TEXT NOT NULL,
            content_hash      TEXT NOT NULL,
            ingested_at       TEXT NOT NULL,
            updated_at        TEXT NOT NULL
        );
        CREATE INDEX documents_kind ON documents(kind);
        CREATE INDEX documents_status ON documents(status);
        CREATE INDEX documents_source ON documents(source);
        CREATE INDEX documents_pmid ON documents(pmid);

        CREATE TABLE sections (
            doc_id  TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
            ord     INTEGER NOT NULL,
            heading TEXT NOT NULL,
            text    TEXT NOT NULL,
            PRIMARY KEY (doc_id, ord)
        ) WITHOUT ROWID;

        -- passages of searchable documents only (active, superseded); rows of deleted or
        -- retracted documents are removed, their sections stay for display and audit
        CREATE TABLE passages (
            id          INTEGER PRIMARY KEY,
            passage_id  TEXT NOT NULL UNIQUE,
            doc_id      TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
            section_ord INTEGER NOT NULL,
            heading     TEXT NOT NULL,
            start       INTEGER NOT NULL,
            end         INTEGER NOT NULL,
            title       TEXT NOT NULL,
            text        TEXT NOT NULL
        );
        CREATE INDEX passages_doc ON passages(doc_id);

        CREATE VIRTUAL TABLE passages_fts USING fts5(
            title, heading, text,
            content='passages', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER passages_ai AFTER INSERT ON passages BEGIN
            INSERT INTO passages_fts(rowid, title, heading, text)
            VALUES (new.id, new.title, new.heading, new.text);
        END;
        CREATE TRIGGER passages_ad AFTER DELETE ON passages BEGIN
            INSERT INTO passages_fts(passages_fts, rowid, title, heading, text)
            VALUES ('delete', old.id, old.title, old.heading, old.text);
        END;
        CREATE TRIGGER passages_au AFTER UPDATE ON passages BEGIN
            INSERT INTO passages_fts(passages_fts, rowid, title, heading, text)
            VALUES ('delete', old.id, old.title, old.heading, old.text);
            INSERT INTO passages_fts(rowid, title, heading, text)
            VALUES (new.id, new.title, new.heading, new.text);
        END;
        """,
    ),
    (
        "0002_asked_questions",
        """
        -- questions asked through medcite (PHI-redacted before they are stored), for related-question
        -- suggestions; one row per distinct question and audience
        CREATE TABLE asked_questions (
            question   TEXT NOT NULL,
            audience   TEXT NOT NULL,
            times      INTEGER NOT NULL DEFAULT 1,
            first_at   TEXT NOT NULL,
            last_at    TEXT NOT NULL,
            PRIMARY KEY (question, audience)
        ) WITHOUT ROWID;
        """,
    ),
    (
        "0003_threads",
        """
        -- follow-up threads: each turn keeps the (PHI-redacted) question and the answer JSON
        CREATE TABLE threads (
            thread_id  TEXT PRIMARY KEY,
            audience   TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE thread_turns (
            thread_id  TEXT NOT NULL REFERENCES threads(thread_id) ON DELETE CASCADE,
            turn       INTEGER NOT NULL,
            question   TEXT NOT NULL,
            answer     TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (thread_id, turn)
        ) WITHOUT ROWID;
        """,
    ),
    (CHANGE_LOG_MIGRATION, CHANGE_LOG_SQL),
    (
        "0005_document_notices",
        """
        -- retraction, erratum and expression-of-concern notices about a document, read from the notice's own
        -- record (PubMed RetractionOf / ErratumFor / ExpressionOfConcernFor); the target may not be in the store
        -- yet: the notice is kept and applied when it arrives
        CREATE TABLE document_notices (
            target      TEXT NOT NULL,
            notice      TEXT NOT NULL,
            source_doc  TEXT NOT NULL,
            ref_source  TEXT NOT NULL DEFAULT '',
            origin      TEXT NOT NULL DEFAULT '',
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (target, notice, source_doc)
        ) WITHOUT ROWID;
        """,
    ),
    (
        "0006_sync_files",
        """
        -- remote files (PubMed baseline and update files) that `medcite sync` downloaded, verified and ingested;
        -- a row is written only after the file's ingest transaction committed, so a re-run skips exactly these
        CREATE TABLE sync_files (
            source      TEXT NOT NULL,
            name        TEXT NOT NULL,
            kind        TEXT NOT NULL,
            md5         TEXT NOT NULL,
            size        INTEGER NOT NULL,
            records     INTEGER NOT NULL,
            deletions   INTEGER NOT NULL,
            finished_at TEXT NOT NULL,
            PRIMARY KEY (source, name)
        ) WITHOUT ROWID;
        """,
    ),
    (
        "0007_documents_updated_at",
        """
        -- the corpus fingerprint (Store.fingerprint, on every answer) reads the newest updated_at: from this index's
        -- last entry instead of a scan of every document row
        CREATE INDEX documents_updated_at ON documents(updated_at);
        """,
    ),
]


def applied(conn: sqlite3.Connection) -> set[str]:
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    return {row[0] for row in conn.execute("SELECT name FROM _migrations")}


def migrate(conn: sqlite3.Connection, migrations: list[tuple[str, str]] | None = None) -> list[str]:
    """Apply pending migrations in order, each in one transaction; return the names applied."""
    done = applied(conn)
    ran: list[str] = []
    for name, sql in migrations or MIGRATIONS:
        if name in done:
            continue
        statements = [s for s in _split_sql(sql) if s.strip()]
        conn.execute("BEGIN IMMEDIATE")
        if conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
            conn.execute("COMMIT")  # another process applied it while this one waited for the lock
            continue
        try:
            for stmt in statements:
                conn.execute(stmt)
            conn.execute(
                "INSERT INTO _migrations(name, applied_at) VALUES (?, ?)",
                (name, datetime.now(timezone.utc).isoformat(timespec="seconds")),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        ran.append(name)
    return ran


def _split_sql(script: str) -> list[str]:
    """Split a script into complete statements (trigger bodies contain ';')."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf)
            buf = ""
    if buf.strip():
        out.append(buf)
    return out
