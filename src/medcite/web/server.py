"""The HTTP protocol ``medcite serve`` runs: uvicorn's h11 protocol with request-head and request-body deadlines.

uvicorn closes an idle keep-alive connection, but not one that opens and then sends its request head a byte at a
time, nor one that sends its head and then drips the body (slowloris). :class:`TimedH11Protocol` adds both:

- **head deadline** (``web_header_timeout``): from the moment a connection opens, or a keep-alive connection
  receives the first byte of its next request, the whole request head must arrive within the deadline, or the
  connection is closed;
- **body deadline** (``web_body_timeout``): once the head is in, the whole body must arrive within the deadline,
  or the server answers 408 (when the app has not answered yet) and closes the connection.

Pass it to uvicorn by name (``http="medcite.web.server:TimedH11Protocol"``, see :func:`medcite.web.server_options`)
so worker processes load it too; they read the deadlines from their settings.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from medcite.web.security import SECURITY_HEADERS

PROTOCOL = "medcite.web.server:TimedH11Protocol"


class TimedH11Protocol(H11Protocol):
    """uvicorn's :class:`H11Protocol` with a deadline for the request head and one for the request body."""

    #: seconds; ``None`` until :meth:`configure` runs (a worker process reads them from its settings then)
    header_timeout: ClassVar[float | None] = None
    body_timeout: ClassVar[float | None] = None

    @classmethod
    def configure(cls, settings: Any) -> None:
        """Take the deadlines from ``settings`` (``web_header_timeout``, ``web_body_timeout``)."""
        cls.header_timeout = float(settings.web_header_timeout)
        cls.body_timeout = float(settings.web_body_timeout)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cls = type(self)
        if cls.header_timeout is None or cls.body_timeout is None:
            from medcite.settings import load_settings

            cls.configure(load_settings())
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_for: str | None = None  # "head" or "body": what the running deadline is for

    # --- the deadlines -------------------------------------------------------------------------

    def _arm(self, what: str, seconds: float | None) -> None:
        if self._waiting_for == what:
            return
        self._disarm()
        if seconds and seconds > 0:
            self._deadline = self.loop.call_later(seconds, self._expired, what)
            self._waiting_for = what

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = None
        self._waiting_for = None

    def _follow(self) -> None:
        """Arm the deadline that fits what the connection is waiting for from the client now."""
        state = self.conn.their_state
        if state is h11.IDLE and self.conn.our_state is h11.IDLE:
            self._arm("head", self.header_timeout)
        elif state is h11.SEND_BODY:
            self._arm("body", self.body_timeout)
        else:
            self._disarm()

    def _expired(self, what: str) -> None:
        self._deadline = None
        self._waiting_for = None
        if self.transport.is_closing():
            return
        if what == "body" and self.cycle is not None and not self.cycle.response_started:
            self._send_408()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True  # the app, if it waits for the body, is told the client is gone
            self.cycle.message_event.set()
        self.transport.close()

    def _send_error(self, status: int, reason: bytes, error: str) -> None:
        """The API's JSON error body with the security headers, written straight to the connection (for what
        the protocol answers before the app runs); the connection closes after it."""
        body = json.dumps({"ok": False, "error": error, "status": status}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close"), *SECURITY_HEADERS]
        try:
            self.transport.write(self.conn.send(h11.Response(status_code=status, headers=headers,
                                                             reason=reason)) or b"")
            self.transport.write(self.conn.send(h11.Data(data=body)) or b"")
            self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError:  # the connection is past the point where a response fits: just close
            pass

    def _send_408(self) -> None:
        seconds = self.body_timeout
        self._send_error(408, b"Request Timeout", f"request body not received within {seconds:g} s")
        self.logger.info("%s:%d - request body not received within %g s: 408, connection closed",
                         *(self.client or ("?", 0)), seconds)

    def send_400_response(self, msg: str) -> None:
        """A request the HTTP parser refuses (a request line or head over h11's size limit, a malformed head)
        gets the API's JSON error body and the security headers, like every other error, not plain text."""
        self._send_error(400, b"Bad Request", f"invalid HTTP request: {msg}")
        self.transport.close()

    # --- uvicorn's protocol hooks --------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm("head", self.header_timeout)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self.transport.is_closing():
            self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE:
            self._disarm()  # idle keep-alive: uvicorn's own keep-alive timeout runs until the next byte
        elif not self.transport.is_closing():
            self._follow()  # a pipelined request, or a body the app answered without reading

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
