"""English word frequencies on wordfreq's Zipf scale, looked up without loading wordfreq for plain words.

``wordfreq.zipf_frequency(word, "en")`` costs ~0.3 s the first time in a process (importing wordfreq, then reading
and decoding its English list of 321,000 words); an answer asks it about a few dozen words. For a plain word —
lower-case ASCII letters, which wordfreq's tokenizer keeps whole and which have no digits to smash — the value
depends only on that word's frequency in the list, so every plain word's Zipf value is computed once, with
wordfreq's own arithmetic, into a small SQLite table under the cache folder (``<cache>/vocab/zipf-en-…sqlite``,
named by the size and time of wordfreq's data file; ~1 s to build, once per install), and looked up there (~10 µs).
Anything else — capitals, hyphens, digits, other scripts — and any failure to build or open the table goes to
wordfreq itself.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import quote

from medcite import blobcache

#: what wordfreq's English tokenizer returns unchanged, as one token without digits
_PLAIN = re.compile(r"[a-z]+")
_FORMAT = 1

_lock = threading.Lock()
_conn: sqlite3.Connection | None = None
_opened = False


def zipf_en(word: str) -> float:
    """``wordfreq.zipf_frequency(word, "en")``."""
    if _PLAIN.fullmatch(word):
        conn = _table()
        if conn is not None:
            try:
                with _lock:
                    row = conn.execute("SELECT z FROM zipf WHERE w = ?", (word,)).fetchone()
                return row[0] if row is not None else 0.0
            except sqlite3.Error:
                pass
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")


def _data_file() -> Path | None:
    """wordfreq's English list ("best": the large one), found without importing wordfreq."""
    spec = importlib.util.find_spec("wordfreq")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "data"
    for name in ("large_en.msgpack.gz", "small_en.msgpack.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def table_path() -> Path | None:
    root, data = blobcache.cache_root(), _data_file()
    if root is None or data is None:
        return None
    stamp = re.sub(r"[^A-Za-z0-9._-]", "_", f"{data.name.split('.')[0]}-{blobcache.stamp(data)}")
    return root / "vocab" / f"zipf-en-v{_FORMAT}-{stamp}.sqlite"


def _zipf(freq: float) -> float:
    """``zipf_frequency`` of a one-token word of frequency ``freq``: wordfreq's ``_word_frequency`` (1/Σ1/f, three
    significant digits) then ``zipf_frequency``'s rounding, in the same operations."""
    from wordfreq import freq_to_zipf

    f = 1.0 / (1.0 / freq)
    f = round(f, math.floor(-math.log(f, 10)) + 3)
    return round(freq_to_zipf(f), 2)


def _build(path: Path) -> None:
    from wordfreq import get_frequency_dict

    rows = [(w, _zipf(f)) for w, f in get_frequency_dict("en", "best").items() if f > 0 and _PLAIN.fullmatch(w)]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        conn = sqlite3.connect(str(tmp))
        try:
            conn.execute("CREATE TABLE zipf (w TEXT PRIMARY KEY, z REAL NOT NULL) WITHOUT ROWID")
            conn.executemany("INSERT OR REPLACE INTO zipf VALUES (?, ?)", rows)
            conn.commit()
        finally:
            conn.close()
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    for stale in path.parent.glob("zipf-en-*"):
        # earlier versions, and what a build killed half-way left (another process's build is a minute old at most)
        if stale != path and (stale.suffix == ".sqlite" or time.time() - stale.stat().st_mtime > 600):
            stale.unlink(missing_ok=True)


def _table() -> sqlite3.Connection | None:
    global _conn, _opened
    if _opened:
        return _conn
    with _lock:
        if not _opened:
            try:
                path = table_path()
                if path is not None:
                    if not path.is_file():
                        _build(path)
                    _conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, check_same_thread=False)
                    _conn.execute("SELECT z FROM zipf LIMIT 1").fetchall()
            except (OSError, sqlite3.Error, ValueError):  # a cache is an optimisation only: wordfreq answers
                _conn = None
            _opened = True
    return _conn


def reset() -> None:
    """Close the table (tests)."""
    global _conn, _opened
    with _lock:
        if _conn is not None:
            _conn.close()
        _conn, _opened = None, False
