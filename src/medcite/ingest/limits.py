"""Caps on what one input file may make medcite read and hold in memory.

Every reader is streamed and bounded: a file is read through :class:`BoundedReader`, which counts
decompressed bytes and stops with a :class:`~medcite.errors.ParseError` past the file cap (a gzip bomb
costs at most that many bytes of reading, never that much memory); a JSON line is read with a bounded
``readline``, a whole-file XML format (JATS, MedQuAD, NGC, SPL) or a ``.json`` array with
:func:`read_whole`, and a PubMed file marks each record's end with :meth:`BoundedReader.mark_record`, so
no record larger than the record cap is ever held. Documents a parser yields are checked against the
document, section and section-count caps by the pipeline (:func:`document_problem`).

The caps come from settings (``ingest_max_*``, docs/configuration.md); the defaults are far above every
file of the shared corpus (largest: a 74 MB JSON-lines file, a 98 KB line, a 94,000-character section,
71 sections, a 113,000-character document).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
import re
from typing import Any, BinaryIO, Iterator

from medcite.domain import Document
from medcite.errors import ParseError

MiB = 1024 * 1024

_BLANKS = b" \t\r\n"
_NONBLANK = re.compile(rb"[^ \t\r\n]")


@dataclass(frozen=True)
class Limits:
    """The caps (see the module docstring); each maps to a setting ``ingest_max_<name>``."""

    #: bytes of one file, after decompression
    file_bytes: int = 2048 * MiB
    #: bytes of one record held at once: a JSON line, a PubMed article, a whole-file XML document, a .json array
    record_bytes: int = 32 * MiB
    #: characters of one document (all sections)
    document_chars: int = 5_000_000
    #: characters of one section
    section_chars: int = 1_000_000
    #: sections of one document
    sections: int = 2_000

    @classmethod
    def from_settings(cls, settings: Any) -> "Limits":
        return cls(
            file_bytes=settings.ingest_max_file_bytes,
            record_bytes=settings.ingest_max_record_bytes,
            document_chars=settings.ingest_max_document_chars,
            section_chars=settings.ingest_max_section_chars,
            sections=settings.ingest_max_sections,
        )


DEFAULT_LIMITS = Limits()


def size(n: int) -> str:
    """``33554432`` → ``"32 MiB"`` (what error lines show)."""
    if n >= MiB and n % MiB == 0:
        return f"{n // MiB:,} MiB"
    return f"{n:,} bytes"


def raise_hint(setting: str) -> str:
    """How to raise a cap, for an error line."""
    return (f"if the file is genuine, raise the cap: MEDCITE_{setting.upper()} or {setting} in medcite.toml "
            "(docs/configuration.md)")


def limits_of(stream: Any) -> Limits:
    """The caps a stream was opened with (:data:`DEFAULT_LIMITS` for a plain file object)."""
    limits = getattr(stream, "limits", None)
    return limits if isinstance(limits, Limits) else DEFAULT_LIMITS


def record_too_large(origin: str, limits: Limits, what: str, location: str = "") -> ParseError:
    return ParseError(
        f"{what} is larger than {size(limits.record_bytes)}, the cap on one record (ingest_max_record_bytes)",
        path=origin, location=location, hint=raise_hint("ingest_max_record_bytes"),
    )


class _CountingRaw(io.RawIOBase):
    """Counts the bytes read from ``inner``; past the file cap, or past the record cap since the last
    record mark (when marks are in use), a read raises ParseError."""

    def __init__(self, inner: BinaryIO, origin: str, limits: Limits) -> None:
        self._inner = inner
        self._origin = origin
        self.limits = limits
        self.total = 0
        self.record_start: int | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:  # type: ignore[override]
        n = self._inner.readinto(b)  # type: ignore[attr-defined]
        if n is None:
            return None  # type: ignore[return-value]
        self.total += n
        if self.total > self.limits.file_bytes:
            raise ParseError(
                f"file is larger than {size(self.limits.file_bytes)} once decompressed, the cap on one file "
                "(ingest_max_file_bytes)",
                path=self._origin, hint=raise_hint("ingest_max_file_bytes"),
            )
        if self.record_start is not None and self.total - self.record_start > self.limits.record_bytes + io.DEFAULT_BUFFER_SIZE:
            raise record_too_large(self._origin, self.limits, "one record")
        return n

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()


class BoundedReader(io.BufferedReader):
    """A buffered binary stream over a file (decompressed) that enforces :class:`Limits` as it is read."""

    def __init__(self, inner: BinaryIO, origin: str, limits: Limits = DEFAULT_LIMITS) -> None:
        self._counter = _CountingRaw(inner, origin, limits)
        super().__init__(self._counter)
        self.limits = limits

    def mark_record(self) -> None:
        """A record ended here: the record cap now counts from this point (streamed parsers call it)."""
        self._counter.record_start = self._counter.total


def read_whole(stream: BinaryIO, origin: str, what: str) -> bytes:
    """The rest of ``stream`` as bytes, refused past the record cap (a format parsed whole is one record)."""
    limits = limits_of(stream)
    data = stream.read(limits.record_bytes + 1)
    if len(data) > limits.record_bytes:
        raise record_too_large(origin, limits, what)
    return data


class LineReader:
    """The non-blank lines of ``stream`` as ``(line number, bytes)``, read a block at a time.

    A line longer than the record cap is refused as soon as the cap is passed, never held whole; runs
    of blank lines are counted, not looped over (a gzip bomb of newlines costs only its decompression).
    :meth:`rest` hands back everything not yet read as lines (a ``.json`` array is read whole).
    """

    def __init__(self, stream: BinaryIO, origin: str, block: int = MiB) -> None:
        self._stream = stream
        self._origin = origin
        self._limits = limits_of(stream)
        self._block = block
        self._chunk = b""
        self._pos = 0

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        cap = self._limits.record_bytes
        n = 0
        partial: list[bytes] = []  # the start of a line whose end is in a later block
        partial_len = 0
        while True:
            chunk = self._stream.read(self._block)
            if not chunk:
                break
            pos, end = 0, len(chunk)
            if not partial and not chunk.translate(None, _BLANKS):  # a block of blank lines only
                n += chunk.count(b"\n")
                continue
            while pos < end:
                if not partial and chunk[pos] in _BLANKS:  # skip blank lines at C speed
                    m = _NONBLANK.search(chunk, pos)
                    if m is None:
                        n += chunk.count(b"\n", pos)
                        break
                    last_nl = chunk.rfind(b"\n", pos, m.start())
                    if last_nl >= 0:
                        n += chunk.count(b"\n", pos, last_nl + 1)
                        pos = last_nl + 1
                nl = chunk.find(b"\n", pos)
                stop = end if nl < 0 else nl + 1
                partial.append(chunk[pos:stop])
                partial_len += stop - pos
                if partial_len > cap:
                    raise record_too_large(self._origin, self._limits, f"line {n + 1}")
                pos = stop
                if nl >= 0:
                    n += 1
                    line = b"".join(partial)
                    partial, partial_len = [], 0
                    self._chunk, self._pos = chunk, pos
                    yield n, line
        if partial:
            self._chunk, self._pos = b"", 0
            yield n + 1, b"".join(partial)

    def rest(self, what: str) -> bytes:
        """The bytes after the last line handed out, refused past the record cap."""
        head = self._chunk[self._pos:]
        self._chunk, self._pos = b"", 0
        more = self._stream.read(max(0, self._limits.record_bytes + 1 - len(head)))
        data = head + more
        if len(data) > self._limits.record_bytes:
            raise record_too_large(self._origin, self._limits, what)
        return data


def document_problem(doc: Document, limits: Limits) -> str | None:
    """Why ``doc`` is over a cap (one line naming the cap and its setting), or None when it fits."""
    if len(doc.sections) > limits.sections:
        return (f"{doc.doc_id}: {len(doc.sections):,} sections, over the cap of {limits.sections:,} "
                "(ingest_max_sections)")
    total = 0
    for i, section in enumerate(doc.sections):
        n = len(section.text)
        if n > limits.section_chars:
            return (f"{doc.doc_id}: section {i + 1} has {n:,} characters, over the cap of "
                    f"{limits.section_chars:,} (ingest_max_section_chars)")
        total += n
    if total > limits.document_chars:
        return (f"{doc.doc_id}: {total:,} characters, over the cap of {limits.document_chars:,} "
                "(ingest_max_document_chars)")
    return None
