"""PubMed records for one search, through NCBI E-utilities (``medcite sync pubmed --query``).

``esearch`` (``usehistory=y``) stores the search's PMIDs on NCBI's history server and returns its ``WebEnv`` and
``query_key``; ``efetch`` then returns the records as PubMed XML (``retmode=xml``), a batch at a time. Each batch
is saved under the download folder (temporary name, then renamed) and ingested in one transaction like any PubMed
file, so a re-run of the same query changes nothing that has not changed at NCBI. NCBI allows 3 requests a second
without an API key and 10 with one; requests are spaced accordingly, and 429 / 5xx answers are retried with
backoff.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path
from typing import Any

from medcite.errors import MedciteError, SyncError
from medcite.sync.http import Fetcher
from medcite.sync.pubmed import IngestFn, ingested_line
from medcite.sync.report import FileResult, StepFn, SyncReport, SyncStep

#: seconds between two requests: NCBI's limits (3/s without a key, 10/s with one), with a little room
INTERVAL_WITHOUT_KEY = 0.34
INTERVAL_WITH_KEY = 0.1
#: records per efetch request (NCBI accepts up to 10,000; smaller batches keep memory and retries small)
BATCH = 500
#: the most records one esearch history gives access to
MAX_RECORDS = 10_000
TOOL = "medcite"


def interval_for(api_key: str | None) -> float:
    return INTERVAL_WITH_KEY if api_key else INTERVAL_WITHOUT_KEY


class EUtilsQuery:
    """Fetch and ingest the PubMed records one search finds, at most ``max_records`` of them."""

    def __init__(self, ingest: IngestFn, fetcher: Fetcher, eutils_url: str, download_dir: Path, *,
                 api_key: str | None = None, batch: int = BATCH, keep_downloads: bool = False,
                 on_step: StepFn | None = None) -> None:
        self.ingest = ingest
        self.fetcher = fetcher
        self.url = eutils_url if eutils_url.endswith("/") else eutils_url + "/"
        self.download_dir = Path(download_dir)
        self.api_key = api_key
        self.batch = max(1, batch)
        self.keep_downloads = keep_downloads
        self.on_step = on_step

    def _params(self, **params: Any) -> dict[str, Any]:
        params = {"db": "pubmed", "tool": TOOL, **params}
        if self.api_key:
            params["api_key"] = self.api_key
        return params

    def search(self, query: str) -> tuple[int, str, str]:
        """``(count, webenv, query_key)`` of one esearch with the history server."""
        resp = self.fetcher.get(self.url + "esearch.fcgi",
                                self._params(term=query, usehistory="y", retmax=0, retmode="json"), what="esearch")
        try:
            data = resp.json()
        except ValueError:
            raise SyncError(f"esearch answered something that is not JSON: {resp.text[:120]!r}",
                            hint="check eutils_url (it must end in /entrez/eutils/)") from None
        result = data.get("esearchresult") if isinstance(data, dict) else None
        if not isinstance(result, dict):
            raise SyncError(f"esearch failed: {_ncbi_error(data)}", hint="check the query and eutils_url")
        if result.get("ERROR") or "count" not in result:
            raise SyncError(f"esearch failed: {result.get('ERROR') or _ncbi_error(data)}",
                            hint="check the query's syntax (PubMed search syntax)")
        webenv, key = result.get("webenv"), result.get("querykey")
        count = int(result["count"])
        if count and not (webenv and key):
            raise SyncError("esearch returned no history (WebEnv / query_key)", hint="try again later")
        return count, str(webenv or ""), str(key or "")

    def run(self, query: str, max_records: int = MAX_RECORDS) -> SyncReport:
        started = time.perf_counter()
        report = SyncReport("pubmed-query")
        count, webenv, key = self.search(query)
        total = min(count, max(0, max_records), MAX_RECORDS)
        folder = self.download_dir / "query" / _slug(query)
        self._step(SyncStep("esearch", "listed", f"{count:,} records match; fetching {total:,}"))
        for start in range(0, total, self.batch):
            n = min(self.batch, total - start)
            name = f"efetch-{start + 1:05d}-{start + n:05d}.xml"
            result = FileResult(name, "query")
            report.files.append(result)
            report.listed += 1
            try:
                self._fetch_batch(folder / name, webenv, key, start, n, result, report)
            except MedciteError as exc:
                result.status, result.error = "failed", str(exc)
                report.error = result.error
                self._step(SyncStep(name, "failed", result.error))
                break
        report.seconds = time.perf_counter() - started
        return report

    def _fetch_batch(self, dest: Path, webenv: str, key: str, start: int, n: int, result: FileResult,
                     report: SyncReport) -> None:
        resp = self.fetcher.get(self.url + "efetch.fcgi", self._params(
            query_key=key, WebEnv=webenv, retstart=start, retmax=n, retmode="xml"), what=f"efetch {dest.name}")
        body = resp.content
        if b"<PubmedArticleSet" not in body[:4096]:
            raise SyncError(f"efetch answered no PubMed XML: {_ncbi_error(body[:300].decode('utf-8', 'replace'))}",
                            file=dest.name, hint="the search history may have expired; run the command again")
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        part.write_bytes(body)
        part.replace(dest)
        result.size, result.downloaded = len(body), True
        result.md5 = hashlib.md5(body, usedforsecurity=False).hexdigest()
        self._step(SyncStep(dest.name, "downloaded", f"{len(body):,} bytes"))
        ing = self.ingest([dest])
        if ing.files_failed:
            dest.unlink(missing_ok=True)
            raise SyncError(ing.errors[0] if ing.errors else f"{dest.name}: not ingested", file=dest.name)
        result.take(ing)
        result.status = "ingested"
        report.flagged_articles += ing.flagged_articles
        self._step(SyncStep(dest.name, "ingested", ingested_line(result)))
        if not self.keep_downloads:
            dest.unlink(missing_ok=True)

    def _step(self, step: SyncStep) -> None:
        if self.on_step is not None:
            self.on_step(step)


def _slug(query: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", query.lower()).strip("-")[:40] or "query"
    return f"{words}-{hashlib.sha1(query.encode(), usedforsecurity=False).hexdigest()[:8]}"


def _ncbi_error(data: Any) -> str:
    if isinstance(data, dict):
        return str(data.get("error") or data.get("ERROR") or data)[:200]
    text = str(data)
    m = re.search(r"<ERROR>(.*?)</ERROR>", text, re.S)
    return (m.group(1) if m else text).strip()[:200]
