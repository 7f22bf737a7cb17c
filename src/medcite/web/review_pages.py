"""The review page of an article and its actions: take, edit (headline, bottom line and sections, with a note), comment,
approve, request changes, reject (a note is required for both), resubmit.

Every action is a POST form with the CSRF token; permissions are checked by :class:`medcite.review.Editorial`
(a reader cannot approve, nobody approves their own submission) and mapped to 401 / 403 / 404 / 409 once.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from medcite.errors import PermissionDenied
from medcite.review.recompute import headline, is_quality_section
from medcite.web.auth import check_csrf, principal, require_user
from medcite.web.pages import article_html, with_notices

router = APIRouter(include_in_schema=False)
MAX_NOTE = 5000
MAX_SECTIONS = 40


def _w(request: Request) -> Any:
    return request.app.state.web


@router.get("/articles/{article_id}/review")
async def review_page(request: Request, article_id: str) -> Response:
    w = _w(request)
    who = principal(request)
    user = require_user(who)
    article = await with_notices(w, await w.run(w.editorial.get, article_id, user))
    versions = await w.run(w.editorial.versions, article_id, user)
    try:
        comments = await w.run(w.editorial.comments, article_id, user)
    except PermissionDenied:
        comments = []
    mine = article.author_id == user.id
    return w.render(request, "review.html", {
        "article": article, "body": article_html(w, article), "versions": list(reversed(versions)),
        "comments": comments, "mine": mine, "is_reviewer": user.is_reviewer,
        # the quality section is rebuilt from the citations on every edit: it is not edited by hand
        "sections": [s for s in article.answer.get("sections", []) if not is_quality_section(s)],
        "headline": headline(article.answer, article.title),
    }, title=f"Review: {article.title}", who=who)


async def _action(request: Request, article_id: str) -> tuple[Any, Any, dict[str, str]]:
    w = _w(request)
    form = await w.form(request)
    who = principal(request)
    check_csrf(request, who, form.get("csrf"))
    return w, require_user(who), form


def _version(w: Any, form: dict[str, str]) -> int:
    from medcite.web.app import FieldError

    text = w.field(form, "expected_version", 12, label="article version")
    if not text.isdigit():
        raise FieldError("the article version must be a number", hint="reload the review page")
    return int(text)


def _back(article_id: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/articles/{article_id}/review{anchor}", status_code=303)


@router.post("/articles/{article_id}/take")
async def take(request: Request, article_id: str) -> Response:
    w, user, _ = await _action(request, article_id)
    await w.run(w.editorial.take, article_id, user)
    return _back(article_id)


@router.post("/articles/{article_id}/edit")
async def edit(request: Request, article_id: str) -> Response:
    w, user, form = await _action(request, article_id)
    version = _version(w, form)
    note = w.field(form, "note", MAX_NOTE, label="note")
    article = await w.run(w.editorial.get, article_id, user)
    answer = dict(article.answer)
    if "headline" in form:
        metadata = dict(answer.get("metadata") or {})
        text = w.field(form, "headline", 300, required=False, label="headline")
        if text and text != article.title:
            metadata["headline"] = text
        else:
            metadata.pop("headline", None)
        answer["metadata"] = metadata
    answer["bottom_line"] = w.field(form, "bottom_line", label="bottom line")
    sections = []
    for i in range(MAX_SECTIONS):
        if f"heading_{i}" not in form:
            break
        heading = w.field(form, f"heading_{i}", 500, required=False, label=f"heading of section {i + 1}")
        text = w.field(form, f"markdown_{i}", required=False, label=f"text of section {i + 1}")
        if heading or text:
            sections.append({"heading": heading, "markdown": text})
    answer["sections"] = sections
    await w.run(lambda: w.editorial.edit(article_id, user, answer, note, expected_version=version))
    return _back(article_id, "#versions")


@router.post("/articles/{article_id}/comment")
async def comment(request: Request, article_id: str) -> Response:
    w, user, form = await _action(request, article_id)
    await w.run(w.editorial.comment, article_id, user, w.field(form, "text", MAX_NOTE, label="comment"))
    return _back(article_id, "#comments")


@router.post("/articles/{article_id}/approve")
async def approve(request: Request, article_id: str) -> Response:
    w, user, form = await _action(request, article_id)
    version = _version(w, form)
    note = w.field(form, "note", MAX_NOTE, required=False)
    await w.run(w.editorial.approve, article_id, user, version, note)
    return RedirectResponse(f"/articles/{article_id}", status_code=303)


@router.post("/articles/{article_id}/request-changes")
async def request_changes(request: Request, article_id: str) -> Response:
    w, user, form = await _action(request, article_id)
    version = _version(w, form)
    note = w.field(form, "note", MAX_NOTE, label="note (what must change)")
    await w.run(w.editorial.request_changes, article_id, user, note, version)
    return _back(article_id)


@router.post("/articles/{article_id}/reject")
async def reject(request: Request, article_id: str) -> Response:
    w, user, form = await _action(request, article_id)
    version = _version(w, form)
    note = w.field(form, "note", MAX_NOTE, label="note (why it is rejected)")
    await w.run(w.editorial.reject, article_id, user, note, version)
    return _back(article_id)


@router.post("/articles/{article_id}/resubmit")
async def resubmit(request: Request, article_id: str) -> Response:
    w, user, _ = await _action(request, article_id)
    await w.run(w.editorial.resubmit, article_id, user)
    return _back(article_id)
