"""Adversarial: slow clients (slowloris) are cut off; a chunked body over the limit is 413 on a real server (issue 13,
item 6)."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Iterator

import pytest

pytest.importorskip("fastapi")

from medcite.web.server import TimedH11Protocol  # noqa: E402
from web_fixtures import QUESTION, WebEnv, build_env, serve_in_thread  # noqa: E402

HEAD_S = 1.0
BODY_S = 1.5


class QuickProtocol(TimedH11Protocol):
    header_timeout = HEAD_S
    body_timeout = BODY_S


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, WebEnv]]:
    env = build_env(tmp_path_factory.mktemp("slow"))
    server, thread, base = serve_in_thread(env.app, http=QuickProtocol)
    yield int(base.rsplit(":", 1)[1]), env
    server.should_exit = True
    thread.join(timeout=10)
    env.svc.close()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.settimeout(10)
    return sock


def _read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed (monotonic)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return data, time.monotonic()
        data += chunk


def _response(sock: socket.socket) -> bytes:
    """One whole response (with a Content-Length) from a kept-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _drip(sock: socket.socket, data: bytes, every: float, stop: threading.Event) -> None:
    for i in range(len(data)):
        if stop.wait(every):
            return
        try:
            sock.sendall(data[i:i + 1])
        except OSError:
            return


def test_a_connection_that_sends_nothing_is_closed(server) -> None:
    port, _ = server
    with _connect(port) as sock:
        start = time.monotonic()
        data, closed = _read_until_closed(sock)
    assert data == b"" and closed - start < HEAD_S + 2


def test_an_incomplete_request_head_is_closed(server) -> None:
    port, _ = server
    with _connect(port) as sock:
        start = time.monotonic()
        sock.sendall(b"GET /api/v1/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        stop = threading.Event()
        dripper = threading.Thread(target=_drip, args=(sock, b"a" * 100, 0.2, stop), daemon=True)
        dripper.start()  # a byte every 0.2 s keeps the connection busy but never finishes the head
        data, closed = _read_until_closed(sock)
        stop.set()
    assert data == b"" and HEAD_S - 0.2 < closed - start < HEAD_S + 2


def test_the_deadline_applies_to_the_next_request_on_a_kept_alive_connection(server) -> None:
    port, _ = server
    with _connect(port) as sock:
        sock.sendall(b"GET /api/v1/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert _response(sock).startswith(b"HTTP/1.1 200")
        start = time.monotonic()
        sock.sendall(b"GET /api/v1/stats HTTP/1.1\r\n")  # the next head, never finished
        data, closed = _read_until_closed(sock)
    assert b"HTTP/1.1 200" not in data and closed - start < HEAD_S + 2


def test_a_dripped_body_gets_408_and_the_connection_is_closed(server) -> None:
    port, _ = server
    body = json.dumps({"question": QUESTION}).encode()
    with _connect(port) as sock:
        sock.sendall(b"POST /api/v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        start = time.monotonic()
        stop = threading.Event()
        dripper = threading.Thread(target=_drip, args=(sock, body, 0.2, stop), daemon=True)
        dripper.start()
        data, closed = _read_until_closed(sock)
        stop.set()
    assert data.startswith(b"HTTP/1.1 408"), data[:200]
    head, _, payload = data.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower() and b"content-security-policy" in head.lower()
    assert json.loads(payload) == {"ok": False, "error": f"request body not received within {BODY_S:g} s",
                                   "status": 408}
    assert BODY_S - 0.2 < closed - start < BODY_S + 2


def test_a_prompt_client_is_not_affected(server) -> None:
    port, _ = server
    body = json.dumps({"question": QUESTION}).encode()
    with _connect(port) as sock:
        for _ in range(2):  # two requests on one connection, each well inside its deadlines
            sock.sendall(b"POST /api/v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
            time.sleep(0.5)
            sock.sendall(body)
            assert _response(sock).startswith(b"HTTP/1.1 200")
            time.sleep(HEAD_S * 0.6)  # idle between requests: uvicorn's keep-alive (5 s) governs, not the head


def test_a_chunked_body_over_the_limit_is_413_on_the_wire(server) -> None:
    port, _ = server
    chunk = b"x" * 40000
    with _connect(port) as sock:
        sock.sendall(b"POST /api/v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(3):
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may close before the rest is sent
        data, _closed = _read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 413"), data[:200]
    assert json.loads(data.partition(b"\r\n\r\n")[2])["status"] == 413


def test_a_request_line_over_the_parser_limit_gets_the_json_error_and_security_headers(server) -> None:
    port, _env = server
    sock = _connect(port)
    sock.sendall(b"GET /api/v1/search?q=" + b"%F0%9F%98%80" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    data, _ = _read_until_closed(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"content-type: application/json" in head.lower()
    assert b"x-content-type-options: nosniff" in head.lower()
    assert json.loads(body)["status"] == 400
