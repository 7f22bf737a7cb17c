"""Derived data kept between processes as one ``marshal`` blob (vocabularies, name lists).

``marshal`` reads plain dicts, tuples, frozensets and strings in a few milliseconds and runs no code; its format
belongs to the interpreter version, so every blob's file name carries it (``blob_name``). A cache is an
optimisation only: an unreadable blob is rebuilt, and a blob that cannot be written (a read-only home, a full
disk) just makes the next start slower.
"""

from __future__ import annotations

import gc
import logging
import marshal
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def cache_root() -> Path | None:
    """medcite's cache folder: ``MEDCITE_CACHE_DIR``, else the user cache folder; None where neither is known."""
    env = os.environ.get("MEDCITE_CACHE_DIR")
    if env:
        return Path(env)
    try:
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("medcite"))
    except Exception:  # noqa: BLE001 - a cache is an optimisation only
        return None


def blob_name(stem: str) -> str:
    """``stem`` with the interpreter version and the suffix: ``query-vocab-…-py311.marshal``."""
    return f"{stem}-py{sys.version_info[0]}{sys.version_info[1]}.marshal"


def stamp(path: Path | None) -> str:
    """Size and modification time of a source file ("missing" when absent): a cheap part of a blob's name that
    changes whenever the file is replaced (a package upgraded or reinstalled)."""
    try:
        st = path.stat() if path is not None else None
    except OSError:
        st = None
    return f"{st.st_size}.{st.st_mtime_ns}" if st else "missing"


def load(path: Path | None) -> Any | None:
    """The blob's value, or None when there is none or it cannot be read."""
    if path is None or not path.is_file():
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    # the cyclic garbage collector paused while marshal builds the value: it makes no cycles, but its ~10⁵ new
    # dicts and tuples would trigger collections that walk every object of the process (a 3 MB vocabulary loads
    # in ~25 ms instead of ~50-100 ms in a process that has imported its web or answer stack)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return marshal.loads(data)
    except (ValueError, EOFError, TypeError):
        return None
    finally:
        if was_enabled:
            gc.enable()


def save(path: Path | None, value: Any, family: str) -> None:
    """Write ``value`` to ``path`` atomically and delete the other blobs of its ``family`` (a file-name prefix:
    earlier layouts and data versions)."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(marshal.dumps(value))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        for stale in path.parent.glob(f"{family}*"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("could not write cache %s: %s", path, exc)
