"""Adversarial: a slow or greedy LLM server never holds a request past its total deadline (issue 13, item 8)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from medcite.errors import LLMError
from medcite.llm.client import LLMHTTPError, OpenAIChatModel

MSGS = [{"role": "user", "content": "hi"}]


class DripServer:
    """Answers 200 with a promised 40-byte body, then sends one byte every ``gap`` seconds."""

    def __init__(self, gap: float) -> None:
        self.gap = gap
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n")
                    for byte in b'{"choices":[{"message":{"content":"x"}}]}'[:40]:
                        if self.stop.wait(self.gap):
                            return
                        conn.sendall(bytes([byte]))
                except OSError:
                    pass

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(timeout=5)


def test_dripping_server_is_cut_off_at_the_deadline() -> None:
    srv = DripServer(gap=0.2)  # each byte well inside the 0.5 s read timeout: only a total deadline stops it
    try:
        llm = OpenAIChatModel(srv.url, "m", timeout=0.5, max_retries=1, backoff=0.01)  # deadline 1 s
        t0 = time.monotonic()
        with pytest.raises(LLMError, match="deadline of 1 s"):
            llm.complete(MSGS)
        assert time.monotonic() - t0 < 1.6  # the full body would take 8 s
    finally:
        srv.close()


def test_retry_after_longer_than_the_deadline_is_not_waited_for(mock_openai) -> None:
    mock_openai.queue_error(503, "busy", retry_after=86400).queue_chat("late")
    llm = OpenAIChatModel(mock_openai.url, "m", timeout=0.5, max_retries=3, backoff=0.01)  # deadline 2 s
    sleeps: list[float] = []
    llm._sleep = sleeps.append
    with pytest.raises(LLMHTTPError, match="deadline of 2 s") as info:
        llm.complete(MSGS)
    assert info.value.status == 503 and sum(sleeps) <= 2.0
