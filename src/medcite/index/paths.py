"""Where the vector index lives beside a store — kept apart from :mod:`medcite.index.vector` so that asking
"is there a dense index?" does not import numpy (a lexical-only `medcite ask` never needs it)."""

from __future__ import annotations

from pathlib import Path


def manifest_path(path: Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".json")


def default_index_path(db_path: Path) -> Path:
    """The index base path beside a SQLite database: ``medcite.db`` -> ``medcite.db.vectors``."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".vectors")
