"""Store faults a user can act on — a busy store, a full disk, a read-only store — as one clear line each.

SQLite and the file system report these deep inside a write, as ``sqlite3.OperationalError``, ``OSError``
or (from tantivy) a ``ValueError`` quoting the OS error. :func:`store_fault` turns such an exception into a
:class:`~medcite.errors.StoreError` saying what happened and what to do, or returns None when the exception
is something else (a bug, which should keep its traceback).

A busy store names the process holding its write lock when the system says who it is: SQLite's WAL write
lock is a POSIX lock on byte 120 of the ``-shm`` file, and Linux lists its owner in ``/proc/locks``.
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3
from pathlib import Path

from medcite.errors import StoreError

#: errno values meaning "no room to write": no space, over quota, file too large for its limit
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
#: errno values meaning "this place cannot be written"
READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})

_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_FULL = 5, 6, 8, 10, 13
_OS_ERROR = re.compile(r"os error (\d+)")
#: byte of the ``-shm`` file SQLite locks for the one WAL writer
_WAL_WRITE_LOCK_BYTE = 120


def disk_full(path: Path | str) -> StoreError:
    return StoreError(
        f"the disk is full: cannot write {path}",
        hint="free some space and run the command again (everything stored before is intact)",
    )


def read_only(path: Path | str) -> StoreError:
    return StoreError(
        f"the store is read-only: {path}",
        hint="search, ask and stats still work; to change it, make the file and its folder writable "
        "or work on a writable copy",
    )


def busy(path: Path | str, waited: float) -> StoreError:
    other = other_writer(path)
    return StoreError(
        f"the store {path} is busy: {other or 'another process'} is writing to it (waited {waited:g} s)",
        hint="run the command again when it has finished, or raise store_busy_timeout",
    )


def store_fault(exc: BaseException, path: Path | str, *, waited: float = 0.0) -> StoreError | None:
    """The clear error for ``exc`` met while using the store at ``path``; None when it is no store fault."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        text = str(exc).lower()
        if primary == _SQLITE_FULL or "disk is full" in text:
            return disk_full(path)
        if primary in (_SQLITE_BUSY, _SQLITE_LOCKED) or "database is locked" in text:
            return busy(path, waited)
        if primary == _SQLITE_READONLY or "readonly database" in text:
            return read_only(path)
        if primary == _SQLITE_IOERR or "disk i/o error" in text:
            # SQLite does not say why a write failed; a file-size limit (RLIMIT_FSIZE) is one cause it hides
            limit = _file_size_limit()
            if limit is not None:
                return StoreError(
                    f"the disk is full: cannot write {path} (files may not grow past {limit:,} bytes here)",
                    hint="raise the file-size limit (ulimit -f) or free some space, and run the command again",
                )
            return StoreError(
                f"the disk is full or failing: cannot write {path} ({exc})",
                hint="free some space, check the disk, and run the command again",
            )
        return None
    number: int | None = None
    if isinstance(exc, OSError):
        number = exc.errno
        path = exc.filename or path
    elif isinstance(exc, (ValueError, RuntimeError)):  # tantivy quotes the OS error in its message
        match = _OS_ERROR.search(str(exc))
        number = int(match.group(1)) if match else None
    if number in DISK_FULL_ERRNOS:
        return disk_full(path)
    if number in READ_ONLY_ERRNOS:
        return read_only(path)
    return None


def writable(path: Path) -> bool:
    """Whether ``path`` (a store file, which may not exist yet) and its folder can be written."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.exists() and not os.access(path, os.W_OK):
        return False
    return os.access(folder, os.W_OK) if folder.exists() else True


def other_writer(path: Path | str) -> str:
    """``process 1234 (medcite ingest …)`` holding the store's write lock, or "" when unknown (not Linux)."""
    try:
        inode = os.stat(f"{path}-shm").st_ino
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return ""
    me = os.getpid()
    for line in lines:
        parts = line.split()
        # "12: POSIX  ADVISORY  WRITE 4321 00:2f:1234 120 120" (waiters carry a "->" before the kind)
        if len(parts) < 8 or parts[1] != "POSIX" or parts[3] != "WRITE":
            continue
        try:
            pid, ino, start = int(parts[4]), int(parts[5].rsplit(":", 1)[1]), int(parts[6])
        except ValueError:
            continue
        if ino == inode and start == _WAL_WRITE_LOCK_BYTE and pid != me:
            return f"process {pid}{_command_of(pid)}"
    return ""


def _command_of(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = [a.decode("utf-8", "replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        return ""
    while argv and Path(argv[0]).name.startswith("python"):
        argv = argv[1:]
    if not argv:
        return ""
    text = " ".join([Path(argv[0]).name, *argv[1:]])
    return f" ({text[:80]}{'…' if len(text) > 80 else ''})"


def _file_size_limit() -> int | None:
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    except (ImportError, OSError, ValueError):
        return None
    return None if soft == resource.RLIM_INFINITY else int(soft)
