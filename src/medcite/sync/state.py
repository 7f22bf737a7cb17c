"""What the sync has finished, kept in the store (table ``sync_files``, migration ``0006_sync_files``).

A file is recorded only after its ingest transaction committed. A run stopped between the two (a kill, a power
cut) ingests that file again next time, which changes nothing: ingest is idempotent (unchanged documents are
counted, not rewritten; a deletion already applied is not applied twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from medcite.store.sqlite import Store


@dataclass(frozen=True)
class SyncedFile:
    """One remote file the sync has downloaded, verified and ingested."""

    source: str
    name: str
    kind: str
    md5: str
    size: int
    records: int
    deletions: int
    finished_at: str

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "name": self.name, "kind": self.kind, "md5": self.md5, "size": self.size,
                "records": self.records, "deletions": self.deletions, "finished_at": self.finished_at}


class SyncLog:
    """The ``sync_files`` table of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def finished(self, source: str) -> dict[str, SyncedFile]:
        rows = self.store.conn.execute(
            "SELECT source, name, kind, md5, size, records, deletions, finished_at FROM sync_files WHERE source = ?",
            (source,),
        ).fetchall()
        return {r["name"]: SyncedFile(*tuple(r)) for r in rows}

    def record(self, source: str, name: str, kind: str, md5: str, size: int, records: int, deletions: int) -> None:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self.store.transaction() as conn:
            conn.execute(
                """INSERT INTO sync_files(source, name, kind, md5, size, records, deletions, finished_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(source, name) DO UPDATE SET kind = excluded.kind, md5 = excluded.md5,
                   size = excluded.size, records = excluded.records, deletions = excluded.deletions,
                   finished_at = excluded.finished_at""",
                (source, name, kind, md5, size, records, deletions, now),
            )

