"""Parsing files on Ray workers, streamed back to the one store writer in file order.

The driver reads each file as stored (``.gz`` stays compressed) and hands its bytes to a Ray task, so workers
need no shared file system. Consecutive small files travel together (one task per group of up to
:data:`GROUP_FILES` files or :data:`GROUP_BYTES` bytes; a large file is a group of its own). A task is a Ray
streaming generator: it yields chunks of :data:`CHUNK` items — the markers :class:`Start`, :class:`End`,
:class:`Failed` and, between a file's ``Start`` and its ``End``, the parser's events — and pauses when
:data:`BACKPRESSURE` chunks wait unread. The driver keeps ``2 × workers`` groups in flight and reads them in
order, so the store sees exactly the events a plain ingest would, in the same order: same documents, same
passage ids, same stats.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from medcite.errors import IngestError, ParseError
from medcite.ingest.base import SNIFF_BYTES, detect, open_bytes, read_raw
from medcite.ingest.limits import Limits
from medcite.ingest.pipeline import ParsedFile

#: a group of small files parsed by one task: at most this many files ...
GROUP_FILES = 64
#: ... and this many bytes (as stored)
GROUP_BYTES = 4 * 1024 * 1024
#: items (events and markers) per object a task yields
CHUNK = 256
#: chunks a task may have waiting unread before it pauses
BACKPRESSURE = 16


@dataclass(frozen=True)
class Start:
    """A file's events follow, from this parser."""

    parser: str


@dataclass(frozen=True)
class End:
    """The file's events are complete."""


@dataclass(frozen=True)
class Failed:
    """The file cannot be ingested (nothing of it is stored)."""

    error: IngestError


def parse_group(files: list[tuple[str, bytes | IngestError]], limits: Limits) -> Iterator[list[Any]]:
    """Runs on a Ray worker: parse each ``(path, bytes)`` in turn; every failure travels as a value."""
    chunk: list[Any] = []
    for origin, data in files:
        for item in _parse_one(origin, data, limits):
            chunk.append(item)
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _parse_one(origin: str, data: bytes | IngestError, limits: Limits) -> Iterator[Any]:
    """The items of one file: ``Start``, its events, ``End`` — or ``Failed`` where it breaks."""
    if isinstance(data, IngestError):  # the driver could not read it
        yield Failed(data)
        return
    path = Path(origin)
    try:
        with open_bytes(data, path, limits) as fh:
            head = fh.read(SNIFF_BYTES)
        parser = detect(path, head)
        yield Start(parser.name)
        with open_bytes(data, path, limits) as stream:
            yield from parser.parse(stream, origin)
        yield End()
    except IngestError as exc:
        if not exc.path:
            exc.path = origin
        yield Failed(exc)
    except MemoryError:
        yield Failed(ParseError("ran out of memory reading this file", path=origin,
                                hint="lower the ingest_max_* caps (docs/configuration.md) or split the file"))
    except Exception as exc:  # noqa: BLE001 — a parser bug must reach the driver as this file's error
        yield Failed(ParseError(f"unreadable content: {exc}", path=origin))


def groups(files: list[Path]) -> list[list[Path]]:
    """Consecutive files packed into groups (a file over :data:`GROUP_BYTES` alone)."""
    out: list[list[Path]] = []
    size = 0
    for path in files:
        try:
            n = path.stat().st_size
        except OSError:
            n = 0
        if not out or len(out[-1]) >= GROUP_FILES or size + n > GROUP_BYTES:
            out.append([])
            size = 0
        out[-1].append(path)
        size += n
    return out


class RayParseSource:
    """A :data:`~medcite.ingest.pipeline.ParseSource` whose parsing runs on Ray workers."""

    def __init__(self, ray: Any, limits: Limits, workers: int) -> None:
        self.ray = ray
        self.limits = limits
        self.window = 2 * max(1, workers)
        self._task = ray.remote(parse_group).options(
            num_cpus=1, max_retries=0, _generator_backpressure_num_objects=BACKPRESSURE)

    def __call__(self, files: list[Path]) -> Iterator[Callable[[], ParsedFile]]:
        cursor = _Cursor(self._items(groups(files)))
        for path in files:
            yield lambda path=path: cursor.open(path)

    def _submit(self, group: list[Path]) -> Any:
        blobs: list[tuple[str, bytes | IngestError]] = []
        for path in group:
            try:
                blobs.append((str(path), read_raw(path, self.limits)))
            except IngestError as exc:
                blobs.append((str(path), exc))
        return self._task.remote(blobs, self.limits)

    def _items(self, all_groups: list[list[Path]]) -> Iterator[Any]:
        """Every group's items, in order, with ``window`` groups parsing ahead."""
        ray = self.ray
        todo = iter(all_groups)
        inflight: deque[tuple[list[Path], Any]] = deque()

        def submit() -> None:
            group = next(todo, None)
            if group is not None:
                inflight.append((group, self._submit(group)))

        for _ in range(self.window):
            submit()
        try:
            while inflight:
                group, stream = inflight.popleft()
                submit()
                closed = 0  # files of this group whose End or Failed has been read
                try:
                    for ref in stream:
                        for item in ray.get(ref):
                            if isinstance(item, (End, Failed)):
                                closed += 1
                            yield item
                except ray.exceptions.RayError as exc:  # a worker died (out of memory, a node lost)
                    for path in group[closed:]:
                        yield Failed(ParseError(f"the Ray worker parsing this file failed: {exc}", path=str(path),
                                                hint="run the ingest again (files already stored are skipped)"))
        finally:
            for _, stream in inflight:
                try:
                    ray.cancel(stream)
                except Exception:  # noqa: BLE001 — cancelling is best effort at shutdown
                    pass


class _Cursor:
    """Hands out one file at a time from the stream of items, skipping whatever a file left unread."""

    def __init__(self, items: Iterator[Any]) -> None:
        self.items = items
        self.in_file = False

    def open(self, path: Path) -> ParsedFile:
        while self.in_file:  # the writer stopped inside the previous file (its error rolled it back)
            if isinstance(next(self.items), (End, Failed)):
                self.in_file = False
        first = next(self.items)
        if isinstance(first, Failed):
            raise first.error
        if not isinstance(first, Start):  # pragma: no cover - a bug in the stream, never data
            raise ParseError(f"the Ray parse stream is out of step at {path}", path=str(path))
        self.in_file = True
        return ParsedFile(first.parser, self._events())

    def _events(self) -> Iterator[Any]:
        for item in self.items:
            if isinstance(item, End):
                self.in_file = False
                return
            if isinstance(item, Failed):
                self.in_file = False
                raise item.error
            yield item
