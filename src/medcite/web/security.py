"""Web security plumbing: response headers, request size and content-type limits, per-client rate limits.

Everything here is plain ASGI or plain Python (no FastAPI import), so it is cheap on every request:

- :class:`SecurityMiddleware` adds the security headers (a strict Content-Security-Policy with no inline
  script or style, nosniff, a same-origin referrer policy, framing forbidden) to every response, 500s included,
  refuses bodies over ``max_body`` bytes with 413 (chunked ones too), wrong content types with 415 and JSON
  nested too deep or holding too many structures with 422 — in the one JSON error shape.
- :class:`RateLimiter` is a token bucket per client (IP address): ``rate_per_minute`` tokens refill
  continuously up to ``burst``; an empty bucket raises :class:`RateLimited` (429 with Retry-After).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import OrderedDict
from typing import Any, Awaitable, Callable

from medcite.errors import MedciteError

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
_JSON_TYPES = ("application/json",)
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class UnsupportedMediaType(MedciteError):
    http_status = 415


class RateLimited(MedciteError):
    http_status = 429

    def __init__(self, message: str, *, retry_after: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


def error_body(status: int, message: str) -> bytes:
    """The one JSON error shape of the web app."""
    return json.dumps({"ok": False, "error": message, "status": status}).encode()


class ClientGone(Exception):
    """The client disconnected before it finished sending the request body."""


#: a JSON string literal (escapes included), matched possessively so a long string never backtracks
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.S)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def json_shape_problem(body: bytes, *, max_depth: int, max_containers: int) -> str | None:
    """Why a JSON body is too deep or holds too many objects/arrays (None when it is fine).

    A linear scan of the raw bytes (strings skipped), run before the body is parsed, so a hostile nesting never
    reaches ``json.loads`` or a recursive walk of stored data.
    """
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = count = 0
    for b in brackets:
        if b in b"[{":
            depth += 1
            count += 1
            if depth > max_depth:
                return (f"the JSON body is nested more than {max_depth} levels deep; "
                        f"flatten it (the limit is {max_depth})")
            if count > max_containers:
                return (f"the JSON body holds more than {max_containers:,} objects and arrays; "
                        f"send fewer (the limit is {max_containers:,})")
        else:
            depth -= 1
    return None


class SecurityMiddleware:
    """Security headers on every response, 500s included; 413 / 415 / 422 before a route runs.

    Bodies of POST/PUT/PATCH/DELETE are read here first (at most ``max_body`` bytes, chunked or not: more is 413),
    JSON bodies are checked against ``max_json_depth`` / ``max_json_containers`` (422), then replayed to the app.
    An unexpected exception before the response started goes to ``on_error(scope, exc, send)``, which answers
    500 through the secured ``send`` — the connection stays usable.
    """

    def __init__(self, app: Callable[..., Awaitable[None]], *, max_body: int = 64 * 1024,
                 hsts: bool = True, max_json_depth: int = 20, max_json_containers: int = 2000,
                 on_error: Callable[[Scope, BaseException, Send], Awaitable[None]] | None = None) -> None:
        self.app = app
        self.max_body = max_body
        self.hsts = hsts
        self.max_json_depth = max_json_depth
        self.max_json_containers = max_json_containers
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        started = False

        async def send_secure(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                raw = list(message.get("headers", []))
                present = {k.lower() for k, _ in raw}
                raw += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                if https and self.hsts:
                    raw.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": raw}
            await send(message)

        method = scope.get("method", "GET")
        if method in _BODY_METHODS:
            text = origin_problem(scope, headers)
            problem = None if text is None else (403, text)
            problem = problem or self._check(scope["path"], headers)
            body = b""
            if problem is None:
                try:
                    body, problem = await self._read_body(receive)
                except ClientGone:
                    return
            if problem is None and body and scope["path"].startswith("/api/"):
                text = json_shape_problem(body, max_depth=self.max_json_depth,
                                          max_containers=self.max_json_containers)
                problem = None if text is None else (422, text)
            if problem is not None:
                status, text = problem
                await self._refuse(send_secure, status, text, close=status != 422)  # 422: body read in full
                return
            receive = self._replay(body, receive)
        try:
            await self.app(scope, receive, send_secure)
        except Exception as exc:
            if started or self.on_error is None:
                raise
            await self.on_error(scope, exc, send_secure)

    def _check(self, path: str, headers: dict[bytes, bytes]) -> tuple[int, str] | None:
        length = headers.get(b"content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                return 400, "invalid Content-Length header"
            if n > self.max_body:
                return 413, f"request body too large: {n:,} bytes; the limit is {self.max_body:,}"
        has_body = (length is not None and length != b"0") or b"transfer-encoding" in headers
        if not has_body:
            return None
        ctype = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        allowed = _JSON_TYPES if path.startswith("/api/") else _FORM_TYPES
        if ctype not in allowed:
            return 415, (f"unsupported content type {ctype or '(none)'!r}: send {' or '.join(allowed)}")
        return None

    async def _read_body(self, receive: Receive) -> tuple[bytes, tuple[int, str] | None]:
        """The whole body, or a 413 as soon as it passes ``max_body`` (a chunked body has no Content-Length)."""
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            if message["type"] != "http.request":
                continue
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_body:
                return b"", (413, f"request body too large: over {self.max_body:,} bytes; "
                                  f"the limit is {self.max_body:,} — send a shorter text")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), None

    @staticmethod
    def _replay(body: bytes, receive: Receive) -> Receive:
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect as usual

        return replay

    @staticmethod
    async def _refuse(send: Send, status: int, text: str, *, close: bool = True) -> None:
        body = error_body(status, text)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """A token bucket per client key: ``rate_per_minute`` refill, up to ``burst`` tokens.

    Thread-safe; remembers at most ``max_clients`` keys (least recently seen are forgotten).
    ``rate_per_minute <= 0`` disables limiting.
    """

    def __init__(self, rate_per_minute: float, burst: int, *, max_clients: int = 10000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate_per_minute / 60.0
        self.burst = max(1, int(burst))
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key: str, cost: float = 1.0) -> None:
        """Take ``cost`` tokens from ``key``'s bucket or raise :class:`RateLimited`."""
        if self.rate <= 0:
            return
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < cost:
                self._buckets[key] = (tokens, now)
                wait = max(1, math.ceil((cost - tokens) / self.rate))
                raise RateLimited(
                    f"too many questions from this address: wait {wait} s and ask again",
                    retry_after=wait, hint=f"the limit is {self.rate * 60:g} questions a minute",
                )
            self._buckets[key] = (tokens - cost, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)


class LoginThrottle:
    """Failed sign-ins per key (an account name or a client address): exponential backoff, then a lockout.

    The first ``free`` failures cost nothing; each further one blocks the key for ``base_s * 2**n`` seconds (at
    most ``max_delay_s``); at ``lockout_after`` failures the key is locked for ``lockout_s``. While blocked, a
    sign-in is refused (429 with Retry-After) before the password is even checked. A success clears the key.
    Thread-safe, in memory, per process; remembers at most ``max_keys`` keys.
    """

    def __init__(self, *, free: int = 3, base_s: float = 1.0, max_delay_s: float = 300.0, lockout_after: int = 10,
                 lockout_s: float = 900.0, max_keys: int = 10000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free = free
        self.base_s = base_s
        self.max_delay_s = max_delay_s
        self.lockout_after = lockout_after
        self.lockout_s = lockout_s
        self.max_keys = max_keys
        self.clock = clock
        self._state: OrderedDict[str, tuple[int, float]] = OrderedDict()  # key → (failures, blocked until)
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Raise :class:`RateLimited` while ``key`` is blocked."""
        with self._lock:
            failures, until = self._state.get(key, (0, 0.0))
        wait = until - self.clock()
        if wait > 0:
            locked = failures >= self.lockout_after
            raise RateLimited(
                ("too many failed sign-ins: locked" if locked else "too many failed sign-ins")
                + f" — wait {math.ceil(wait)} s and try again",
                retry_after=max(1, math.ceil(wait)),
                hint="an admin can reset the password with `medcite user password NAME`" if locked else None)

    def failure(self, key: str) -> bool:
        """Count one failure; True when it locked the key out (just now)."""
        now = self.clock()
        with self._lock:
            failures, _ = self._state.pop(key, (0, 0.0))
            failures += 1
            if failures >= self.lockout_after:
                until = now + self.lockout_s
            elif failures > self.free:
                until = now + min(self.max_delay_s, self.base_s * 2 ** (failures - self.free - 1))
            else:
                until = 0.0
            self._state[key] = (failures, until)
            while len(self._state) > self.max_keys:
                self._state.popitem(last=False)
        return failures == self.lockout_after

    def success(self, key: str) -> None:
        with self._lock:
            self._state.pop(key, None)


def origin_problem(scope: Scope, headers: dict[bytes, bytes]) -> str | None:
    """Why a state-changing request's ``Origin`` header is refused (None: no Origin, or this site's own)."""
    origin = headers.get(b"origin")
    if origin is None:
        return None  # not a browser (curl, API clients): CSRF tokens and bearer tokens guard these
    host = headers.get(b"host", b"").decode("latin-1").strip().lower()
    scheme = scope.get("scheme", "http")
    text = origin.decode("latin-1").strip().lower().rstrip("/")
    if host and text in (f"{scheme}://{host}", f"http://{host}", f"https://{host}"):
        return None
    return f"cross-origin request refused (Origin {text[:100]!r} is not this site)"
