"""A real HTTP server speaking the OpenAI API, on 127.0.0.1, for tests of the LLM client.

Start it with the ``mock_openai`` fixture (or ``with MockOpenAI() as srv:``); point a client at
``srv.url`` (``http://127.0.0.1:<port>/v1``). Script what the next POSTs answer, in order::

    srv.queue_chat("Aspirin helps [1].", usage={"prompt_tokens": 10, "completion_tokens": 4})
    srv.queue_error(429, retry_after=0)            # rate limited, then...
    srv.queue_error(500)
    srv.queue_stream(["Hel", "lo"])                 # SSE: data: {...} ... data: [DONE]
    srv.queue_stream(["Hel", "lo"], truncate=True)  # socket closed mid-chunk, no [DONE]
    srv.queue_stream(["Hel"], done=False)           # clean end of stream but no [DONE]
    srv.queue_chat("late", delay=2.0)               # slower than the client's timeout
    srv.queue_raw(b"<html>oops</html>")             # not JSON
    srv.queue_json({"object": "list"})              # JSON without choices
    srv.queue_embeddings([[0.1, 0.2]])

With an empty queue, ``/chat/completions`` answers ``"OK"`` and ``/embeddings`` answers deterministic
8-dimensional vectors. ``GET /v1/models`` lists ``srv.models``. Every request is recorded in
``srv.requests`` (method, path, lower-cased headers, parsed JSON body).

Register the fixture for every test module by adding to ``tests/conftest.py``::

    from mock_openai import mock_openai  # noqa: F401  (fixture: a loopback OpenAI-compatible server)
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any = None

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


@dataclass
class Scripted:
    kind: str  # "json" | "raw" | "stream"
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunks: list[str] = field(default_factory=list)
    done: bool = True
    truncate: bool = False
    usage: dict | None = None
    finish_reason: str | None = "stop"


def _chat_body(text: str, model: str, usage: dict | None, finish_reason: str | None) -> dict:
    body: dict[str, Any] = {
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def _fake_vector(text: str, dim: int = 8) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round((b - 128) / 128, 4) for b in digest[:dim]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, fmt: str, *args: Any) -> None:  # keep test output quiet
        pass

    # ---- helpers

    def _record(self) -> RecordedRequest:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        rec = RecordedRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, parsed)
        with self.server.lock:
            self.server.owner.requests.append(rec)
        return rec

    def _send(self, status: int, body: bytes, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.server.owner.stopping.wait(seconds)

    # ---- verbs

    def do_GET(self) -> None:  # noqa: N802
        rec = self._record()
        if rec.path.rstrip("/").endswith("/models"):
            data = {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "mock"}
                                               for m in self.server.owner.models]}
            self._send(200, json.dumps(data).encode())
        else:
            self._send(404, json.dumps({"error": {"message": f"no route {rec.path}"}}).encode())

    def do_POST(self) -> None:  # noqa: N802
        rec = self._record()
        owner = self.server.owner
        with self.server.lock:
            item = owner.queue.popleft() if owner.queue else None
        path = rec.path.rstrip("/")
        try:
            if item is None:
                if path.endswith("/chat/completions"):
                    model = (rec.json or {}).get("model", "mock-model") if isinstance(rec.json, dict) else "mock"
                    if isinstance(rec.json, dict) and rec.json.get("stream"):
                        item = Scripted("stream", chunks=["OK"])
                    else:
                        item = Scripted("json", body=json.dumps(_chat_body("OK", model, None, "stop")).encode())
                elif path.endswith("/embeddings"):
                    inputs = (rec.json or {}).get("input", []) if isinstance(rec.json, dict) else []
                    if isinstance(inputs, str):
                        inputs = [inputs]
                    item = Scripted("json", body=json.dumps(_embeddings_body(
                        [_fake_vector(str(t)) for t in inputs])).encode())
                else:
                    item = Scripted("json", status=404,
                                    body=json.dumps({"error": {"message": f"no route {rec.path}"}}).encode())
            self._wait(item.delay)
            if owner.stopping.is_set():
                return
            if item.kind == "stream":
                self._stream(item, rec)
            else:
                ctype = "application/json" if item.kind == "json" else item.headers.pop("Content-Type", "text/html")
                self._send(item.status, item.body, ctype, item.headers)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, socket.timeout):
            self.close_connection = True

    def _stream(self, item: Scripted, rec: RecordedRequest) -> None:
        model = rec.json.get("model", "mock-model") if isinstance(rec.json, dict) else "mock-model"
        self.send_response(item.status)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def event(obj: Any) -> bytes:
            return b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n"

        chunk(b": keep-alive\n\n")
        chunk(event({"id": "c", "object": "chat.completion.chunk", "model": model,
                     "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}))
        for piece in item.chunks:
            chunk(event({"id": "c", "object": "chat.completion.chunk", "model": model,
                         "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}))
        if item.truncate:
            # promise a chunk, send half of it, then drop the connection
            self.wfile.write(b"400\r\ndata: {\"choi")
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if item.done:
            chunk(event({"id": "c", "object": "chat.completion.chunk", "model": model,
                         "choices": [{"index": 0, "delta": {}, "finish_reason": item.finish_reason}]}))
            if item.usage is not None:
                chunk(event({"id": "c", "object": "chat.completion.chunk", "model": model, "choices": [],
                             "usage": item.usage}))
            chunk(event(b"[DONE]"))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _embeddings_body(vectors: list[list[float]], model: str = "mock-embed") -> dict:
    return {"object": "list", "model": model,
            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
            "usage": {"prompt_tokens": len(vectors), "total_tokens": len(vectors)}}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: MockOpenAI) -> None:
        self.owner = owner
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)


class MockOpenAI:
    """The scripted server. ``url`` is the API root (ends with ``/v1``)."""

    def __init__(self, models: list[str] | None = None) -> None:
        self.models = models or ["mock-model"]
        self.requests: list[RecordedRequest] = []
        self.queue: deque[Scripted] = deque()
        self.stopping = threading.Event()
        self._server = _Server(self)
        self.port = self._server.server_address[1]
        self.root = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.root}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="mock-openai", daemon=True)

    # ---- lifecycle

    def start(self) -> MockOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MockOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- scripting

    def queue_chat(self, text: str, *, usage: dict | None = None, model: str = "mock-model",
                   finish_reason: str | None = "stop", delay: float = 0.0) -> MockOpenAI:
        body = json.dumps(_chat_body(text, model, usage, finish_reason)).encode()
        self.queue.append(Scripted("json", body=body, delay=delay))
        return self

    def queue_json(self, obj: Any, *, status: int = 200, headers: dict[str, str] | None = None,
                   delay: float = 0.0) -> MockOpenAI:
        self.queue.append(Scripted("json", status=status, body=json.dumps(obj).encode(), headers=dict(headers or {}),
                                   delay=delay))
        return self

    def queue_error(self, status: int, message: str = "mock failure", *, retry_after: float | str | None = None,
                    delay: float = 0.0) -> MockOpenAI:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = {"error": {"message": message, "type": "mock_error", "code": status}}
        return self.queue_json(body, status=status, headers=headers, delay=delay)

    def queue_raw(self, body: bytes | str, *, status: int = 200, content_type: str = "text/html",
                  delay: float = 0.0) -> MockOpenAI:
        data = body.encode() if isinstance(body, str) else body
        self.queue.append(Scripted("raw", status=status, body=data, headers={"Content-Type": content_type},
                                   delay=delay))
        return self

    def queue_stream(self, chunks: list[str], *, done: bool = True, truncate: bool = False,
                     usage: dict | None = None, finish_reason: str | None = "stop", delay: float = 0.0) -> MockOpenAI:
        self.queue.append(Scripted("stream", chunks=list(chunks), done=done, truncate=truncate, usage=usage,
                                   finish_reason=finish_reason, delay=delay))
        return self

    def queue_embeddings(self, vectors: list[list[float]], *, model: str = "mock-embed") -> MockOpenAI:
        return self.queue_json(_embeddings_body(vectors, model))

    # ---- inspection

    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    @property
    def last(self) -> RecordedRequest:
        return self.requests[-1]


@pytest.fixture
def mock_openai() -> MockOpenAI:
    """A fresh scripted OpenAI-compatible server on 127.0.0.1 (``.url`` ends with ``/v1``)."""
    server = MockOpenAI().start()
    try:
        yield server
    finally:
        server.stop()


__all__ = ["MockOpenAI", "RecordedRequest", "mock_openai"]
