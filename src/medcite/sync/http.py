"""HTTP for the sync: timeouts, bounded retries with exponential backoff, a request-rate cap, and downloads that
land under their final name only once complete and verified."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Any, Callable

import httpx

from medcite import __version__
from medcite.errors import SyncError

#: statuses worth another try: rate limited, or the server (or a proxy before it) failing for now
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: the longest ``Retry-After`` honoured, in seconds (a larger one is capped, not obeyed)
MAX_RETRY_AFTER = 60.0
_CHUNK = 1 << 16


class Fetcher:
    """GET with retries: a dropped connection, a timeout, 429 and 5xx are tried again (``tries`` attempts in all,
    waiting ``backoff`` × 2ⁿ seconds, or the server's ``Retry-After``); other 4xx fail at once. Requests are spaced
    at least ``min_interval`` seconds apart (E-utilities' limit of 3 or 10 requests per second)."""

    def __init__(self, *, timeout: float = 60.0, tries: int = 4, backoff: float = 1.0, min_interval: float = 0.0,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.tries = max(1, tries)
        self.backoff = backoff
        self.min_interval = min_interval
        self.sleep = sleep
        self._last = 0.0
        self._lock = threading.Lock()
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)), follow_redirects=True, transport=transport,
            headers={"User-Agent": f"medcite/{__version__} (sync)"},
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plain requests ----------------------------------------------------------------------

    def get(self, url: str, params: dict[str, Any] | None = None, *, what: str = "") -> httpx.Response:
        """The response to a GET (read in full, status 2xx), after at most ``tries`` attempts."""
        problem = ""
        for attempt in range(self.tries):
            self._pace()
            try:
                resp = self.client.get(url, params=params)
            except httpx.TransportError as exc:
                problem = _transport_problem(exc)
                self._wait(attempt, None)
                continue
            if resp.status_code in RETRY_STATUSES:
                problem = f"HTTP {resp.status_code}"
                self._wait(attempt, resp)
                continue
            if resp.is_error:
                raise SyncError(f"{what or _shown(url)}: HTTP {resp.status_code}", file=_name(url),
                                hint=_status_hint(resp.status_code))
            return resp
        raise SyncError(f"{what or _shown(url)}: {problem} after {self.tries} tries", file=_name(url),
                        hint="the server may be down or limiting requests; run the same command again later")

    # --- downloads ---------------------------------------------------------------------------

    def download(self, url: str, dest: Path, expected_md5: str | None = None) -> tuple[int, str]:
        """Download ``url`` to ``dest`` through ``dest.part`` (renamed only when complete and, with
        ``expected_md5``, verified); return ``(size, md5)``. A dropped connection, a retryable status and a
        checksum mismatch each cost one of the ``tries``."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        problem = ""
        for attempt in range(self.tries):
            self._pace()
            try:
                with self.client.stream("GET", url) as resp:
                    if resp.status_code in RETRY_STATUSES:
                        problem = f"HTTP {resp.status_code}"
                        resp.read()
                        self._wait(attempt, resp)
                        continue
                    if resp.is_error:
                        raise SyncError(f"{_name(url)}: HTTP {resp.status_code}", file=_name(url),
                                        hint=_status_hint(resp.status_code))
                    size, digest = _save(resp, part)
            except httpx.TransportError as exc:
                problem = _transport_problem(exc)
                part.unlink(missing_ok=True)
                self._wait(attempt, None)
                continue
            except OSError as exc:  # the download folder: full, read-only, gone
                part.unlink(missing_ok=True)
                raise SyncError(f"cannot write {part}: {exc.strerror or exc}", file=_name(url),
                                hint="free disk space or point --download-dir (sync_download_dir) at another folder"
                                ) from None
            if expected_md5 is not None and digest != expected_md5:
                problem = f"MD5 mismatch (got {digest}, the published checksum is {expected_md5})"
                part.unlink(missing_ok=True)
                self._wait(attempt, None)
                continue
            part.replace(dest)
            return size, digest
        raise SyncError(f"{_name(url)}: {problem} after {self.tries} tries — not ingested", file=_name(url),
                        hint="the mirror may be updating or the connection unreliable; run the same command "
                        "again later (everything before this file is kept)")

    # --- pacing ------------------------------------------------------------------------------

    def _pace(self) -> None:
        if self.min_interval <= 0:
            return
        with self._lock:
            delay = self._last + self.min_interval - time.monotonic()
            if delay > 0:
                self.sleep(delay)
            self._last = time.monotonic()

    def _wait(self, attempt: int, resp: httpx.Response | None) -> None:
        if attempt + 1 >= self.tries:
            return
        delay = self.backoff * (2 ** attempt)
        after = resp.headers.get("Retry-After") if resp is not None else None
        if after:
            try:
                delay = min(max(float(after), 0.0), MAX_RETRY_AFTER)
            except ValueError:
                pass
        if delay > 0:
            self.sleep(delay)


def _save(resp: httpx.Response, part: Path) -> tuple[int, str]:
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    with part.open("wb") as fh:
        for chunk in resp.iter_bytes(_CHUNK):
            fh.write(chunk)
            md5.update(chunk)
            size += len(chunk)
    return size, md5.hexdigest()


def file_md5(path: Path) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            md5.update(chunk)
    return md5.hexdigest()


def _transport_problem(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({exc})"
    return f"connection dropped ({exc})"


def _status_hint(status: int) -> str:
    if status == 404:
        return "check the base URL (--base-url): it must hold pubmed/baseline/ and pubmed/updatefiles/"
    if status in (401, 403):
        return "the server refused access; check the URL and, for E-utilities, the api key (eutils_api_key)"
    return "check the URL"


def _name(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def _shown(url: str) -> str:
    """The URL without its query string (which can hold an api_key)."""
    return url.split("?", 1)[0]
