"""Mirror PubMed's baseline and update files into the store.

NLM publishes ``<base>/pubmed/baseline/`` and ``<base>/pubmed/updatefiles/`` as directory listings of
``pubmedYYnNNNN.xml.gz`` files, each with a ``.md5`` beside it (``MD5(name)= hex``). A run lists both folders,
skips the files the store already has (table ``sync_files``), and for each other file in order — the baseline,
then the updates by number — downloads it (through a ``.part`` file, renamed once complete), verifies its MD5,
ingests it in one transaction (``<DeleteCitation>`` marks documents deleted; a newer version replaces an older
one) and records it. Updates must be applied in order, so the run stops at the first file that cannot be
fetched, verified or ingested; everything before it is kept, and the next run starts from that file.
"""

from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator
from urllib.parse import unquote, urljoin

from medcite.domain import IngestReport
from medcite.errors import MedciteError, SyncError
from medcite.store.sqlite import Store
from medcite.sync.http import Fetcher, file_md5
from medcite.sync.report import FileResult, StepFn, SyncReport, SyncStep
from medcite.sync.state import SyncLog

#: the folders of NLM's layout, in the order they are applied, with the kind recorded for their files
FOLDERS = (("baseline", "pubmed/baseline/"), ("update", "pubmed/updatefiles/"))
SOURCE = "pubmed"

IngestFn = Callable[[Iterable[Path]], IngestReport]

_HREF = re.compile(r"""href\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
_DATA_NAME = re.compile(r"[\w.-]+\.xml\.gz")
_MD5_LINE = re.compile(r"MD5\s*\(\s*(?P<name>[^)]+?)\s*\)\s*=\s*(?P<hex>[0-9a-fA-F]{32})")
_MD5SUM_LINE = re.compile(r"(?P<hex>[0-9a-fA-F]{32})\s+\*?(?P<name>\S+)")


@dataclass(frozen=True)
class RemoteFile:
    name: str
    kind: str  # baseline | update
    url: str
    folder: str  # local sub-folder: baseline | updatefiles


def file_order(name: str) -> tuple:
    """Sort key: the numbers in the name compared as numbers (``pubmed26n1335`` after ``pubmed26n999``)."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def listed_files(html: str) -> list[str]:
    """The ``*.xml.gz`` file names a directory listing links to, in file order."""
    names = set()
    for href in _HREF.findall(html):
        name = unquote(href.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1])
        if _DATA_NAME.fullmatch(name):
            names.add(name)
    return sorted(names, key=file_order)


def parse_md5(text: str, name: str) -> str:
    """The checksum in a ``.md5`` file as NLM writes it (``MD5(name)= hex``; ``md5sum``'s ``hex  name`` too)."""
    for pattern in (_MD5_LINE, _MD5SUM_LINE):
        for m in pattern.finditer(text):
            if m.group("name").strip().rsplit("/", 1)[-1] == name:
                return m.group("hex").lower()
    raise SyncError(f"{name}: its .md5 file holds no checksum for it ({text.strip()[:80]!r})", file=name,
                    hint="the mirror may be updating; run the same command again later")


class PubMedMirror:
    """One sync of a PubMed mirror into one store, through the ingest pipeline (``ingest``)."""

    def __init__(self, store: Store, ingest: IngestFn, fetcher: Fetcher, base_url: str, download_dir: Path, *,
                 keep_downloads: bool = False, on_step: StepFn | None = None) -> None:
        self.store = store
        self.ingest = ingest
        self.fetcher = fetcher
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.download_dir = Path(download_dir)
        self.keep_downloads = keep_downloads
        self.on_step = on_step
        self.log = SyncLog(store)

    def remote_files(self) -> list[RemoteFile]:
        files: list[RemoteFile] = []
        for kind, folder in FOLDERS:
            url = urljoin(self.base_url, folder)
            html = self.fetcher.get(url, what=f"listing {url}").text
            files.extend(RemoteFile(name, kind, urljoin(url, name), folder.rstrip("/").rsplit("/", 1)[-1])
                         for name in listed_files(html))
        if not files:
            raise SyncError(f"no .xml.gz files listed under {self.base_url}pubmed/",
                            hint="check --base-url: it must hold pubmed/baseline/ and pubmed/updatefiles/ listings")
        return files

    def run(self) -> SyncReport:
        started = time.perf_counter()
        report = SyncReport(SOURCE)
        with _exclusive(self.download_dir):
            files = self.remote_files()
            done = self.log.finished(SOURCE)
            report.listed = len(files)
            report.already_done = sum(1 for f in files if f.name in done)
            self._step(SyncStep("pubmed", "listed", f"{len(files)} files, {report.already_done} already ingested"))
            for remote in (f for f in files if f.name not in done):
                result = FileResult(remote.name, remote.kind)
                report.files.append(result)
                try:
                    self._sync_file(remote, result, report)
                except MedciteError as exc:
                    result.status, result.error = "failed", str(exc)
                    report.error = result.error
                    self._step(SyncStep(remote.name, "failed", result.error))
                    break
        report.seconds = time.perf_counter() - started
        return report

    def _sync_file(self, remote: RemoteFile, result: FileResult, report: SyncReport) -> None:
        expected = parse_md5(self.fetcher.get(remote.url + ".md5", what=f"{remote.name}.md5").text, remote.name)
        dest = self.download_dir / remote.folder / remote.name
        if dest.is_file() and file_md5(dest) == expected:
            result.size = dest.stat().st_size
            self._step(SyncStep(remote.name, "verified", f"already downloaded, MD5 {expected}"))
        else:
            result.size, _ = self.fetcher.download(remote.url, dest, expected)
            result.downloaded = True
            self._step(SyncStep(remote.name, "downloaded", f"{result.size:,} bytes, MD5 verified"))
        result.md5 = expected
        ing = self.ingest([dest])
        if ing.files_failed:
            dest.unlink(missing_ok=True)  # corrupt content: the next run downloads it afresh
            raise SyncError(f"{ing.errors[0] if ing.errors else remote.name + ': not ingested'}", file=remote.name,
                            hint="the download is removed; run the same command again to fetch it afresh, "
                            "and report the file to its publisher if it stays broken")
        result.take(ing)
        report.flagged_articles += ing.flagged_articles
        self.log.record(SOURCE, remote.name, remote.kind, expected, result.size, result.records, result.deleted)
        result.status = "ingested"
        self._step(SyncStep(remote.name, "ingested", ingested_line(result)))
        if not self.keep_downloads:
            dest.unlink(missing_ok=True)

    def _step(self, step: SyncStep) -> None:
        if self.on_step is not None:
            self.on_step(step)


def ingested_line(r: FileResult) -> str:
    parts = [f"{r.records:,} records ({r.added:,} added, {r.updated:,} updated, {r.unchanged:,} unchanged"
             + (f", {r.skipped_older:,} older than stored" if r.skipped_older else "") + ")",
             f"{r.deleted:,} deletions applied"]
    if r.record_errors:
        parts.append(f"{len(r.record_errors):,} records skipped")
    return ", ".join(parts)


@contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """Hold ``folder/.lock`` for the run: two syncs into one download folder would fetch the same files."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise SyncError(f"another medcite sync is running with the download folder {folder}",
                            hint="wait for it to finish (or give this one another --download-dir)") from None
        yield
    finally:
        os.close(fd)
