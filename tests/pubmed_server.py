"""Loopback fakes for `medcite sync pubmed`: a PubMed mirror in NLM's layout and an E-utilities server.

Both are threaded ``http.server`` servers on 127.0.0.1 that a test starts and stops; nothing leaves the machine.

- :class:`Mirror` serves ``/pubmed/baseline/`` and ``/pubmed/updatefiles/`` as directory listings of ``.xml.gz``
  files with their ``.md5`` (``MD5(name)= hex``), from the shared corpus, and misbehaves on request: a 503, a
  connection dropped halfway through a file, wrong bytes (an MD5 mismatch), a stall halfway (for killing the
  client then), per file and for the next N requests.
- :class:`EUtils` speaks esearch (JSON or XML, ``usehistory=y``) and efetch (``retmode=xml``) over the shared PubMed
  records, enforcing NCBI's rate limit (3 requests/s, 10 with ``api_key``) with 429 answers as NCBI sends them.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import socket
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FOLDERS = {"baseline": "pubmed/baseline", "updatefiles": "pubmed/updatefiles"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def send_bytes(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class _Running:
    """Start ``handler`` on a free loopback port in a thread; ``url`` is its base URL."""

    def start(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = _Server(("127.0.0.1", 0), handler)
        self.server.owner = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the NLM mirror --------------------------------------------------------------------------------


@dataclass
class Mirror(_Running):
    """Files in NLM's layout. ``faults[name]`` is a list of what the next requests of that file get: ``"503"``,
    ``"drop"`` (half the body, then the connection closes), ``"garbage"`` (wrong bytes: MD5 mismatch) or
    ``"stall"`` (half the body, then wait for :attr:`release`); a request past the list gets the file."""

    files: dict[str, dict[str, bytes]]  # folder -> name -> content
    md5s: dict[str, str] = field(default_factory=dict)  # name -> published checksum (default: the true one)
    faults: dict[str, list[str]] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def from_shared(cls, shared: Path) -> "Mirror":
        files: dict[str, dict[str, bytes]] = {}
        for folder in FOLDERS:
            src = shared / "corpus" / "pubmed" / folder
            files[folder] = {p.name: p.read_bytes() for p in sorted(src.glob("*.xml.gz"))}
        mirror = cls(files)
        # the .md5 files as NLM publishes them must agree with the shared copies
        for folder, names in files.items():
            for name, data in names.items():
                published = (shared / "corpus" / "pubmed" / folder / (name + ".md5")).read_text()
                assert published.strip() == f"MD5({name})= {hashlib.md5(data).hexdigest()}"
        return mirror

    def md5_text(self, name: str, data: bytes) -> bytes:
        return f"MD5({name})= {self.md5s.get(name) or hashlib.md5(data).hexdigest()}\n".encode()

    def downloads(self, name: str) -> int:
        return sum(1 for p in self.log if p.endswith("/" + name))

    def serve(self) -> "Mirror":
        self.start(_MirrorHandler)
        return self


def _listing(folder: str, names: list[str]) -> bytes:
    rows = "".join(f'<a href="{n}">{n}</a>    2025-12-01 12:00  42M\n<a href="{n}.md5">{n}.md5</a>    '
                   f"2025-12-01 12:00   60\n" for n in names)
    return (f"<html><head><title>Index of /{folder}</title></head><body><h1>Index of /{folder}</h1><pre>"
            f'<a href="../">Parent Directory</a>\n{rows}</pre></body></html>').encode()


class _MirrorHandler(_Quiet):
    def do_GET(self) -> None:  # noqa: N802
        mirror: Mirror = self.server.owner  # type: ignore[attr-defined]
        path = urlsplit(self.path).path
        mirror.log.append(path)
        for folder, prefix in FOLDERS.items():
            if path == f"/{prefix}/":
                return self.send_bytes(200, _listing(prefix, list(mirror.files[folder])), "text/html")
            if path.startswith(f"/{prefix}/"):
                name = path[len(prefix) + 2:]
                if name.endswith(".md5") and name[:-4] in mirror.files[folder]:
                    data = mirror.files[folder][name[:-4]]
                    return self.send_bytes(200, mirror.md5_text(name[:-4], data), "text/plain")
                if name in mirror.files[folder]:
                    return self._file(mirror, name, mirror.files[folder][name])
        self.send_bytes(404, b"not found", "text/plain")

    def _file(self, mirror: Mirror, name: str, data: bytes) -> None:
        queue = mirror.faults.get(name) or []
        fault = queue.pop(0) if queue else ""
        if fault == "503":
            return self.send_bytes(503, b"Service Unavailable", "text/plain", {"Retry-After": "0"})
        if fault == "garbage":
            return self.send_bytes(200, bytes(reversed(data)), "application/octet-stream")
        if fault in ("drop", "stall"):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            if fault == "stall":
                mirror.stalled.set()
                mirror.release.wait(20)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_bytes(200, data, "application/octet-stream")


def truncated_gzip(data: bytes) -> bytes:
    """A gzip file cut off before its end (the kind a broken upload leaves)."""
    assert gzip.decompress(data)
    return data[: len(data) * 2 // 3]


# --- E-utilities ---------------------------------------------------------------------------------


@dataclass
class EUtils(_Running):
    """esearch + efetch over ``articles`` (PMID -> ``<PubmedArticle>`` XML). ``fail_next`` statuses are answered
    to the next requests (in order) before normal service resumes."""

    articles: dict[str, bytes]
    texts: dict[str, str] = field(default_factory=dict)
    fail_next: list[int] = field(default_factory=list)
    requests: list[tuple[float, str, dict[str, str]]] = field(default_factory=list)  # (time, endpoint, params)
    rate_limited: int = 0
    histories: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_shared(cls, shared: Path) -> "EUtils":
        articles: dict[str, bytes] = {}
        texts: dict[str, str] = {}
        for path in sorted((shared / "corpus" / "pubmed").glob("*/*.xml.gz")):
            root = ET.fromstring(gzip.decompress(path.read_bytes()))
            for art in root.iter("PubmedArticle"):
                pmid = art.findtext("MedlineCitation/PMID")
                articles[pmid] = ET.tostring(art, encoding="utf-8")
                texts[pmid] = " ".join(art.itertext()).lower()
        return cls(articles, texts)

    def serve(self) -> "EUtils":
        self.start(_EUtilsHandler)
        return self

    def search(self, term: str) -> list[str]:
        words = re.findall(r"\w+", term.lower())
        return sorted((p for p, text in self.texts.items() if all(re.search(rf"\b{w}\b", text) for w in words)),
                      key=int)

    def efetch(self, pmids: list[str]) -> bytes:
        return (b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January '
                b'2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n<PubmedArticleSet>\n'
                + b"\n".join(self.articles[p] for p in pmids) + b"\n</PubmedArticleSet>\n")


class _EUtilsHandler(_Quiet):
    def do_GET(self) -> None:  # noqa: N802
        eu: EUtils = self.server.owner  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        now = time.monotonic()
        endpoint = url.path.rsplit("/", 1)[-1]
        eu.requests.append((now, endpoint, params))
        if eu.fail_next:
            return self.send_bytes(eu.fail_next.pop(0), b'{"error":"temporarily unavailable"}', "application/json")
        # NCBI's limit: 3 requests per second per client (10 with an api_key); measured over a slightly shorter
        # window than a second, so that network jitter alone never trips it
        limit = 10 if params.get("api_key") else 3
        recent = [t for t, _, _ in eu.requests if now - t < 0.9]
        if len(recent) > limit:
            eu.rate_limited += 1
            body = json.dumps({"error": "API rate limit exceeded", "api-key": "127.0.0.1", "count": str(len(recent)),
                               "limit": str(limit)}).encode()
            return self.send_bytes(429, body, "application/json", {"Retry-After": "1"})
        if endpoint == "esearch.fcgi":
            return self._esearch(eu, params)
        if endpoint == "efetch.fcgi":
            return self._efetch(eu, params)
        self.send_bytes(404, b"not found", "text/plain")

    def _esearch(self, eu: EUtils, p: dict[str, str]) -> None:
        if p.get("db") != "pubmed" or not p.get("term"):
            return self.send_bytes(200, json.dumps({"esearchresult": {"ERROR": "Empty term and query_key - nothing "
                                                                                "todo"}}).encode(), "application/json")
        ids = eu.search(p["term"])
        webenv = f"MCID_{len(eu.histories) + 1:04d}"
        eu.histories[webenv] = ids
        retmax = int(p.get("retmax", 20))
        shown = ids[int(p.get("retstart", 0)):][:retmax]
        result = {"count": str(len(ids)), "retmax": str(len(shown)), "retstart": p.get("retstart", "0"),
                  "idlist": shown, "translationset": [], "querytranslation": p["term"]}
        if p.get("usehistory") == "y":
            result.update(querykey="1", webenv=webenv)
        if p.get("retmode") == "json":
            body = json.dumps({"header": {"type": "esearch", "version": "0.3"}, "esearchresult": result}).encode()
            return self.send_bytes(200, body, "application/json")
        xml = (f"<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<eSearchResult><Count>{len(ids)}</Count>"
               f"<RetMax>{len(shown)}</RetMax><RetStart>{result['retstart']}</RetStart>"
               + (f"<QueryKey>1</QueryKey><WebEnv>{webenv}</WebEnv>" if p.get("usehistory") == "y" else "")
               + "<IdList>" + "".join(f"<Id>{i}</Id>" for i in shown) + "</IdList></eSearchResult>")
        self.send_bytes(200, xml.encode(), "text/xml")

    def _efetch(self, eu: EUtils, p: dict[str, str]) -> None:
        if "id" in p:
            ids = p["id"].split(",")
        elif p.get("WebEnv") in eu.histories and p.get("query_key") == "1":
            start, n = int(p.get("retstart", 0)), int(p.get("retmax", 20))
            ids = eu.histories[p["WebEnv"]][start:start + n]
        else:
            body = b"<eFetchResult><ERROR>Unable to obtain query #1</ERROR></eFetchResult>"
            return self.send_bytes(200, body, "text/xml")
        self.send_bytes(200, eu.efetch([i for i in ids if i in eu.articles]), "text/xml")
