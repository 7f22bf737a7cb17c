"""The admin page of the editorial board's accounts: list, create, change role, set a password, disable, enable.

Admins only (everyone else gets 403, anonymous visitors the sign-in page); every action is a POST form with the
CSRF token and calls :class:`medcite.review.Editorial`, which checks the role again and writes the audit log.
Passwords travel only in POST bodies, never in a URL.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from medcite.errors import NotFound
from medcite.review import ROLES
from medcite.web.auth import check_csrf, principal, require_user

router = APIRouter(include_in_schema=False)
ACTIONS = ("add", "role", "password", "disable", "enable")
DONE = {
    "add": "Created {name}.",
    "role": "Changed the role of {name}.",
    "password": "Set a new password for {name}; their other sessions ended.",
    "disable": "Disabled {name}: they cannot sign in and their sessions ended.",
    "enable": "Enabled {name} again.",
}


@router.get("/admin/users")
async def users_page(request: Request, done: str = "", name: str = "") -> Response:
    w = request.app.state.web
    who = principal(request)
    user = require_user(who)
    users = await w.run(w.editorial.list_users, user)
    notice = DONE[done].format(name=name) if done in DONE and any(u.name == name for u in users) else ""
    return w.render(request, "admin_users.html", {"users": users, "roles": ROLES, "notice": notice},
                    title="Accounts", who=who)


@router.post("/admin/users/{action}")
async def users_action(request: Request, action: str) -> Response:
    if action not in ACTIONS:
        raise NotFound(f"no account action {action!r}", hint=f"one of: {', '.join(ACTIONS)}")
    w: Any = request.app.state.web
    form = await w.form(request)
    who = principal(request)
    check_csrf(request, who, form.get("csrf"))
    user = require_user(who)
    name = w.field(form, "name", 100, label="user name")
    board = w.editorial
    if action == "add":
        role = w.field(form, "role", 20)
        password = w.field(form, "password", 1000)
        await w.run(lambda: board.add_user(name, role, password, actor=user))
    elif action == "role":
        role = w.field(form, "role", 20)
        await w.run(lambda: board.set_role(name, role, actor=user))
    elif action == "password":
        password = w.field(form, "password", 1000)
        await w.run(lambda: board.set_password(name, password, actor=user, keep_session=who.session_id))
    elif action == "disable":
        await w.run(lambda: board.disable_user(name, actor=user))
    else:
        await w.run(lambda: board.enable_user(name, actor=user))
    from urllib.parse import urlencode

    return RedirectResponse("/admin/users?" + urlencode({"done": action, "name": name}), status_code=303)
