"""A tiny database layer for the editorial workflow: the same named migrations on SQLite and PostgreSQL.

``connect(url)`` accepts a file path (or ``sqlite:///path``) — by default the evidence store's
file, whose own tables are left alone: every table here is prefixed ``review_`` and migrations are
recorded in ``_review_migrations`` — or a ``postgresql://…`` URL (psycopg 3).

SQL is written once, portably: TEXT ids (uuid4 hex), ISO-8601 UTC timestamps as TEXT, INTEGER for
counters and booleans, ``?`` placeholders (translated to ``%s`` for psycopg), no AUTOINCREMENT/SERIAL.

Thread-safety: **one connection per thread** (``threading.local``). The web app may call from a
threadpool; each worker thread lazily opens its own connection, which is closed when the thread
ends (the connection object is garbage collected) or on :meth:`ReviewDB.close`. A transaction
belongs to the thread that opened it; a nested ``transaction()`` in the same thread joins the
outer one. On SQLite, write transactions start with ``BEGIN IMMEDIATE`` (writers queue on
``busy_timeout``, WAL lets readers go on); on PostgreSQL they run at READ COMMITTED, and the
workflow relies on conditional ``UPDATE … WHERE version = ?`` for correctness (optimistic locking).
"""

from __future__ import annotations

import re
import sqlite3
import threading
import weakref
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence
from urllib.parse import urlsplit, urlunsplit

from medcite.errors import ConfigError, StoreError

# A migration is (name, statements) where statements is a list of SQL statements run on both
# dialects, or a dict {"sqlite": [...], "postgresql": [...]} for the rare dialect-specific step.
Migration = tuple[str, "list[str] | dict[str, list[str]]"]

MIGRATIONS: list[Migration] = [
    (
        "0001_review_users_articles_audit",
        [
            """CREATE TABLE review_users (
                id            TEXT PRIMARY KEY,
                name          TEXT NOT NULL UNIQUE,
                role          TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                created_at    TEXT NOT NULL
            )""",
            """CREATE TABLE review_tokens (
                id           TEXT PRIMARY KEY,
                user_id      TEXT NOT NULL REFERENCES review_users(id),
                label        TEXT NOT NULL DEFAULT '',
                token_hash   TEXT NOT NULL UNIQUE,
                created_at   TEXT NOT NULL,
                last_used_at TEXT,
                revoked_at   TEXT
            )""",
            "CREATE INDEX review_tokens_user ON review_tokens(user_id)",
            """CREATE TABLE review_sessions (
                id_hash    TEXT PRIMARY KEY,
                user_id    TEXT NOT NULL REFERENCES review_users(id),
                csrf_token TEXT NOT NULL,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL
            )""",
            "CREATE INDEX review_sessions_user ON review_sessions(user_id)",
            """CREATE TABLE review_articles (
                id              TEXT PRIMARY KEY,
                title           TEXT NOT NULL,
                state           TEXT NOT NULL,
                audience        TEXT NOT NULL,
                answer          TEXT NOT NULL,
                author_id       TEXT NOT NULL REFERENCES review_users(id),
                reviewer_id     TEXT REFERENCES review_users(id),
                reviewed_by_id  TEXT REFERENCES review_users(id),
                version         INTEGER NOT NULL DEFAULT 1,
                revision        INTEGER NOT NULL DEFAULT 1,
                note            TEXT NOT NULL DEFAULT '',
                created_at      TEXT NOT NULL,
                updated_at      TEXT NOT NULL,
                approved_at     TEXT,
                needs_rereview  INTEGER NOT NULL DEFAULT 0,
                rereview_reason TEXT NOT NULL DEFAULT '',
                rereview_at     TEXT
            )""",
            "CREATE INDEX review_articles_state ON review_articles(state)",
            "CREATE INDEX review_articles_author ON review_articles(author_id)",
            """CREATE TABLE review_versions (
                article_id TEXT NOT NULL REFERENCES review_articles(id),
                number     INTEGER NOT NULL,
                answer     TEXT NOT NULL,
                author_id  TEXT NOT NULL REFERENCES review_users(id),
                created_at TEXT NOT NULL,
                note       TEXT NOT NULL DEFAULT '',
                diff       TEXT NOT NULL DEFAULT '',
                PRIMARY KEY (article_id, number)
            )""",
            """CREATE TABLE review_citations (
                article_id TEXT NOT NULL REFERENCES review_articles(id),
                doc_id     TEXT NOT NULL,
                PRIMARY KEY (article_id, doc_id)
            )""",
            "CREATE INDEX review_citations_doc ON review_citations(doc_id)",
            """CREATE TABLE review_comments (
                id         TEXT PRIMARY KEY,
                article_id TEXT NOT NULL REFERENCES review_articles(id),
                user_id    TEXT NOT NULL REFERENCES review_users(id),
                text       TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX review_comments_article ON review_comments(article_id)",
            """CREATE TABLE review_audit (
                id         TEXT PRIMARY KEY,
                at         TEXT NOT NULL,
                actor_id   TEXT,
                actor_name TEXT NOT NULL DEFAULT '',
                action     TEXT NOT NULL,
                article_id TEXT,
                details    TEXT NOT NULL DEFAULT '{}'
            )""",
            "CREATE INDEX review_audit_at ON review_audit(at)",
            "CREATE INDEX review_audit_article ON review_audit(article_id)",
        ],
    ),
    (
        "0002_review_audit_append_only",
        {
            "sqlite": [
                """CREATE TRIGGER review_audit_no_update BEFORE UPDATE ON review_audit
                   BEGIN SELECT RAISE(ABORT, 'review_audit is append-only'); END""",
                """CREATE TRIGGER review_audit_no_delete BEFORE DELETE ON review_audit
                   BEGIN SELECT RAISE(ABORT, 'review_audit is append-only'); END""",
            ],
            "postgresql": [
                """CREATE FUNCTION review_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                   BEGIN RAISE EXCEPTION 'review_audit is append-only'; END $$""",
                """CREATE TRIGGER review_audit_no_change BEFORE UPDATE OR DELETE ON review_audit
                   FOR EACH ROW EXECUTE FUNCTION review_audit_append_only()""",
            ],
        },
    ),
    (
        # the content revision a reviewer last approved: versions after it need a second pair of eyes
        "0003_review_approved_revision",
        [
            "ALTER TABLE review_articles ADD COLUMN approved_revision INTEGER NOT NULL DEFAULT 0",
            "UPDATE review_articles SET approved_revision = revision WHERE state = 'approved'",
        ],
    ),
    (
        # a disabled account cannot sign in; its sessions end and its API tokens stop working
        "0004_review_users_disabled",
        ["ALTER TABLE review_users ADD COLUMN disabled_at TEXT"],
    ),
]

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=15000",
)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class Tx:
    """The handle a transaction yields: ``execute`` (returns the rowcount), ``one`` and ``all``."""

    def __init__(self, db: "ReviewDB", raw: Any) -> None:
        self._db = db
        self._raw = raw

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = self._raw.execute(self._db.sql(sql), tuple(params))
        return cur.rowcount

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        row = self._raw.execute(self._db.sql(sql), tuple(params)).fetchone()
        return None if row is None else dict(row)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self._raw.execute(self._db.sql(sql), tuple(params)).fetchall()]


class _Conn:
    """One thread's connection; closes the raw connection when collected."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.depth = 0
        self.tx: Tx | None = None

    def close(self) -> None:
        try:
            self.raw.close()
        except Exception:  # pragma: no cover - closing a broken connection
            pass

    def __del__(self) -> None:
        self.close()


class ReviewDB:
    """Connections (one per thread), transactions and migrations for one database."""

    def __init__(self, url: str | Path) -> None:
        self.url = str(url)
        self.dialect, self._target = _parse(self.url)
        self._local = threading.local()
        self._all: "weakref.WeakSet[_Conn]" = weakref.WeakSet()
        self._lock = threading.Lock()
        self._closed = False
        if self.dialect == "postgresql":
            try:
                import psycopg  # noqa: F401
            except ImportError:  # pragma: no cover - depends on the environment
                raise ConfigError(
                    "PostgreSQL needs the psycopg package",
                    hint='pip install "psycopg[binary]==3.3.9"',
                ) from None
        self.integrity_errors: tuple[type[BaseException], ...] = self._integrity_errors()
        self.migrate()

    # --- connections -------------------------------------------------------------------------

    def _integrity_errors(self) -> tuple[type[BaseException], ...]:
        if self.dialect == "postgresql":
            import psycopg

            return (psycopg.errors.IntegrityError,)
        return (sqlite3.IntegrityError,)

    def _open(self) -> Any:
        if self.dialect == "sqlite":
            path = Path(self._target)
            if str(path) != ":memory:" and not path.parent.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
            try:
                raw = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
                raw.row_factory = sqlite3.Row
                for pragma in _SQLITE_PRAGMAS:
                    raw.execute(pragma)
            except sqlite3.DatabaseError as exc:
                raise StoreError(
                    f"cannot open the review database {path}: {exc}",
                    hint="is it a SQLite file? Point MEDCITE_DATABASE_URL / --db at another one",
                ) from None
            return raw
        import psycopg
        from psycopg.rows import dict_row

        try:
            return psycopg.connect(self._target, autocommit=True, row_factory=dict_row)
        except psycopg.OperationalError as exc:
            raise StoreError(
                f"cannot connect to PostgreSQL at {redact(self.url)}: {str(exc).strip()}",
                hint="is the server running, and are the host, port, user, password and database right?",
            ) from None

    def _conn(self) -> _Conn:
        if self._closed:
            raise StoreError("the review database is closed", hint="open it again with medcite.review.connect()")
        conn = getattr(self._local, "conn", None)
        if conn is not None and not conn.depth and getattr(conn.raw, "closed", False):
            conn = None  # the PostgreSQL connection broke (server restart): open a new one
        if conn is None:
            conn = _Conn(self._open())
            self._local.conn = conn
            with self._lock:
                self._all.add(conn)
        return conn

    def close(self) -> None:
        """Close every thread's connection (call once, at shutdown)."""
        self._closed = True
        with self._lock:
            conns = list(self._all)
            self._all = weakref.WeakSet()
        for conn in conns:
            conn.close()
        self._local = threading.local()

    def __enter__(self) -> "ReviewDB":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- SQL ---------------------------------------------------------------------------------

    def sql(self, statement: str) -> str:
        """Translate portable SQL (``?`` placeholders) to the driver's paramstyle."""
        if self.dialect == "postgresql":
            return statement.replace("%", "%%").replace("?", "%s")
        return statement

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Tx]:
        """One transaction on this thread's connection; nested calls join the outer one."""
        conn = self._conn()
        if conn.depth:
            conn.depth += 1
            try:
                yield conn.tx  # type: ignore[misc]
            finally:
                conn.depth -= 1
            return
        raw = conn.raw
        if self.dialect == "sqlite":
            raw.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        else:
            raw.execute("BEGIN")
        conn.depth, conn.tx = 1, Tx(self, raw)
        try:
            yield conn.tx
        except BaseException:
            conn.depth, conn.tx = 0, None
            try:
                raw.execute("ROLLBACK")
            except Exception:  # pragma: no cover - the connection is gone; nothing to roll back
                pass
            raise
        conn.depth, conn.tx = 0, None
        raw.execute("COMMIT")

    def read(self) -> AbstractContextManager[Tx]:
        """A read-only transaction (no write lock on SQLite)."""
        return self.transaction(write=False)

    # --- migrations --------------------------------------------------------------------------

    def applied(self) -> set[str]:
        raw = self._conn().raw
        raw.execute("CREATE TABLE IF NOT EXISTS _review_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        return {_first(row) for row in raw.execute("SELECT name FROM _review_migrations").fetchall()}

    def migrate(self, migrations: list[Migration] | None = None) -> list[str]:
        """Apply pending migrations in order, each in one transaction with the row recording it."""
        done = self.applied()
        ran: list[str] = []
        for name, body in migrations or MIGRATIONS:
            if name in done:
                continue
            statements = body[self.dialect] if isinstance(body, dict) else body
            with self.transaction() as tx:
                if self.dialect == "postgresql":
                    # two processes migrating at once: the second waits, then sees the row
                    tx.execute("SELECT pg_advisory_xact_lock(7240611)")
                if tx.one("SELECT name FROM _review_migrations WHERE name = ?", (name,)):
                    continue
                for stmt in statements:
                    self._conn().raw.execute(stmt)  # DDL verbatim (no placeholder translation)
                tx.execute("INSERT INTO _review_migrations(name, applied_at) VALUES (?, ?)", (name, utc_now()))
            ran.append(name)
        return ran


def _first(row: Any) -> Any:
    return row["name"] if isinstance(row, dict) else row[0]


_SQLITE_URL = re.compile(r"^sqlite:(?://)?(?P<path>.*)$")


def _parse(url: str) -> tuple[str, str]:
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql", url
    if "://" in url and not url.startswith("sqlite:"):
        raise ConfigError(
            f"unsupported review database URL {redact(url)!r}",
            hint="use a file path, sqlite:///path/to/file.db or postgresql://user@host/dbname",
        )
    m = _SQLITE_URL.match(url)
    if m:
        path = m.group("path")
        # sqlite:///relative.db -> 'relative.db'; sqlite:////abs/path.db -> '/abs/path.db'
        path = path[1:] if path.startswith("/") else path
        if not path:
            raise ConfigError("the sqlite URL names no file", hint="use sqlite:///path/to/file.db")
        return "sqlite", path
    return "sqlite", url


def connect(url: str | Path) -> ReviewDB:
    """Open (and migrate) the review database: a path, ``sqlite:///path`` or ``postgresql://…``."""
    return ReviewDB(url)


def review_url(settings: Any) -> str:
    """The review database of a Settings object: ``database_url`` if set, else the evidence store file."""
    url = getattr(settings, "database_url", None)
    return str(url) if url else str(settings.db)
