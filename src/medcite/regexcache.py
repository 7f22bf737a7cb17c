"""Compiled regular expressions kept between processes: ``regexcache.compile`` is ``re.compile`` without the
parsing.

``re.compile`` parses a pattern and generates its matcher code in Python; for the answer path's few hundred
patterns (the safety screen's cues, the question types, the sentence splitter, the query analyzer's boilerplate)
that is ~0.1 s of every `medcite ask`. The generated code is a list of integers, which this module keeps in one
``marshal`` blob (medcite.blobcache) keyed by pattern and flags; a later process hands it to ``_sre.compile``, the
constructor ``re.compile`` ends with, and gets the same pattern object without parsing anything.

Safe by construction: an entry is recorded only when the pattern it rebuilds compares equal to
``re.compile``'s (``Pattern.__eq__`` compares the flags and the generated code), the blob's name carries the
interpreter version and the regex engine's ``MAGIC`` (its code format), and anything unexpected — an unreadable
blob, another Python, a missing internal — falls back to ``re.compile``. New patterns are written once, when the
process exits.
"""

from __future__ import annotations

import atexit
import re
import threading
from pathlib import Path
from typing import Any

from medcite import blobcache

try:  # CPython's regex engine (re._parser/_compiler since 3.11)
    import _sre
    from re import _compiler, _parser  # type: ignore[attr-defined]

    _FAMILY = f"regex-v1-sre{_sre.MAGIC}-{_sre.CODESIZE}"
except (ImportError, AttributeError):  # pragma: no cover - another interpreter: plain re.compile
    _sre = None  # type: ignore[assignment]
    _FAMILY = ""

#: most patterns a blob keeps (a process that compiles patterns built from data must not grow it forever)
MAX_ENTRIES = 4000

_lock = threading.Lock()
_entries: dict[tuple[Any, int], tuple[Any, ...]] | None = None
_new: dict[tuple[Any, int], tuple[Any, ...]] = {}
_path: Path | None = None


def cache_file() -> Path | None:
    """The blob (under ``MEDCITE_CACHE_DIR``, else the user cache folder); None where there is no cache."""
    if not _FAMILY:
        return None
    folder = blobcache.cache_root()
    return folder / "regex" / blobcache.blob_name(_FAMILY) if folder is not None else None


def _load() -> dict[tuple[Any, int], tuple[Any, ...]]:
    global _entries, _path
    if _entries is None:
        with _lock:
            if _entries is None:
                _path = cache_file()
                value = blobcache.load(_path)
                _entries = value if isinstance(value, dict) else {}
    return _entries


def _arguments(pattern: str | bytes, flags: int) -> tuple[Any, ...]:
    """What ``re._compiler.compile`` passes to ``_sre.compile`` for this pattern (the same steps)."""
    p = _parser.parse(pattern, flags)
    code = [int(op) for op in _compiler._code(p, flags)]  # (opcodes are int subclasses marshal cannot write)
    groupindex = dict(p.state.groupdict)
    indexgroup: list[str | None] = [None] * p.state.groups
    for name, i in groupindex.items():
        indexgroup[i] = name
    return pattern, flags | p.state.flags, code, p.state.groups - 1, groupindex, tuple(indexgroup)


def compile(pattern: str | bytes, flags: int = 0) -> re.Pattern:  # noqa: A001 - re.compile's twin
    """``re.compile(pattern, flags)``, from the cache when this pattern was compiled before."""
    flags = int(flags)
    if _sre is None or not isinstance(pattern, (str, bytes)) or flags & re.DEBUG:
        return re.compile(pattern, flags)
    key = (pattern, flags)
    args = _load().get(key)
    if args is not None:
        try:
            return _sre.compile(*args)
        except Exception:  # noqa: BLE001 - a damaged entry: compile it afresh
            pass
    compiled = re.compile(pattern, flags)  # (raises re.error for a bad pattern, as ever)
    try:
        args = _arguments(pattern, flags)
        if _sre.compile(*args) == compiled:
            with _lock:
                if not _new and _path is not None:
                    atexit.register(save)
                _new[key] = args
    except Exception:  # noqa: BLE001 - not cached: the next process compiles it again
        pass
    return compiled


def save() -> None:
    """Write the patterns this process compiled for the first time (at exit; callable any time)."""
    with _lock:
        if not _new or _path is None:
            return
        merged = blobcache.load(_path)  # what other processes wrote meanwhile
        merged = merged if isinstance(merged, dict) else {}
        merged.update(_new)
        if len(merged) > MAX_ENTRIES:
            merged = dict(list(_new.items())[-MAX_ENTRIES:])
        _new.clear()
        if _entries is not None:
            _entries.update(merged)
        try:
            blobcache.save(_path, merged, "regex-")
        except ValueError:  # pragma: no cover - an entry marshal cannot write: no cache, as before
            pass


def clear() -> None:
    """Forget the loaded blob (tests)."""
    global _entries, _path
    with _lock:
        _entries, _path = None, None
        _new.clear()


__all__ = ["MAX_ENTRIES", "cache_file", "clear", "compile", "save"]
