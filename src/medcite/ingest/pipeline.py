"""The ingest pipeline: expand paths, detect formats, parse, chunk and store — one transaction per file."""

from __future__ import annotations

import glob
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
import multiprocessing as mp
from typing import Any, Callable, Iterable, Iterator

from medcite.domain import NOTICE_FOR, Deletion, Document, DocStatus, IngestReport, RecordError
from medcite.errors import IngestError, ParseError
from medcite.ingest.base import INGESTIBLE_SUFFIXES, SNIFF_BYTES, detect, open_source
from medcite.ingest.chunking import chunk_document
from medcite.ingest.limits import DEFAULT_LIMITS, Limits, document_problem
from medcite.store.sqlite import Store

ProgressFn = Callable[[str, int, Path | None], None]
"""Called as ``(event, n, path)``: ``("file", 0, path)`` when a file starts, ``("docs", n, path)`` after
``n`` more documents, ``("done", 0, path)`` when a file ends."""


@dataclass
class ParsedFile:
    """One file as its parser reads it: the parser's name and its events (reading them may raise
    :class:`~medcite.errors.IngestError`, which rolls the file back)."""

    parser: str
    events: Iterator[Any]


ParseSource = Callable[[list[Path]], Iterator[Callable[[], ParsedFile]]]
"""Parses files somewhere else (``medcite.cluster.ray_ingest`` parses them on Ray workers): given the files,
one function per file, in their order, that returns the file's :class:`ParsedFile` or raises IngestError.
The store writer calls them in turn and reads each file's events to the end (or to its error) first."""


def _parse_worker(parser: Any, path: Path, origin: str, queue: Any, limits: Limits, batch: int = 256) -> None:
    """Runs in a forked process: parse ``path`` and send events in batches; errors travel as values."""
    _die_with_parent()
    try:
        buf: list[Any] = []
        with open_source(path, limits) as stream:
            for event in parser.parse(stream, origin):
                buf.append(event)
                if len(buf) >= batch:
                    queue.put(("events", buf))
                    buf = []
        if buf:
            queue.put(("events", buf))
        queue.put(("done", None))
    except IngestError as exc:
        queue.put(("error", exc))
    except MemoryError:
        queue.put(("error", _out_of_memory(origin)))
    except Exception as exc:  # noqa: BLE001 — a parser bug must reach the parent as a clear error
        queue.put(("error", ParseError(f"unreadable content: {exc}", path=origin)))


def _out_of_memory(origin: str) -> ParseError:
    return ParseError("ran out of memory reading this file", path=origin,
                      hint="lower the ingest_max_* caps (docs/configuration.md) or split the file")


def _die_with_parent() -> None:
    """End this worker when the ingest process ends, even by ``kill -9``: an orphan would parse on for
    minutes holding the store's file descriptors. Linux kills it at once (``PR_SET_PDEATHSIG``); elsewhere
    a thread notices within half a second that its parent is gone."""
    parent = mp.parent_process()
    ppid = parent.pid if parent is not None else os.getppid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != ppid:  # the parent died before the line above
        os._exit(1)

    def watch() -> None:
        while os.getppid() == ppid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="medcite-parent-watch", daemon=True).start()


def _ingestible(path: Path) -> bool:
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    return name.lower().endswith(INGESTIBLE_SUFFIXES) and not path.name.startswith(".")


def expand_paths(paths: Iterable[str | Path]) -> tuple[list[Path], list[str]]:
    """Files to ingest (sorted, unique) and one error line per path that does not exist.

    Folders are walked recursively and only files with an ingestible suffix are taken (a README
    or ``.md5`` beside the data is not an error); a file named explicitly is always tried.
    """
    files: list[Path] = []
    errors: list[str] = []
    for raw in paths:
        text = str(raw)
        if any(ch in text for ch in "*?[") and not Path(text).exists():
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
            if not matches:
                errors.append(f"{text}: no file matches this pattern")
            for m in matches:
                if m.is_dir():
                    files.extend(sorted(p for p in m.rglob("*") if p.is_file() and _ingestible(p)))
                elif m.is_file():
                    files.append(m)
                else:
                    errors.append(f"{m}: not a regular file (a FIFO, device or socket) — skipped")
            continue
        p = Path(text)
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.is_file() and _ingestible(f)))
        elif p.is_file():
            files.append(p)
        elif p.exists():  # a FIFO, device or socket: opening it could block forever
            errors.append(f"{text}: not a regular file (a FIFO, device or socket) — skipped; name a file or folder")
        else:
            errors.append(f"{text}: no such file or directory")
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique, errors


@dataclass
class _FileCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    older: int = 0
    passages: int = 0
    record_errors: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    retracted: list[str] = field(default_factory=list)


class Ingestor:
    """Ingests files into a :class:`Store`; each file is atomic."""

    def __init__(self, store: Store, progress: ProgressFn | None = None, batch_report: int = 200,
                 parallel_min_bytes: int = 8 * 1024 * 1024, limits: Limits = DEFAULT_LIMITS,
                 source: ParseSource | None = None) -> None:
        self.store = store
        #: where files are parsed (None: in this process, a large file in a second one)
        self.source = source
        #: caps on file, record, document and section size (a file over one is refused, the rest go on)
        self.limits = limits
        self.parallel_min_bytes = parallel_min_bytes
        self.progress = progress
        self.batch_report = batch_report
        #: documents updated, deleted or retracted by this ingestor (for "needs re-review" flags)
        self.changed_doc_ids: list[str] = []
        #: documents that stopped being searchable because they were retracted (articles citing them go back to
        #: review); also in ``changed_doc_ids``
        self.retracted_doc_ids: list[str] = []

    def ingest(self, paths: Iterable[str | Path]) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        files, missing = expand_paths(paths)
        report.errors.extend(missing)
        report.files_failed += len(missing)
        if self.source is None:
            for path in files:
                self.ingest_file(path, report)
        else:
            parsed = self.source(files)
            try:
                for path, parse in zip(files, parsed):
                    self.ingest_file(path, report, parse)
            finally:
                close = getattr(parsed, "close", None)
                if close:
                    close()
        report.seconds = time.perf_counter() - started
        return report

    def ingest_file(self, path: Path, report: IngestReport, parse: Callable[[], ParsedFile] | None = None) -> None:
        """Store one file (parsed here, or by ``parse``, a :data:`ParseSource`'s function for it)."""
        report.files += 1
        if self.progress:
            self.progress("file", 0, path)
        try:
            counts = self._ingest_file(path, parse)
        except IngestError as exc:
            if not exc.path:
                exc.path = str(path)
            report.files_failed += 1
            report.errors.append(exc.line() + " — nothing from this file was stored")
        else:
            report.added += counts.added
            report.updated += counts.updated
            report.unchanged += counts.unchanged
            report.deleted += counts.deleted
            report.skipped_older += counts.older
            report.passages += counts.passages
            report.errors.extend(counts.record_errors)
            self.changed_doc_ids.extend(counts.changed)
            self.retracted_doc_ids.extend(counts.retracted)
        if self.progress:
            self.progress("done", 0, path)

    def _parse_here(self, path: Path) -> ParsedFile:
        with open_source(path, self.limits) as fh:
            head = fh.read(SNIFF_BYTES)
        parser = detect(path, head)
        return ParsedFile(parser.name, self._events(parser, path, str(path)))

    def _ingest_file(self, path: Path, parse: Callable[[], ParsedFile] | None = None) -> _FileCounts:
        parsed = parse() if parse is not None else self._parse_here(path)
        counts = _FileCounts()
        origin = str(path)
        pending = 0
        with self.store.transaction():
            try:
                for event in parsed.events:
                    if isinstance(event, Document):
                        problem = document_problem(event, self.limits)
                        if problem:
                            counts.record_errors.append(f"{path}: {problem} — record skipped")
                            continue
                        outcome = self._store_document(event, parsed.parser, origin, counts)
                        pending += 1
                        if outcome in ("updated",):
                            counts.changed.append(event.doc_id)
                        if outcome != "older" and event.metadata.get("corrections"):
                            self._apply_notices(event, origin, counts)
                    elif isinstance(event, Deletion):
                        if self.store.set_status(
                            event.doc_id, DocStatus.DELETED, version=event.version, parser=parsed.parser, origin=origin
                        ):
                            counts.deleted += 1
                            counts.changed.append(event.doc_id)
                    elif isinstance(event, RecordError):
                        where = f" ({event.location})" if event.location else ""
                        counts.record_errors.append(f"{path}: {event.message}{where} — record skipped")
                    if pending >= self.batch_report and self.progress:
                        self.progress("docs", pending, path)
                        pending = 0
            except ParseError:
                raise
            except MemoryError:
                raise _out_of_memory(origin) from None
            except (UnicodeDecodeError, ValueError, OSError, RecursionError, LookupError, TypeError,
                    AttributeError) as exc:  # a parser bug must not half-write a file, nor stop the folder
                raise ParseError(f"unreadable content: {exc}", path=origin) from None
        if pending and self.progress:
            self.progress("docs", pending, path)
        return counts

    def _events(self, parser: Any, path: Path, origin: str) -> Iterator[Any]:
        """The parser's events. A large file is parsed in a second process while this one stores what
        it has parsed so far (parsing and storing each take about half the time: two cores, twice the
        speed); small files, and systems without ``fork``, parse in-process."""
        if path.stat().st_size < self.parallel_min_bytes or "fork" not in mp.get_all_start_methods():
            with open_source(path, self.limits) as stream:
                yield from parser.parse(stream, origin)
            return
        ctx = mp.get_context("fork")
        queue = ctx.Queue(maxsize=8)
        worker = ctx.Process(target=_parse_worker, args=(parser, path, origin, queue, self.limits), daemon=True)
        worker.start()
        try:
            while True:
                kind, payload = queue.get()
                if kind == "events":
                    yield from payload
                elif kind == "error":
                    raise payload
                else:
                    break
        finally:
            if worker.is_alive():
                worker.terminate()
            worker.join(timeout=5)

    def _apply_notices(self, doc: Document, origin: str, counts: _FileCounts) -> None:
        """A retraction notice, erratum or expression of concern marks the paper it is about (``RetractionOf`` …),
        even when that paper's own record is not sent again, and is remembered for a paper that arrives later."""
        for c in doc.metadata.get("corrections") or ():
            notice = NOTICE_FOR.get(c.get("type"))
            if not notice or not c.get("pmid") or f"pmid:{c['pmid']}" == doc.doc_id:
                continue
            target = f"pmid:{c['pmid']}"
            done = self.store.record_notice(target, notice, doc.doc_id, ref_source=c.get("ref_source") or "",
                                            origin=origin)
            if done == "retracted":
                counts.retracted.append(target)
            if done in ("retracted", "marked"):
                counts.changed.append(target)

    def _store_document(self, doc: Document, parser: str, origin: str, counts: _FileCounts) -> str:
        retracted_before = None
        if doc.status is DocStatus.RETRACTED:
            row = self.store.conn.execute("SELECT status FROM documents WHERE doc_id = ?", (doc.doc_id,)).fetchone()
            retracted_before = row is not None and row["status"] == DocStatus.RETRACTED.value
        outcome, n_passages = self.store.upsert_document(doc, chunk_document, parser=parser, origin=origin)
        counts.passages += n_passages
        if outcome == "added":
            counts.added += 1
        elif outcome == "updated":
            counts.updated += 1
        elif outcome == "unchanged":
            counts.unchanged += 1
        else:
            counts.older += 1
        if outcome in ("added", "updated") and doc.status in (DocStatus.RETRACTED,):
            counts.changed.append(doc.doc_id)
            if not retracted_before:
                counts.retracted.append(doc.doc_id)
        return outcome
