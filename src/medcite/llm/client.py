"""A small client for any OpenAI-compatible chat-completions server.

Works with vLLM, llama.cpp's ``llama-server``, Ollama, LM Studio and hosted APIs: everything speaks
``POST {base_url}/chat/completions``. Only :mod:`httpx` is used.

* :class:`ChatModel` — the protocol the composer depends on.
* :class:`OpenAIChatModel` — the HTTP implementation (retries, backoff, ``Retry-After``, SSE streaming).
* :class:`MockChatModel` — a deterministic in-process fake for unit tests.
* :func:`supports_json_schema`, :func:`check` — the probes behind ``medcite llm check``.
* :func:`is_loopback` — does a base URL point at this machine (then the PHI guard does not apply).
* :func:`model_from_env` — build a model from ``MEDCITE_LLM_*`` / ``OPENAI_*`` environment variables.

Streaming: :meth:`OpenAIChatModel.stream` returns a :class:`ChatStream`, an iterator of text deltas.
Once it is exhausted, ``stream.result`` holds the final :class:`ChatResult` (full text, usage when the
server sent it, finish reason). A stream that breaks before ``data: [DONE]`` raises
:class:`StreamTruncated` (an :class:`~medcite.errors.LLMError`) whose ``partial`` attribute holds the
text received so far.

The API key is never put in an error message, a ``repr`` or a log line: any text that could echo it
(a server's error body, an exception's message) goes through :meth:`OpenAIChatModel._scrub`.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import logging
import os
import random
import socket
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import httpx

from medcite.errors import ConfigError, LLMError

log = logging.getLogger(__name__)

#: HTTP statuses that are worth retrying (rate limit, transient server trouble)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: never sleep longer than this for one Retry-After, whatever the server says
MAX_RETRY_AFTER_S = 60.0

_HINT = ("check MEDCITE_LLM_BASE_URL (it usually ends with /v1), MEDCITE_LLM_MODEL (the name the server "
         "serves) and MEDCITE_LLM_API_KEY")


# --------------------------------------------------------------------------------- results


def _zero_usage() -> dict[str, int]:
    return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


@dataclass
class ChatResult:
    """One completion. ``usage`` has zeros where the server did not report token counts."""

    text: str
    model: str
    usage: dict[str, int] = field(default_factory=_zero_usage)
    latency_ms: float = 0.0
    finish_reason: str | None = None


class LLMHTTPError(LLMError):
    """The server answered with an HTTP error status. ``status`` and (scrubbed) ``body`` are kept."""

    def __init__(self, message: str, *, status: int, body: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.body = body


class StreamTruncated(LLMError):
    """A streamed answer broke off before ``[DONE]``; ``partial`` holds the text received so far."""

    def __init__(self, message: str, *, partial: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.partial = partial


@runtime_checkable
class ChatModel(Protocol):
    """What the composer needs from a chat model."""

    name: str

    def complete(
        self,
        messages: list[dict],
        *,
        response_format: dict | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
    ) -> ChatResult: ...

    def stream(
        self,
        messages: list[dict],
        *,
        response_format: dict | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
    ) -> Iterator[str]:
        """Yield text deltas; the returned iterator exposes ``.result`` (a ChatResult) once exhausted."""
        ...


def _parse_usage(raw: Any) -> dict[str, int]:
    usage = _zero_usage()
    if isinstance(raw, Mapping):
        for key in usage:
            value = raw.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                usage[key] = int(value)
        if not usage["total_tokens"]:
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return usage


# --------------------------------------------------------------------------------- streaming


class ChatStream:
    """Iterator of text deltas from a streamed completion; ``result`` is set when it is exhausted."""

    def __init__(self, gen_factory) -> None:
        self.result: ChatResult | None = None
        self._gen = gen_factory(self)

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> str:
        return next(self._gen)

    def close(self) -> None:
        self._gen.close()


# --------------------------------------------------------------------------------- the client


class OpenAIChatModel:
    """An OpenAI-compatible ``/chat/completions`` endpoint.

    ``base_url`` is the API root including the version path, e.g. ``http://127.0.0.1:8000/v1``.
    Retries ``max_retries`` times (so at most ``max_retries + 1`` attempts) on 429/500/502/503/504,
    connection failures and timeouts, sleeping ``backoff * 2**attempt`` seconds (with a little jitter)
    or the server's ``Retry-After`` when that is longer.

    Every request has one **total deadline**, ``timeout × (max_retries + 1)`` seconds from the first byte sent:
    it covers connecting, the retries, their sleeps (a ``Retry-After`` that does not fit is not waited for) and
    reading the body — a server dripping one byte at a time is cut off at the deadline.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        client: httpx.Client | None = None,
        *,
        stream_usage: bool = True,
    ) -> None:
        if not base_url or not base_url.strip():
            raise ConfigError("no LLM base URL given", hint="set MEDCITE_LLM_BASE_URL, e.g. http://127.0.0.1:8000/v1")
        if not model or not model.strip():
            raise ConfigError("no LLM model name given", hint="set MEDCITE_LLM_MODEL to the name the server serves")
        base_url = base_url.strip().rstrip("/")
        if "://" not in base_url:
            base_url = "http://" + base_url
        self.base_url = base_url
        self.model = model.strip()
        self.name = f"llm:{self.model}"
        self.timeout = float(timeout)
        self.max_retries = max(0, int(max_retries))
        self.backoff = max(0.0, float(backoff))
        self.stream_usage = stream_usage
        self._api_key = api_key or None
        self._own_client = client is None
        self._client = client or httpx.Client(timeout=httpx.Timeout(self.timeout))
        self._sleep = time.sleep  # replaceable in tests

    # ---- plumbing

    def __repr__(self) -> str:
        key = "'***'" if self._api_key else "None"
        return f"OpenAIChatModel(base_url={self.base_url!r}, model={self.model!r}, api_key={key})"

    __str__ = __repr__

    def close(self) -> None:
        if self._own_client:
            self._client.close()

    def __enter__(self) -> OpenAIChatModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _scrub(self, text: str) -> str:
        if self._api_key and text:
            text = text.replace(self._api_key, "***")
        return text

    def _payload(self, messages, response_format, temperature, max_tokens, stream) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": self.model, "messages": list(messages), "temperature": temperature}
        if max_tokens is not None:
            payload["max_tokens"] = int(max_tokens)
        if response_format is not None:
            payload["response_format"] = response_format
        if stream:
            payload["stream"] = True
            if self.stream_usage:
                payload["stream_options"] = {"include_usage": True}
        return payload

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        delay = self.backoff * (2**attempt)
        delay += random.uniform(0, self.backoff * 0.1) if self.backoff else 0.0
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER_S))
        return delay

    @staticmethod
    def _retry_after(response: httpx.Response) -> float | None:
        value = response.headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())

    def _http_error(self, response: httpx.Response, body: str) -> LLMHTTPError:
        status = response.status_code
        detail = self._scrub(_error_detail(body))
        what = f"LLM server at {self.base_url} answered HTTP {status}"
        if status in (401, 403):
            hint = "the API key was refused: check MEDCITE_LLM_API_KEY (or OPENAI_API_KEY)"
        elif status == 404:
            hint = (f"not found: check MEDCITE_LLM_BASE_URL (it usually ends with /v1; tried {self.endpoint}) "
                    f"and MEDCITE_LLM_MODEL ({self.model!r} must be a model the server serves)")
        elif status == 400:
            hint = f"the server rejected the request: check MEDCITE_LLM_MODEL ({self.model!r}) and its options"
        elif status == 429:
            hint = "rate limited: wait, lower the request rate, or raise max_retries"
        else:
            hint = "the server failed: look at its log, or " + _HINT
        msg = f"{what}: {detail}" if detail else what
        return LLMHTTPError(msg, status=status, body=self._scrub(body[:2000]), hint=hint)

    def _transport_error(self, exc: Exception, attempts: int) -> LLMError:
        if isinstance(exc, httpx.TimeoutException):
            kind = f"timed out after {self.timeout:g} s"
            hint = "the model may be loading or too slow: raise the timeout, use a smaller model, or " + _HINT
        elif isinstance(exc, httpx.ConnectError):
            kind = "could not be reached"
            hint = "is the server running? " + _HINT
        else:
            kind = f"failed ({type(exc).__name__}: {self._scrub(str(exc))[:200]})"
            hint = _HINT
        tries = f" ({attempts} attempt{'s' if attempts != 1 else ''})"
        return LLMError(f"LLM server at {self.base_url} {kind}{tries}", hint=hint)

    @property
    def deadline_s(self) -> float:
        """The total time one request may take, retries and their waits included."""
        return self.timeout * (self.max_retries + 1)

    def _deadline_error(self, what: str) -> LLMError:
        return LLMError(f"LLM server at {self.base_url} gave no complete answer within the request's deadline of "
                        f"{self.deadline_s:g} s ({what})",
                        hint="the deadline is timeout × attempts: raise the timeout, use a faster server, or " + _HINT)

    def _read_within(self, response: httpx.Response, deadline: float) -> bytes:
        """The whole body, refusing to read past ``deadline`` (a slow drip is not a live server)."""
        chunks: list[bytes] = []
        try:
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise self._deadline_error(f"the body was still arriving after {sum(map(len, chunks)):,} bytes")
        except httpx.TimeoutException:
            raise self._deadline_error("the body stopped arriving") from None
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, 1) from None
        finally:
            response.close()
        return b"".join(chunks)

    def _send(self, payload: dict[str, Any], *, stream: bool, deadline: float | None = None) -> httpx.Response:
        """POST with retries within ``deadline`` (monotonic); returns an open 2xx response (caller closes it)."""
        deadline = time.monotonic() + self.deadline_s if deadline is None else deadline
        attempts = 0
        last_exc: Exception | None = None
        while True:
            attempts += 1
            retry_after: float | None = None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if last_exc is not None:
                    raise self._transport_error(last_exc, attempts - 1)
                raise self._deadline_error(f"after {attempts - 1} attempts")
            try:
                request = self._client.build_request("POST", self.endpoint, json=payload, headers=self._headers(),
                                                     timeout=httpx.Timeout(min(self.timeout, remaining)))
                response = self._client.send(request, stream=stream)
            except (httpx.TimeoutException, httpx.ConnectError, httpx.RemoteProtocolError) as exc:
                if attempts > self.max_retries:
                    raise self._transport_error(exc, attempts) from None
                last_exc = exc
                log.warning("LLM request to %s failed (%s); retrying", self.base_url, type(exc).__name__)
            except httpx.HTTPError as exc:
                raise self._transport_error(exc, attempts) from None
            else:
                if response.status_code < 300:
                    return response
                try:
                    body = response.read().decode("utf-8", "replace")
                except httpx.HTTPError:
                    body = ""
                finally:
                    response.close()
                if response.status_code not in RETRY_STATUSES or attempts > self.max_retries:
                    err = self._http_error(response, body)
                    if response.status_code in RETRY_STATUSES:
                        err.message += f" (gave up after {attempts} attempts)"
                    raise err
                retry_after = self._retry_after(response)
                delay = self._delay(attempts - 1, retry_after)
                if delay >= deadline - time.monotonic():
                    err = self._http_error(response, body)
                    err.message += (f" (gave up after {attempts} attempt{'s' if attempts != 1 else ''}: waiting "
                                    f"{delay:g} s more would pass the request's deadline of {self.deadline_s:g} s)")
                    raise err
                log.warning("LLM server at %s answered HTTP %d; retrying", self.base_url, response.status_code)
                self._sleep(delay)
                continue
            delay = min(self._delay(attempts - 1, None), max(0.0, deadline - time.monotonic()))
            self._sleep(delay)

    # ---- public API

    def complete(
        self,
        messages: list[dict],
        *,
        response_format: dict | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
    ) -> ChatResult:
        t0 = time.perf_counter()
        deadline = time.monotonic() + self.deadline_s
        payload = self._payload(messages, response_format, temperature, max_tokens, stream=False)
        response = self._send(payload, stream=True, deadline=deadline)  # streamed read: the deadline holds
        raw = self._read_within(response, deadline).decode(response.encoding or "utf-8", "replace")
        try:
            data = json.loads(raw)
        except ValueError:
            raise LLMError(
                f"LLM server at {self.base_url} sent a response that is not JSON: {self._scrub(raw[:120])!r}",
                hint="is MEDCITE_LLM_BASE_URL an OpenAI-compatible API root (e.g. http://127.0.0.1:8000/v1)?",
            ) from None
        choices = data.get("choices") if isinstance(data, dict) else None
        if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
            raise LLMError(
                f"LLM server at {self.base_url} sent a response without choices",
                hint="the server must speak the OpenAI chat-completions format; " + _HINT,
            )
        choice = choices[0]
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        text = message.get("content")
        if text is None:
            text = choice.get("text") or ""  # some servers answer in the legacy completions shape
        if not isinstance(text, str):
            text = json.dumps(text)
        return ChatResult(
            text=text,
            model=str(data.get("model") or self.model),
            usage=_parse_usage(data.get("usage")),
            latency_ms=round((time.perf_counter() - t0) * 1000, 2),
            finish_reason=choice.get("finish_reason"),
        )

    def stream(
        self,
        messages: list[dict],
        *,
        response_format: dict | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
    ) -> ChatStream:
        """Stream text deltas (server-sent events). The request is sent on the first ``next()``."""
        payload = self._payload(messages, response_format, temperature, max_tokens, stream=True)
        return ChatStream(lambda holder: self._stream_gen(payload, holder))

    def _stream_gen(self, payload: dict[str, Any], holder: ChatStream) -> Iterator[str]:
        t0 = time.perf_counter()
        deadline = time.monotonic() + self.deadline_s
        response = self._send(payload, stream=True, deadline=deadline)
        parts: list[str] = []
        usage = _zero_usage()
        model = self.model
        finish: str | None = None
        done = False
        try:
            try:
                for line in response.iter_lines():
                    if time.monotonic() > deadline:
                        raise StreamTruncated(
                            f"stream cut off: the LLM server at {self.base_url} was still streaming at the "
                            f"request's deadline of {self.deadline_s:g} s", partial="".join(parts),
                            hint="the deadline is timeout × attempts: raise the timeout or use a faster server")
                    line = line.strip()
                    if not line or line.startswith(":") or not line.startswith("data:"):
                        continue  # blank separators, comments/keep-alives, event:/id: fields
                    data = line[5:].strip()
                    if data == "[DONE]":
                        done = True
                        break
                    try:
                        event = json.loads(data)
                    except ValueError:
                        raise StreamTruncated(
                            f"stream truncated: LLM server at {self.base_url} sent an event that is not JSON",
                            partial="".join(parts), hint=_HINT) from None
                    if not isinstance(event, dict):
                        continue
                    if isinstance(event.get("error"), (dict, str)):
                        detail = self._scrub(_error_detail(json.dumps(event)))
                        raise StreamTruncated(f"stream truncated: LLM server at {self.base_url} reported an "
                                              f"error mid-stream: {detail}", partial="".join(parts), hint=_HINT)
                    model = str(event.get("model") or model)
                    if event.get("usage"):
                        usage = _parse_usage(event["usage"])
                    for choice in event.get("choices") or []:
                        if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                            continue
                        delta = choice.get("delta") or {}
                        piece = delta.get("content") if isinstance(delta, dict) else None
                        if piece is None:
                            piece = choice.get("text")
                        if isinstance(piece, str) and piece:
                            parts.append(piece)
                            yield piece
                        if choice.get("finish_reason"):
                            finish = choice["finish_reason"]
            except httpx.HTTPError as exc:
                raise StreamTruncated(
                    f"stream truncated: the connection to the LLM server at {self.base_url} broke after "
                    f"{len(''.join(parts))} characters ({type(exc).__name__})",
                    partial="".join(parts), hint="retry; if it keeps happening look at the server's log") from None
        finally:
            response.close()
        # a stream that ended cleanly after a finish_reason is complete even without [DONE]
        # (a few servers omit it); anything else is a truncation
        if not done and finish is None:
            raise StreamTruncated(
                f"stream truncated: the LLM server at {self.base_url} ended the stream without [DONE] after "
                f"{len(''.join(parts))} characters",
                partial="".join(parts), hint="retry; if it keeps happening look at the server's log")
        holder.result = ChatResult(text="".join(parts), model=model, usage=usage,
                                   latency_ms=round((time.perf_counter() - t0) * 1000, 2), finish_reason=finish)


def _error_detail(body: str) -> str:
    """The human part of an error body: OpenAI's ``{"error": {"message": ...}}`` or the raw text."""
    body = (body or "").strip()
    if not body:
        return ""
    try:
        data = json.loads(body)
    except ValueError:
        return " ".join(body.split())[:300]
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            err = err.get("message") or json.dumps(err)
        if err:
            return " ".join(str(err).split())[:300]
    return " ".join(body.split())[:300]


# --------------------------------------------------------------------------------- probes

_PROBE_SCHEMA = {
    "name": "medcite_probe",
    "strict": True,
    "schema": {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}, "word": {"type": "string"}},
        "required": ["ok", "word"],
        "additionalProperties": False,
    },
}


def supports_json_schema(model: OpenAIChatModel | ChatModel) -> bool:
    """Does the server honour ``response_format={"type": "json_schema", ...}``?

    Sends one tiny request. False when the server rejects the option (HTTP 400/422 mentioning
    ``response_format``/``json_schema``) or answers with text that is not JSON matching the schema.
    Other failures (server down, wrong key) raise :class:`LLMError`.
    """
    messages = [
        {"role": "system", "content": "Answer only with a JSON object."},
        {"role": "user", "content": 'Return {"ok": true, "word": "yes"}.'},
    ]
    try:
        result = model.complete(messages, response_format={"type": "json_schema", "json_schema": _PROBE_SCHEMA},
                                temperature=0.0, max_tokens=50)
    except LLMHTTPError as exc:
        text = f"{exc.message} {exc.body}".lower()
        if exc.status in (400, 422) and any(w in text for w in ("response_format", "json_schema", "schema")):
            return False
        raise
    text = result.text.strip()
    if text.startswith("```"):  # tolerate a fenced block
        text = text.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return (isinstance(data, dict) and isinstance(data.get("ok"), bool) and isinstance(data.get("word"), str)
            and set(data) <= {"ok", "word"})


def check(model: OpenAIChatModel) -> dict[str, Any]:
    """What ``medcite llm check`` prints: can we reach the server, how fast, does it do json_schema."""
    out: dict[str, Any] = {"ok": False, "base_url": getattr(model, "base_url", ""),
                           "model": getattr(model, "model", getattr(model, "name", "")),
                           "latency_ms": None, "json_schema": None, "error": None}
    try:
        res = model.complete([{"role": "user", "content": "Reply with the single word OK."}], max_tokens=5)
        out["latency_ms"] = res.latency_ms
        out["ok"] = True
        out["json_schema"] = supports_json_schema(model)
    except LLMError as exc:
        scrub = getattr(model, "_scrub", lambda s: s)
        out["error"] = scrub(str(exc))
    return out


# --------------------------------------------------------------------------------- helpers


def is_loopback(base_url: str) -> bool:
    """True when ``base_url``'s host resolves only to 127.0.0.0/8 or ``::1`` (then the PHI guard does not apply).

    The name is resolved (``socket.getaddrinfo``): ``0.0.0.0``, a ``*.localhost`` name that does not resolve to
    loopback, and a name that does not resolve at all are not loopback.
    """
    if not base_url:
        return False
    url = base_url.strip()
    if "://" not in url:
        url = "//" + url
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if not host:
        return False
    host = host.rstrip(".").split("%", 1)[0]
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    addresses = set()
    for info in infos:
        try:
            ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        addresses.add(ip)
    return bool(addresses) and all(ip.is_loopback for ip in addresses)


def model_from_env(environ: Mapping[str, str] | None = None, **kwargs: Any) -> OpenAIChatModel | None:
    """Build an :class:`OpenAIChatModel` from the environment, or ``None`` when no LLM is configured.

    ``MEDCITE_LLM_BASE_URL`` / ``MEDCITE_LLM_MODEL`` / ``MEDCITE_LLM_API_KEY``; ``OPENAI_BASE_URL`` and
    ``OPENAI_API_KEY`` are used when medcite's own are unset.
    """
    env = os.environ if environ is None else environ
    base_url = env.get("MEDCITE_LLM_BASE_URL") or env.get("OPENAI_BASE_URL")
    model = env.get("MEDCITE_LLM_MODEL")
    if not base_url and not model:
        return None
    if not base_url:
        raise ConfigError("MEDCITE_LLM_MODEL is set but no base URL",
                          hint="set MEDCITE_LLM_BASE_URL, e.g. http://127.0.0.1:8000/v1")
    if not model:
        raise ConfigError("an LLM base URL is set but MEDCITE_LLM_MODEL is not",
                          hint="set MEDCITE_LLM_MODEL to the name the server serves (see GET /v1/models)")
    api_key = env.get("MEDCITE_LLM_API_KEY") or env.get("OPENAI_API_KEY")
    return OpenAIChatModel(base_url, model, api_key=api_key, **kwargs)


# --------------------------------------------------------------------------------- the fake


class MockChatModel:
    """A deterministic in-process :class:`ChatModel` for unit tests.

    ``enqueue("text")`` (or a :class:`ChatResult`, or an exception instance to raise) then each
    ``complete``/``stream`` call pops one item in order. Every call is recorded in ``requests``.
    With an empty queue it answers ``default`` if one was given, else raises :class:`LLMError`.
    """

    def __init__(self, name: str = "mock", *, default: str | None = None) -> None:
        self.model = name
        self.name = f"llm:{name}"
        self.base_url = "mock://"
        self.default = default
        self.requests: list[dict[str, Any]] = []
        self._queue: deque[Any] = deque()

    def enqueue(self, *items: str | ChatResult | BaseException) -> MockChatModel:
        self._queue.extend(items)
        return self

    def _pop(self, messages, response_format, temperature, max_tokens, stream) -> ChatResult:
        self.requests.append({"messages": [dict(m) for m in messages], "response_format": response_format,
                              "temperature": temperature, "max_tokens": max_tokens, "stream": stream})
        if self._queue:
            item = self._queue.popleft()
        elif self.default is not None:
            item = self.default
        else:
            raise LLMError("MockChatModel has no queued response", hint="call enqueue() before complete()")
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, ChatResult):
            return item
        text = str(item)
        prompt = sum(len(str(m.get("content", "")).split()) for m in messages)
        completion = len(text.split())
        return ChatResult(text=text, model=self.model, latency_ms=0.0, finish_reason="stop",
                          usage={"prompt_tokens": prompt, "completion_tokens": completion,
                                 "total_tokens": prompt + completion})

    def complete(self, messages: list[dict], *, response_format: dict | None = None, temperature: float = 0.0,
                 max_tokens: int | None = None) -> ChatResult:
        return self._pop(messages, response_format, temperature, max_tokens, False)

    def stream(self, messages: list[dict], *, response_format: dict | None = None, temperature: float = 0.0,
               max_tokens: int | None = None) -> ChatStream:
        result = self._pop(messages, response_format, temperature, max_tokens, True)

        def gen(holder: ChatStream) -> Iterator[str]:
            import re

            for piece in re.findall(r"\S+\s*|\s+", result.text):
                yield piece
            holder.result = result

        return ChatStream(gen)
