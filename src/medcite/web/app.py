"""The FastAPI application: one :class:`Web` object holding the service, templates and limits; errors mapped once.

Routes live in ``api.py`` (JSON under ``/api/v1``), ``pages.py`` (server-rendered pages) and ``auth.py``
(login / logout); each is a few lines that parse input, call the service and render.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator, TypeVar
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from medcite.answer.notices import notice_label, retracted_in_bottom_line
from medcite.errors import MedciteError, PermissionDenied
from medcite.llm.marks import mark_flagged
from medcite.review import STATE_LABELS
from medcite.review.recompute import headline, newest_year, stale_bottom_line
from medcite.service import Medcite
from medcite.settings import Settings
from medcite.web import contract
from medcite.web import markdown as md
from medcite.web.auth import CsrfError, NotAuthenticated, Principal, apply_cookies, principal
from medcite.web.security import LoginThrottle, RateLimiter, RateLimited, SecurityMiddleware

log = logging.getLogger("medcite.web")
HERE = Path(__file__).resolve().parent
T = TypeVar("T")


class FieldError(MedciteError):
    http_status = 400


@dataclass
class WebConfig:
    """Web limits; read from Settings (``web_*`` fields) when present, else these defaults."""

    max_body_bytes: int = 64 * 1024
    ask_rate_per_minute: float = 30.0
    ask_burst: int = 10
    session_ttl_s: int = 8 * 3600
    service_pool: int = 2
    max_field_chars: int = 20000
    max_json_depth: int = 20  # JSON bodies nested deeper are refused (422) before they are parsed
    max_json_containers: int = 2000  # … and so are bodies holding more objects and arrays

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> "WebConfig":
        cfg = cls()
        for name in cls.__dataclass_fields__:
            value = overrides.get(name, getattr(settings, f"web_{name}", None))
            if value is not None:
                setattr(cfg, name, type(getattr(cls, name))(value))
        return cfg


class ServicePool:
    """A few :class:`Medcite` instances (one SQLite connection each) handed out one per thread at a time."""

    def __init__(self, primary: Medcite, size: int) -> None:
        self.primary = primary
        self.size = max(1, size)
        self._free: queue.Queue[Medcite] = queue.Queue()
        self._free.put(primary)
        self._created = 1
        self._lock = threading.Lock()

    @contextmanager
    def use(self) -> Iterator[Medcite]:
        try:
            svc = self._free.get_nowait()
        except queue.Empty:
            with self._lock:
                grow = self._created < self.size
                if grow:
                    self._created += 1
            svc = Medcite(self.primary.settings) if grow else self._free.get()
        try:
            yield svc
        finally:
            self._free.put(svc)

    def close(self) -> None:
        while True:
            try:
                self._free.get_nowait().close()
            except queue.Empty:
                return


class Web:
    """Everything a route needs: ``pool`` (service), ``editorial``, ``render``, ``form``/``field``, ``ask``."""

    def __init__(self, service: Medcite, config: WebConfig) -> None:
        self.service = service
        self.settings = service.settings
        self.config = config
        self.pool = ServicePool(service, config.service_pool)
        self.editorial = service.editorial
        self.limiter = RateLimiter(config.ask_rate_per_minute, config.ask_burst)
        # failed sign-ins: per account name, and (more leniently: offices share addresses) per client address
        self.login_by_account = LoginThrottle(free=3, lockout_after=10)
        self.login_by_address = LoginThrottle(free=10, lockout_after=50)
        self.page_cache: OrderedDict[tuple[str, int], str] = OrderedDict()
        self.env = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                               autoescape=select_autoescape(["html"]), auto_reload=False)
        self.env.globals.update(
            md=md.render_markdown, inline=md.render_inline, safe_url=md.safe_url, doc_href=md.doc_href,
            diff_lines=md.diff_lines, state_labels=STATE_LABELS, quote=lambda s: quote(str(s), safe=""),
            newest_year=newest_year, stale_bottom_line=stale_bottom_line, headline=headline,
            notice_label=notice_label, retracted_in_bottom_line=retracted_in_bottom_line,
        )

    # --- calling the service ------------------------------------------------------------------

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await run_in_threadpool(fn, *args, **kwargs)

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``service.<method>(…)`` on a pooled service, in the threadpool."""
        def go() -> Any:
            with self.pool.use() as svc:
                return getattr(svc, method)(*args, **kwargs)
        return await run_in_threadpool(go)

    def limit(self, request: Request) -> None:
        self.limiter.check(request.client.host if request.client else "unknown")

    async def ask(self, request: Request, question: str, audience: str, *, thread: bool = True,
                  thread_id: str | None = None) -> tuple[Any, str | None]:
        """Rate-limited question → (Answer, thread id); with ``thread_id`` a follow-up in that thread."""
        self.limit(request)
        question = self.field({"question": question}, "question", self.settings.max_question_chars)
        if audience not in ("clinician", "patient"):
            raise FieldError(f"unknown audience {audience!r}", hint="choose clinician or patient")

        def go() -> tuple[Any, str | None]:
            with self.pool.use() as svc:
                if thread_id:
                    return mark_flagged(svc.follow_up(thread_id, question, audience)), thread_id
                answer = mark_flagged(svc.ask(question, audience))  # unsupported LLM sentences: visibly marked
                return answer, (svc.start_thread(answer) if thread else None)
        return await run_in_threadpool(go)

    # --- input --------------------------------------------------------------------------------

    async def form(self, request: Request) -> dict[str, str]:
        try:
            data = await request.form(max_files=0, max_fields=200)
        except MedciteError:
            raise
        except Exception as exc:  # malformed multipart / urlencoded body
            raise FieldError(f"malformed form data: {exc}", hint="submit the form from the page") from None
        return {k: v for k, v in data.items() if isinstance(v, str)}

    def field(self, form: dict[str, str], name: str, max_chars: int | None = None, *, required: bool = True,
              label: str | None = None) -> str:
        raw = form.get(name) or ""
        value = raw.strip()
        label = label or name.replace("_", " ")
        limit = max_chars or self.config.max_field_chars
        if required and not value:
            raise FieldError(f"the {label} is empty", hint=f"fill in the {label} and submit again")
        if len(raw) > limit:  # as sent (the API schema's maxLength counts the value as sent, spaces included)
            raise FieldError(f"the {label} is {len(raw):,} characters long; the limit is {limit:,}",
                             hint=f"shorten the {label}")
        return value

    # --- output -------------------------------------------------------------------------------

    def render(self, request: Request, template: str, ctx: dict[str, Any], *, title: str = "",
               who: Principal | None = None, status: int = 200) -> HTMLResponse:
        who = who or principal(request)
        html = self.env.get_template(template).render(
            request=request, who=who, user=who.user, csrf=who.csrf, title=title, path=request.url.path, **ctx)
        response = HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})
        return apply_cookies(request, response)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    if wants_json(request):
        return JSONResponse({"ok": False, "error": message, "status": status}, status_code=status, headers=headers)
    web: Web = request.app.state.web
    try:
        who = principal(request)
    except MedciteError:
        who = Principal(user=None, via="anonymous")
    html = web.env.get_template("error.html").render(
        request=request, who=who, user=who.user, csrf=who.csrf, title=f"Error {status}", status=status,
        message=message, path=request.url.path)
    return apply_cookies(request, HTMLResponse(html, status_code=status, headers=headers))


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(MedciteError)
    async def medcite_error(request: Request, exc: MedciteError) -> Response:
        status = exc.http_status
        who: Principal | None = getattr(request.state, "principal", None)
        anonymous = who is None or who.user is None
        if isinstance(exc, NotAuthenticated) or (
                isinstance(exc, PermissionDenied) and not isinstance(exc, CsrfError) and anonymous):
            if not wants_json(request) and request.method == "GET":
                return RedirectResponse("/login?next=" + quote(str(request.url.path), safe="/"), status_code=303)
            status = 401
        headers = {"retry-after": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        if status >= 500:
            log.error("request failed: %s", exc)
        return error_response(request, status, str(exc), headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no page at {request.url.path}"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # every method of the path, not only those of the first route that matched it
            allow = contract.allowed_methods(request, (headers or {}).get("Allow", ""))
            headers = {k: v for k, v in (headers or {}).items() if k.lower() != "allow"} | {"Allow": allow}
        return error_response(request, exc.status_code, message, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(request, 400, "malformed JSON in the request body")
        parts = []
        for e in errors[:5]:
            where = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
            parts.append(f"{where or 'body'}: {e.get('msg', 'invalid')}")
        return error_response(request, 422, "invalid request — " + "; ".join(parts))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        return internal_error(request, exc)


def internal_error(request: Request, exc: BaseException) -> Response:
    """The 500 answer: logged with its traceback; the message says nothing about the internals."""
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    message = "internal error — the problem was logged"
    try:
        return error_response(request, 500, message)
    except Exception:  # the error page itself failed: fall back to the JSON shape
        return JSONResponse({"ok": False, "error": message, "status": 500}, status_code=500)


async def _on_error(scope: dict[str, Any], exc: BaseException, send: Callable[..., Any]) -> None:
    """SecurityMiddleware's hook: answer an unexpected exception with a 500 that keeps the connection open."""
    async def no_body() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    response = internal_error(Request(scope), exc)
    await response(scope, no_body, send)


async def _favicon() -> Response:
    """Browsers ask for /favicon.ico on every site; answer with the icon instead of a 404 in the log."""
    return Response((HERE / "static" / "favicon.ico").read_bytes(), media_type="image/x-icon",
                    headers={"Cache-Control": "public, max-age=86400"})


def create_app(settings_or_service: Settings | Medcite, **overrides: Any) -> FastAPI:
    """The web app for a :class:`Settings` or an existing :class:`Medcite` (``overrides``: WebConfig fields)."""
    from medcite.web import admin_pages, api, auth, pages, privacy, review_pages

    privacy.install()  # the access log keeps no raw question (GET /ask?q=…, /search?q=…)
    service = settings_or_service if isinstance(settings_or_service, Medcite) else Medcite(settings_or_service)
    config = WebConfig.from_settings(service.settings, **overrides)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # the first question must not wait for word frequencies or the embedding model to load; say so, since it
        # takes seconds between uvicorn's "Waiting for application startup" and "complete"
        server_log = logging.getLogger("uvicorn.error")  # uvicorn's own log: shown with its lines, in its format
        server_log.info("medcite: loading word frequencies, the query vocabularies and the embedding model …")
        started = time.perf_counter()
        await run_in_threadpool(service.warm_up)
        server_log.info("medcite: ready to answer (loaded in %.1f s)", time.perf_counter() - started)
        yield

    app = FastAPI(
        title="medcite", version="1", description="Cited answers to clinical questions; editorial review.",
        openapi_url="/api/v1/openapi.json", docs_url=None, redoc_url=None, lifespan=lifespan,
    )
    app.state.web = Web(service, config)
    app.add_middleware(SecurityMiddleware, max_body=config.max_body_bytes, max_json_depth=config.max_json_depth,
                       max_json_containers=config.max_json_containers, on_error=_on_error)
    _install_errors(app)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_api_route("/favicon.ico", _favicon, methods=["GET"], include_in_schema=False)
    app.include_router(api.router)
    contract.install(app, service.settings.max_question_chars)  # the question's limit as this server enforces it
    app.include_router(auth.router)
    app.include_router(pages.router)
    app.include_router(review_pages.router)
    app.include_router(admin_pages.router)
    return app
