"""medcite's web face: server-rendered pages and a JSON API over the one service (docs/web.md, docs/api.md).

    from medcite.web import create_app
    app = create_app(Settings(db="medcite.db"))        # or create_app(Medcite(settings))

``factory()`` builds the app from the environment (``MEDCITE_*``) for ``uvicorn --factory`` and multi-worker runs.
"""

from __future__ import annotations

from typing import Any


def create_app(settings_or_service: Any, **overrides: Any) -> Any:
    """The FastAPI app for a :class:`~medcite.settings.Settings` or a :class:`~medcite.service.Medcite`."""
    from medcite.web.app import create_app as _create

    return _create(settings_or_service, **overrides)


def factory() -> Any:
    """``uvicorn --factory medcite.web:factory``: settings from ``medcite.toml`` and ``MEDCITE_*``."""
    from medcite.settings import load_settings

    return create_app(load_settings())


def server_options(settings: Any, forwarded_allow_ips: str | None = None) -> dict[str, Any]:
    """uvicorn's options for medcite: the protocol with request deadlines, and the proxy options.

    The protocol (:class:`medcite.web.server.TimedH11Protocol`) closes connections whose request head does not
    arrive within ``web_header_timeout`` seconds and answers 408 to bodies slower than ``web_body_timeout``.
    X-Forwarded-* are honoured only from ``web_trusted_proxies`` (or the CLI flag); with no trusted proxy, uvicorn
    ignores the headers, so a client cannot forge its address.
    """
    from medcite.web.server import PROTOCOL, TimedH11Protocol

    TimedH11Protocol.configure(settings)  # this process; worker processes read their own settings
    trusted = (forwarded_allow_ips if forwarded_allow_ips is not None
               else getattr(settings, "web_trusted_proxies", "")).strip()
    return {"http": PROTOCOL, "proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}


__all__ = ["create_app", "factory", "server_options"]
