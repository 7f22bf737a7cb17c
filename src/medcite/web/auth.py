"""Who is asking: session cookies, API tokens, CSRF — and the login / logout pages.

- A browser signs in with a name and password; the server keeps an Editorial session and sets the cookie
  ``medcite_session`` (HttpOnly, SameSite=Lax, Secure over https). An expired or unknown session reads as an
  anonymous visitor (the cookie is cleared).
- API clients send ``Authorization: Bearer mct_…`` (``medcite user token NAME``); a bad token is 401.
- Every state-changing request from a browser carries a CSRF token: the hidden form field ``csrf`` or the
  ``X-CSRF-Token`` header. Signed-in users get their session's token; anonymous visitors a random token in the
  ``medcite_csrf`` cookie (double submit). Bearer-token requests need none.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from medcite.errors import MedciteError, PermissionDenied
from medcite.review import User
from medcite.web.markdown import local_next

SESSION_COOKIE = "medcite_session"
CSRF_COOKIE = "medcite_csrf"
CSRF_HEADER = "x-csrf-token"


class CsrfError(PermissionDenied):
    http_status = 403


class NotAuthenticated(MedciteError):
    http_status = 401


@dataclass
class Principal:
    user: User | None
    via: str  # "session", "token" or "anonymous"
    csrf: str = ""  # the token a form / JS call must echo
    session_id: str = ""
    new_csrf_cookie: bool = False  # set medcite_csrf on the response
    clear_session_cookie: bool = False  # an expired / unknown session cookie came in

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    @property
    def can_submit(self) -> bool:
        return self.user is not None and self.user.role in ("editor", "reviewer", "admin")

    @property
    def is_reviewer(self) -> bool:
        return self.user is not None and self.user.is_reviewer


def principal(request: Request) -> Principal:
    """Resolve (once per request) who is calling: bearer token, session cookie, or nobody."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    web = request.app.state.web
    editorial = web.editorial
    auth = request.headers.get("authorization", "")
    result: Principal
    if auth:
        scheme, _, token = auth.partition(" ")
        user = editorial.user_for_token(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if user is None:
            raise NotAuthenticated("invalid or revoked API token",
                                   hint="create one with `medcite user token NAME` and send "
                                        "'Authorization: Bearer mct_…'")
        result = Principal(user=user, via="token")
    else:
        sid = request.cookies.get(SESSION_COOKIE, "")
        found = editorial.session_user(sid) if sid else None
        if found is not None:
            user, csrf = found
            result = Principal(user=user, via="session", csrf=csrf, session_id=sid)
        else:
            anon = request.cookies.get(CSRF_COOKIE, "")
            fresh = len(anon) < 20
            result = Principal(user=None, via="anonymous", csrf=secrets.token_urlsafe(24) if fresh else anon,
                               new_csrf_cookie=fresh, clear_session_cookie=bool(sid))
    request.state.principal = result
    return result


def check_csrf(request: Request, who: Principal, supplied: str | None = None) -> None:
    """Refuse (403) a state-changing browser request without the right CSRF token."""
    if who.via == "token":
        return
    supplied = supplied or request.headers.get(CSRF_HEADER, "")
    expected = who.csrf if who.via == "session" else request.cookies.get(CSRF_COOKIE, "")
    if not supplied or not expected or not hmac.compare_digest(supplied.encode(), expected.encode()):
        raise CsrfError("missing or wrong CSRF token",
                        hint="reload the page and submit the form again (JS clients send the X-CSRF-Token header)")


def require_user(who: Principal) -> User:
    if who.user is None:
        raise NotAuthenticated("sign in first", hint="this action needs an account")
    return who.user


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def apply_cookies(request: Request, response: Response) -> Response:
    """Set / clear the cookies the request's principal calls for."""
    who: Principal | None = getattr(request.state, "principal", None)
    if who is None:
        return response
    secure = is_https(request)
    if who.new_csrf_cookie:
        response.set_cookie(CSRF_COOKIE, who.csrf, httponly=True, samesite="lax", secure=secure, path="/")
        who.new_csrf_cookie = False
    if who.clear_session_cookie:
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure)
    return response


# --- pages -------------------------------------------------------------------------------------

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    web = request.app.state.web
    who = principal(request)
    return web.render(request, "login.html", {"next": local_next(next), "error": "", "name": ""},
                      title="Sign in", who=who)


@router.post("/login")
async def login(request: Request) -> Response:
    web = request.app.state.web
    form = await web.form(request)
    who = principal(request)
    check_csrf(request, who, form.get("csrf"))
    name = web.field(form, "name", 100)
    password = web.field(form, "password", 1000)
    target = local_next(form.get("next"))
    address = request.client.host if request.client else "unknown"
    throttles = ((web.login_by_account, f"account:{name.strip().lower()}"), (web.login_by_address, f"ip:{address}"))
    for throttle, key in throttles:
        throttle.check(key)  # 429 before the password is even looked at
    user = await web.run(web.editorial.authenticate, name, password)
    if user is None:
        for throttle, key in throttles:
            if throttle.failure(key):
                await web.run(lambda k=key: web.editorial.record_security_event(
                    "login_locked", key=k, failures=throttle.lockout_after, lockout_s=throttle.lockout_s))
        return web.render(request, "login.html", {"next": target, "error": "Wrong name or password.", "name": name},
                          title="Sign in", who=who, status=401)
    for throttle, key in throttles:
        throttle.success(key)
    if who.session_id:  # re-login: the old session id dies, a fresh one is issued (no fixation)
        web.editorial.end_session(who.session_id)
    ttl = web.config.session_ttl_s
    sid, _csrf = web.editorial.create_session(user, ttl)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, sid, max_age=ttl, httponly=True, samesite="lax",
                        secure=is_https(request), path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    web = request.app.state.web
    form = await web.form(request)
    who = principal(request)
    check_csrf(request, who, form.get("csrf"))
    if who.session_id:
        web.editorial.end_session(who.session_id)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))
    return response


def user_dict(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.id, "name": user.name, "role": user.role}
