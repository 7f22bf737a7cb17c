"""What one sync run did: a line per file, and the totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from medcite.domain import IngestReport


@dataclass(frozen=True)
class SyncStep:
    """One step of one file, for progress lines: ``listed``, ``downloaded``, ``verified``, ``ingested``,
    ``retry`` or ``failed``."""

    file: str
    step: str
    detail: str = ""

    def line(self) -> str:
        return f"{self.file}: {self.step}{' — ' + self.detail if self.detail else ''}"


StepFn = Callable[[SyncStep], None]


@dataclass
class FileResult:
    """One file the run worked on (files finished by an earlier run are only counted, in ``already_done``)."""

    name: str
    kind: str
    status: str = "failed"  # ingested | failed
    downloaded: bool = False
    size: int = 0
    md5: str = ""
    records: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_older: int = 0
    deleted: int = 0
    passages: int = 0
    record_errors: list[str] = field(default_factory=list)
    error: str = ""

    def take(self, ing: IngestReport) -> None:
        """Copy the counts of this file's ingest."""
        self.added, self.updated, self.unchanged = ing.added, ing.updated, ing.unchanged
        self.skipped_older, self.deleted, self.passages = ing.skipped_older, ing.deleted, ing.passages
        self.records = ing.documents + ing.skipped_older
        self.record_errors = list(ing.errors)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "name", "kind", "status", "downloaded", "size", "md5", "records", "added", "updated", "unchanged",
            "skipped_older", "deleted", "passages", "record_errors", "error")}


@dataclass
class SyncReport:
    """What ``medcite sync pubmed`` did. ``error`` is set when the run stopped at a file (``files[-1]``);
    everything before it is kept."""

    source: str
    listed: int = 0
    already_done: int = 0
    files: list[FileResult] = field(default_factory=list)
    error: str = ""
    flagged_articles: int = 0
    seconds: float = 0.0

    def total(self, key: str) -> int:
        return sum(getattr(f, key) for f in self.files)

    @property
    def ingested(self) -> int:
        return sum(1 for f in self.files if f.status == "ingested")

    @property
    def downloaded(self) -> int:
        return sum(1 for f in self.files if f.downloaded)

    @property
    def ok(self) -> bool:
        return not self.error

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "ok": self.ok,
            "listed": self.listed,
            "already_done": self.already_done,
            "ingested": self.ingested,
            "downloaded": self.downloaded,
            "records": self.total("records"),
            "added": self.total("added"),
            "updated": self.total("updated"),
            "unchanged": self.total("unchanged"),
            "deleted": self.total("deleted"),
            "passages": self.total("passages"),
            "flagged_articles": self.flagged_articles,
            "error": self.error,
            "files": [f.to_dict() for f in self.files],
            "seconds": round(self.seconds, 3),
        }
