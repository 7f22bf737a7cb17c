"""What the server's logs may keep of a request: its address with every query value PHI-redacted.

uvicorn's access log writes each request line (``GET /ask?q=… HTTP/1.1``). Questions reach the server in
query strings only from old links and ``/search?q=``; :class:`RedactQuery` rewrites the logged path so that each
query value goes through :func:`medcite.llm.phi.redacted` first. :func:`install` adds it to uvicorn's access logger
once, whatever the number of apps built in a process.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode

from medcite.llm.phi import redacted


def redact_target(target: str) -> str:
    """``/ask?q=Mr+Smith…`` → ``/ask?q=Mr+%5BNAME%5D…``: the path kept, each query value redacted."""
    path, sep, query = target.partition("?")
    if not sep:
        return target
    pairs = parse_qsl(query, keep_blank_values=True)
    return path + "?" + urlencode([(k, redacted(v)) for k, v in pairs])


class RedactQuery(logging.Filter):
    """A filter for ``uvicorn.access``: the request target's query values are redacted before the line is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], redact_target(args[2]), *args[3:])
        elif isinstance(record.msg, str) and "?" in record.msg and not args:
            parts = record.msg.split(" ")
            record.msg = " ".join(redact_target(p) if p.startswith("/") and "?" in p else p for p in parts)
        return True


def install() -> None:
    """Add :class:`RedactQuery` to uvicorn's access logger (once)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactQuery) for f in access.filters):
        access.addFilter(RedactQuery())


__all__ = ["RedactQuery", "install", "redact_target"]
