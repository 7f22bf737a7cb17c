"""The parser interface, the parser registry and format detection.

A parser turns one file (already decompressed) into a stream of :data:`~medcite.domain.ParseEvent`:
documents, deletions, and :class:`~medcite.domain.RecordError` for a malformed record that does not
spoil the rest of the file. A file-level problem (not XML, truncated, wrong layout) raises
:class:`~medcite.errors.ParseError` — the only exception a parser may raise — and the pipeline rolls
the whole file back.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Protocol

from medcite.domain import ParseEvent
from medcite.errors import ParseError, UnknownFormatError
from medcite.ingest.limits import DEFAULT_LIMITS, BoundedReader, Limits, read_whole

#: how many bytes of a (decompressed) file sniffers see
SNIFF_BYTES = 8192

#: file suffixes a folder walk looks at; anything else in a folder (README, .md5, LICENSE) is skipped
INGESTIBLE_SUFFIXES = (".xml", ".nxml", ".jsonl", ".ndjson", ".json")


class Parser(Protocol):
    name: str
    version: str
    description: str

    def sniff(self, filename: str, head: bytes) -> bool:
        """True when this parser recognises the file from its name and first bytes."""

    def parse(self, stream: BinaryIO, origin: str) -> Iterator[ParseEvent]:
        """Yield documents, deletions and record errors; raise ParseError for a broken file."""


_REGISTRY: dict[str, Callable[[], Parser]] = {}
_ORDER: list[str] = []


def register(name: str, factory: Callable[[], Parser]) -> None:
    """Register a parser factory under a short name (built-ins register exactly like plugins)."""
    if name not in _REGISTRY:
        _ORDER.append(name)
    _REGISTRY[name] = factory


def parser_names() -> list[str]:
    _load_builtins()
    return list(_ORDER)


def get_parser(name: str) -> Parser:
    _load_builtins()
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise UnknownFormatError(
            f"unknown format {name!r}", hint=f"known formats: {', '.join(_ORDER)}"
        ) from None


def parser_versions() -> dict[str, str]:
    _load_builtins()
    return {name: _REGISTRY[name]().version for name in _ORDER}


_loaded = False


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from medcite.ingest import builtins  # noqa: F401  (registers the built-in parsers)


def detect(path: Path, head: bytes) -> Parser:
    """Pick the parser for a file from its name and first decompressed bytes."""
    _load_builtins()
    if not head.strip():
        raise ParseError("file is empty", path=str(path), hint="nothing to ingest; check the file was fully written")
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    for pname in _ORDER:
        parser = _REGISTRY[pname]()
        if parser.sniff(name, head):
            return parser
    stripped = head.lstrip()
    what = "XML of an unknown vocabulary" if stripped.startswith(b"<") else "not a recognised format"
    raise UnknownFormatError(
        f"{what}",
        path=str(path),
        hint=f"medcite reads: {', '.join(_ORDER)} (see docs/formats.md)",
    )


def open_source(path: Path, limits: Limits = DEFAULT_LIMITS) -> BinaryIO:
    """Open a file for parsing, transparently decompressing ``.gz``, bounded by ``limits``
    (:class:`~medcite.ingest.limits.BoundedReader`); errors become ParseError."""
    return _bounded(_open_raw(path), path, limits)


def _open_raw(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except PermissionError:
        raise ParseError("permission denied", path=str(path), hint="check the file's permissions") from None
    except IsADirectoryError:
        raise ParseError("is a directory", path=str(path)) from None
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror or exc}", path=str(path)) from None


def read_raw(path: Path, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """A file's bytes as stored (``.gz`` stays compressed), at most one byte past the file cap (enough for
    :func:`open_bytes` to refuse it as :func:`open_source` would); errors become ParseError."""
    with _open_raw(path) as raw:
        try:
            return raw.read(limits.file_bytes + 1)
        except OSError as exc:
            raise ParseError(f"cannot read file: {exc.strerror or exc}", path=str(path)) from None


def open_bytes(data: bytes, path: Path, limits: Limits = DEFAULT_LIMITS) -> BinaryIO:
    """:func:`open_source` over a file's bytes read elsewhere (a Ray worker parses what the driver read), with
    the same decompression, caps and error lines, which name ``path``."""
    return _bounded(io.BytesIO(data), path, limits)


def _bounded(raw: BinaryIO, path: Path, limits: Limits) -> BinaryIO:
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        return BoundedReader(_CheckedGzip(raw, path), str(path), limits)  # type: ignore[arg-type]
    if path.suffix == ".gz":
        raw.close()
        raise ParseError("not a gzip file although it ends in .gz", path=str(path), hint="rename it or re-compress it")
    return BoundedReader(raw, str(path), limits)


class _CheckedGzip(io.RawIOBase):
    """A gzip reader whose corruption / truncation errors surface as ParseError."""

    def __init__(self, raw: BinaryIO, path: Path) -> None:
        self._raw = raw
        self._gz = gzip.GzipFile(fileobj=raw, mode="rb")
        self._path = path

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        try:
            data = self._gz.read(len(b))
        except (OSError, EOFError, zlib.error) as exc:
            raise ParseError(f"corrupt or truncated gzip data ({exc})", path=str(self._path),
                             hint="download the file again") from None
        n = len(data)
        b[:n] = data
        return n

    def close(self) -> None:
        try:
            self._gz.close()
        finally:
            self._raw.close()
        super().close()


#: what a file that is not well-formed XML is told (it may have been shipped to the user, not downloaded)
TRUNCATED_HINT = "the file is cut short or damaged: replace it with a complete copy, or leave it out"

_POSITION_SUFFIX = re.compile(r"(?:,?\s*line \d+)?,\s*line \d+, column \d+\s*$")


def syntax_message(exc: Exception) -> str:
    """libxml2's message without its trailing "line N, column M" (the error's location says where, once)."""
    msg = str(getattr(exc, "msg", None) or exc).strip()
    return _POSITION_SUFFIX.sub("", msg) or msg


def parse_xml_root(stream: BinaryIO, origin: str, what: str, hint: str, **options: bool):
    """Parse a whole (small) XML file safely — no DTDs, entities or network, at most
    ``ingest_max_record_bytes``, libxml2's own caps on depth and text size — and return its root.

    Every failure becomes a :class:`ParseError`: not well-formed XML names the line; anything else
    says the file is not a readable ``what`` and how to fix it (``hint``).
    """
    from lxml import etree

    data = read_whole(stream, origin, "the file")
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False, **options)
    try:
        return etree.parse(io.BytesIO(data), parser).getroot()
    except ParseError:
        raise
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else exc.lineno
        raise ParseError(
            f"not well-formed XML: {syntax_message(exc)}", path=origin, location=f"line {line or 1}",
            hint=TRUNCATED_HINT,
        ) from None
    except (ValueError, TypeError, LookupError, UnicodeError, RecursionError, OSError, etree.LxmlError) as exc:
        raise ParseError(f"cannot read {what}: {exc}", path=origin, hint=hint) from None


def read_head(path: Path) -> bytes:
    with open_source(path) as fh:
        return fh.read(SNIFF_BYTES)
