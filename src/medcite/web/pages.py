"""Server-rendered pages: ask, answers and threads, documents, search, the article index and article pages.

Review pages (take, edit, decide) live in ``review_pages.py``; login / logout in ``auth.py``.
Every page works without JavaScript; ``static/app.js`` only streams answers in as they are composed.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from medcite.answer.schema import Answer
from medcite.errors import MedciteError, NotFound
from medcite.review import Article
from medcite.web.auth import check_csrf, principal, require_user

router = APIRouter(include_in_schema=False)
_CACHE_MAX = 256


def _w(request: Request) -> Any:
    return request.app.state.web


def as_answer(data: dict[str, Any]) -> Any:
    """An article's stored answer as an Answer (falls back to the dict, which templates read the same way)."""
    try:
        return Answer.model_validate(data)
    except Exception:  # an edited answer that no longer matches the schema still renders
        return data


def ref_numbers(answer: Any) -> list[int]:
    refs = answer.references if isinstance(answer, Answer) else answer.get("references", [])
    return [int(r.n) if hasattr(r, "n") else int(r.get("n", 0)) for r in refs]


def answer_html(web: Any, answer: Any, article: Article | None, url: str, turn: int) -> Markup:
    parts = web.env.get_template("answer_parts.html").module
    return Markup(parts.answer_body(answer, article, url, turn, ref_numbers(answer)))


async def with_notices(web: Any, article: Article) -> Article:
    """The article with its references' retraction / correction notices as the corpus stands now."""
    try:
        return replace(article, answer=await web.call("with_notices", article.answer))
    except MedciteError:  # no evidence store (an editorial database on its own): no notices to show
        return article


def article_html(web: Any, article: Article) -> Markup:
    """The rendered body of an article, cached per (id, version, notices) — approved pages are read far more than
    written; a retraction or correction of a cited document renders it anew."""
    notices = tuple(str(r.get("notice") or "") for r in article.answer.get("references") or [])
    key = (article.id, article.version, notices)
    cache: OrderedDict = web.page_cache
    html = cache.get(key)
    if html is None:
        html = str(answer_html(web, as_answer(article.answer), article, f"/articles/{article.id}", 1))
        cache[key] = html
        while len(cache) > _CACHE_MAX:
            cache.popitem(last=False)
    return Markup(html)


# --- ask -------------------------------------------------------------------------------------


@router.get("/")
async def home(request: Request) -> Response:
    w = _w(request)
    who = principal(request)
    recent = (await w.run(w.editorial.list, None, "approved", None, limit=8))
    return w.render(request, "ask.html", {"recent": recent, "question": "", "audience": "clinician"}, who=who,
                    title="Ask a clinical question")


async def _answer_page(request: Request, question: str, audience: str) -> Response:
    w = _w(request)
    who = principal(request)
    answer, thread_id = await w.ask(request, question, audience)
    url = f"/thread/{thread_id}"
    body = answer_html(w, answer, None, url, 1)
    return w.render(request, "answer.html", {"turns": [(answer, body, 1)], "thread_id": thread_id,
                                             "follow_action": f"{url}/follow-up"},
                    who=who, title=answer.question)


@router.get("/ask")
async def ask_get(request: Request, q: str = Query("", max_length=20000),
                  audience: str = Query("clinician", max_length=20)) -> Response:
    """An old-style link (``/ask?q=…``): answered, kept as a thread (redacted), then 303 to the thread's page,
    so the question stays in no address bar, history or bookmark. The form posts instead."""
    if not q.strip():
        return RedirectResponse("/", status_code=303)
    _, thread_id = await _w(request).ask(request, q, audience)
    return RedirectResponse(f"/thread/{thread_id}", status_code=303)


@router.post("/ask")
async def ask_post(request: Request) -> Response:
    w = _w(request)
    form = await w.form(request)
    check_csrf(request, principal(request), form.get("csrf"))
    question = w.field(form, "question", w.settings.max_question_chars)
    return await _answer_page(request, question, form.get("audience", "clinician"))


@router.get("/thread/{thread_id}")
async def thread(request: Request, thread_id: str) -> Response:
    w = _w(request)
    turns = await w.call("thread", thread_id)
    url = f"/thread/{thread_id}"
    rendered = [(a, answer_html(w, a, None, url, i), i) for i, a in enumerate(turns, 1)]
    return w.render(request, "answer.html", {"turns": rendered, "thread_id": thread_id,
                                             "follow_action": f"{url}/follow-up"}, title=turns[0].question)


@router.post("/thread/{thread_id}/follow-up")
async def follow_up(request: Request, thread_id: str) -> Response:
    w = _w(request)
    form = await w.form(request)
    check_csrf(request, principal(request), form.get("csrf"))
    question = w.field(form, "question", w.settings.max_question_chars)
    turns = await w.call("thread", thread_id)
    await w.ask(request, question, turns[-1].audience, thread_id=thread_id)
    return RedirectResponse(f"/thread/{thread_id}#turn-{len(turns) + 1}", status_code=303)


@router.get("/thread/{thread_id}/audience")
async def thread_audience(request: Request, thread_id: str, turn: int = Query(1, ge=1, le=1000),
                          to: str = Query("patient", max_length=20)) -> Response:
    """The same question for the other audience: asked again from the thread's (redacted) question."""
    w = _w(request)
    turns = await w.call("thread", thread_id)
    if turn > len(turns):
        raise NotFound(f"thread {thread_id} has no turn {turn}")
    _, new_id = await w.ask(request, turns[turn - 1].question, to)
    return RedirectResponse(f"/thread/{new_id}", status_code=303)


@router.get("/editorial-policy")
async def editorial_policy(request: Request) -> Response:
    """How answers are made, checked and reviewed (linked beside every "Last updated")."""
    return _w(request).render(request, "editorial_policy.html", {}, title="Editorial policy")


# --- documents and search -----------------------------------------------------------------------


@router.get("/doc/{doc_id:path}")
async def document(request: Request, doc_id: str, passage: str = Query("", max_length=500)) -> Response:
    w = _w(request)
    doc = await w.call("document", doc_id)
    notices = await w.call("document_notices", doc.doc_id)
    mark: tuple[int, int, int] | None = None
    if passage:
        def find() -> Any:
            with w.pool.use() as svc:
                return svc.open_existing().get_passage(passage)
        try:
            row = await w.run(find)
            if row["doc_id"] == doc.doc_id:
                mark = (int(row["section_ord"]), int(row["start"]), int(row["end"]))
        except MedciteError:
            mark = None
    sections = []
    for i, s in enumerate(doc.sections):
        if mark and mark[0] == i:
            start, end = max(0, mark[1]), min(len(s.text), mark[2])
            sections.append((s.heading, s.text[:start], s.text[start:end], s.text[end:]))
        else:
            sections.append((s.heading, s.text, "", ""))
    return w.render(request, "doc.html", {"doc": doc, "sections": sections, "marked": mark is not None,
                                          "notices": notices},
                    title=doc.title)


@router.get("/search")
async def search(request: Request, q: str = Query("", max_length=20000)) -> Response:
    w = _w(request)
    result = await w.call("search", q, 20) if q.strip() else None
    articles = await w.run(w.editorial.list, principal(request).user, None, q, limit=20) if q.strip() else []
    return w.render(request, "search.html", {"q": q, "result": result, "articles": articles}, title="Search")


# --- articles ---------------------------------------------------------------------------------


@router.get("/articles")
async def articles(request: Request, q: str = Query("", max_length=500), state: str = Query("", max_length=40)) -> Response:
    w = _w(request)
    who = principal(request)
    arts = await w.run(w.editorial.list, who.user, state or None, q or None)
    return w.render(request, "articles.html", {"articles": arts, "q": q, "state": state}, title="Articles", who=who)


@router.post("/articles")
async def submit(request: Request) -> Response:
    w = _w(request)
    form = await w.form(request)
    who = principal(request)
    check_csrf(request, who, form.get("csrf"))
    user = require_user(who)
    thread_id = w.field(form, "thread_id", 100, label="thread id")
    turn_text = w.field(form, "turn", 6, required=False) or "1"
    turns = await w.call("thread", thread_id)
    if not turn_text.isdigit() or not 1 <= int(turn_text) <= len(turns):
        raise NotFound(f"thread {thread_id} has no turn {turn_text!r}")
    article = await w.run(w.editorial.submit, turns[int(turn_text) - 1].model_dump(mode="json"), user)
    return RedirectResponse(f"/articles/{article.id}/review", status_code=303)


@router.get("/articles/{article_id}")
async def article_page(request: Request, article_id: str) -> Response:
    w = _w(request)
    who = principal(request)
    article = await with_notices(w, await w.run(w.editorial.get, article_id, who.user))
    body = article_html(w, article)
    answer = as_answer(article.answer)
    return w.render(request, "article.html", {"article": article, "body": body, "answer": answer,
                                              "follow_action": f"/articles/{article.id}/follow-up"},
                    title=article.title, who=who)


@router.get("/articles/{article_id}/audience")
async def article_audience(request: Request, article_id: str, to: str = Query("patient", max_length=20)) -> Response:
    """An article's question for the other audience, as a new unreviewed answer in a thread."""
    w = _w(request)
    article = await w.run(w.editorial.get, article_id, principal(request).user)
    _, new_id = await w.ask(request, str(article.answer.get("question", "")), to)
    return RedirectResponse(f"/thread/{new_id}", status_code=303)


@router.post("/articles/{article_id}/follow-up")
async def article_follow_up(request: Request, article_id: str) -> Response:
    """A follow-up on an article starts a thread whose first turn is the article's answer."""
    w = _w(request)
    form = await w.form(request)
    who = principal(request)
    check_csrf(request, who, form.get("csrf"))
    question = w.field(form, "question", w.settings.max_question_chars)
    article = await w.run(w.editorial.get, article_id, who.user)
    first = Answer.model_validate(article.answer)
    thread_id = await w.call("start_thread", first)
    await w.ask(request, question, first.audience, thread_id=thread_id)
    return RedirectResponse(f"/thread/{thread_id}#turn-2", status_code=303)
