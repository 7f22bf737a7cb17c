"""The embedded evidence store (SQLite): documents, sections, passages, FTS5 index, migrations."""

from medcite.store.sqlite import Store

__all__ = ["Store"]
