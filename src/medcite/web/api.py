"""The JSON API under ``/api/v1`` (docs/api.md). Every route calls the one service; errors use one shape:
``{"ok": false, "error": "...", "status": N}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, fields
from typing import Annotated, Any, AsyncIterator, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from medcite.errors import InvalidInput, MedciteError, NotFound, QueryError
from medcite.llm.marks import mark_flagged
from medcite.review import STATES, Article
from medcite.web.auth import Principal, check_csrf, principal, require_user, user_dict
from medcite.web.contract import BODY, QUESTION_PATTERN, TOKEN, errors, security
from medcite.web.pages import with_notices

router = APIRouter(prefix="/api/v1")
MAX_TEXT = 20000
QUESTION_DOC = ("A clinical question: at most `max_question_chars` characters (2,000 by default), with at least four "
                "visible characters before any `<` or `&` (markup is removed from questions).")
_QUESTION = re.compile(QUESTION_PATTERN)
_NOT_BLANK = r"[^\s\x1c-\x1f]"  # what str.strip() keeps, in every regex dialect


class AskIn(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_TEXT, description=QUESTION_DOC,
                          json_schema_extra={"pattern": QUESTION_PATTERN})
    audience: Literal["clinician", "patient"] = Field("clinician", description="Who the answer is written for.")


class FollowUpIn(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_TEXT, description=QUESTION_DOC,
                          json_schema_extra={"pattern": QUESTION_PATTERN})
    audience: Literal["clinician", "patient"] | None = Field(
        None, description="Who the answer is written for; by default the thread's last audience.")


class SubmitAnswerIn(BaseModel):
    """Submit a full Answer object (what `medcite ask --json` prints)."""

    model_config = ConfigDict(extra="forbid")
    answer: dict[str, Any] = Field(description="A full Answer object (docs/answer-schema.md).")  # schema: Answer


class SubmitTurnIn(BaseModel):
    """Submit a turn of a thread."""

    model_config = ConfigDict(extra="forbid")
    thread_id: str = Field(min_length=1, description="The thread (from `POST /api/v1/threads`).")
    turn: int | None = Field(None, ge=1, description="Which answer of the thread, 1-based; by default the last.")


#: exactly one of ``answer`` or ``thread_id`` (each shape forbids the other's fields)
SubmitIn = Annotated[SubmitAnswerIn | SubmitTurnIn, Body()]


class SectionIn(BaseModel):
    heading: str = Field(max_length=500)
    markdown: str = Field(max_length=MAX_TEXT)


class EditIn(BaseModel):
    expected_version: int | None = Field(None, description="Fail with 409 if the article changed since.")
    note: str = Field("", max_length=5000)
    answer: dict[str, Any] | None = Field(None, description="A full replacement Answer (its `bottom_line` and "
                                          "`sections` must cite only its own references, and cite one if it has "
                                          "any — else 422)…")  # schema: Answer
    bottom_line: str | None = Field(None, max_length=MAX_TEXT, description="…or just a new bottom line")
    sections: list[SectionIn] | None = Field(None, description="…and/or new sections.")


class ApproveIn(BaseModel):
    expected_version: int = Field(description="The article's `version` the reviewer saw.")
    note: str = Field("", max_length=5000, description="An optional note for the author.")


class DecisionIn(BaseModel):
    expected_version: int = Field(description="The article's `version` the reviewer saw.")
    note: str = Field(min_length=1, max_length=5000, pattern=_NOT_BLANK,
                      description="Why: what must change, or why the article is rejected (required, not blank).")


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=5000)


def web(request: Request) -> Any:
    return request.app.state.web


def api_principal(request: Request) -> Principal:
    """Who calls; JSON calls riding on a browser session must carry X-CSRF-Token when they change state."""
    who = principal(request)
    if request.method not in ("GET", "HEAD", "OPTIONS") and who.via == "session":
        check_csrf(request, who)
    return who


def json_answer(answer: Any, status: int = 200) -> Response:
    return Response(answer.model_dump_json(), status_code=status, media_type="application/json")


def article_dict(a: Article) -> dict[str, Any]:
    # shallow on purpose: asdict() would deep-copy the stored answer, recursively
    out = {f.name: getattr(a, f.name) for f in fields(a)}
    out.update(state_label=a.state_label, public=a.public, url=f"/articles/{a.id}")
    return out


def check_question(question: str) -> None:
    """The schema's rule for questions (``QUESTION_PATTERN``): a question that passes it is never too short."""
    if question.strip() and not _QUESTION.search(question):
        raise QueryError("the question is too short, or starts with markup",
                         hint="ask a full clinical question, with at least four visible characters before any "
                              "'<' or '&'")


class NDJSONResponse(StreamingResponse):
    media_type = "application/x-ndjson"


def ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


def valid_answer(data: dict[str, Any]) -> dict[str, Any]:
    """A submitted answer checked against the Answer schema before it is stored (422 with the first problems).

    Strictly, as the JSON Schema reads: no ``false`` for a number, ``"1"`` for an integer or ``0`` for a boolean."""
    from pydantic import ValidationError

    from medcite.answer.schema import Answer

    try:
        return Answer.model_validate(data, strict=True).model_dump(mode="json")
    except ValidationError as exc:
        parts = []
        for e in exc.errors()[:5]:
            where = ".".join(str(x) for x in e.get("loc", ()))
            parts.append(f"{where or 'answer'}: {e.get('msg', 'invalid')}")
        raise InvalidInput("the answer does not match the Answer schema — " + "; ".join(parts),
                           hint="send the JSON of `medcite ask --json` (docs/answer-schema.md)") from None


# --- answers -----------------------------------------------------------------------------------


ASKING = errors(*BODY, *TOKEN, 429)


@router.post("/ask", summary="Answer a question (the Answer JSON of `medcite ask --json`)", responses=ASKING,
             openapi_extra=security(False))
async def ask(body: AskIn, request: Request, who: Principal = Depends(api_principal)) -> Response:
    check_question(body.question)
    answer, _ = await web(request).ask(request, body.question, body.audience, thread=False)
    return json_answer(answer)


STREAM_DOC = ("One JSON object a line: `{\"event\": \"status\", \"message\"}` while it works, then "
              "`{\"event\": \"part\", \"part\", \"data\", \"html\"}` for the header, bottom line, each section, "
              "the references and the footer, then `{\"event\": \"done\", \"thread_id\", \"url\"}`; a failure "
              "after the stream opened is `{\"event\": \"error\", \"ok\": false, \"error\", \"status\"}`.")


@router.post("/ask/stream", summary="Answer a question as an NDJSON stream: a status event, then the parts",
             openapi_extra=security(False), responses={
                 200: {"description": STREAM_DOC,
                       "content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
                 **ASKING})
async def ask_stream(body: AskIn, request: Request, who: Principal = Depends(api_principal)) -> Response:
    w = web(request)
    w.field({"question": body.question}, "question", w.settings.max_question_chars)
    check_question(body.question)
    w.limit(request)
    parts = w.env.get_template("answer_parts.html").module

    async def events() -> AsyncIterator[bytes]:
        def line(obj: dict[str, Any]) -> bytes:
            return (json.dumps(obj, ensure_ascii=False) + "\n").encode()

        yield line({"event": "status", "message": "Searching the evidence…"})
        try:
            answer, thread_id = await _ask_unlimited(w, body)
        except MedciteError as exc:
            yield line({"event": "error", "ok": False, "error": str(exc), "status": exc.http_status})
            return
        refs = [r.n for r in answer.references]
        url = f"/thread/{thread_id}"
        yield line({"event": "status", "message": "Composing the answer…"})
        yield line({"event": "part", "part": "header", "data": {"question": answer.question, "audience":
                    answer.audience, "thread_id": thread_id, "url": url},
                    "html": str(parts.header(answer, None, url, 1))})
        yield line({"event": "part", "part": "bottom_line", "data": answer.bottom_line,
                    "html": str(parts.bottom_line(answer, refs))})
        for section in answer.sections:
            yield line({"event": "part", "part": "section", "data": section.model_dump(),
                        "html": str(parts.section(section, refs))})
        yield line({"event": "part", "part": "references", "data": [r.model_dump() for r in answer.references],
                    "html": str(parts.references(answer))})
        footer = str(parts.footer(answer)) + str(parts.actions(answer, who, thread_id, 1, f"{url}/follow-up"))
        yield line({"event": "part", "part": "footer", "html": footer})
        yield line({"event": "done", "thread_id": thread_id, "url": url})

    return NDJSONResponse(events(), headers={"cache-control": "no-store"})


async def _ask_unlimited(w: Any, body: AskIn) -> tuple[Any, str | None]:
    """The stream's question (already rate-limited and validated before the stream opened)."""
    def go() -> tuple[Any, str | None]:
        with w.pool.use() as svc:
            answer = mark_flagged(svc.ask(body.question, body.audience))
            return answer, svc.start_thread(answer)
    return await w.run(go)


@router.post("/threads", summary="Ask a question and keep it as the first turn of a follow-up thread",
             status_code=201, responses=ASKING, openapi_extra=security(False))
async def new_thread(body: AskIn, request: Request, who: Principal = Depends(api_principal)) -> JSONResponse:
    check_question(body.question)
    answer, thread_id = await web(request).ask(request, body.question, body.audience)
    return ok({"thread_id": thread_id, "answer": answer.model_dump(mode="json")}, 201)


@router.post("/threads/{thread_id}/follow-up", summary="Ask a follow-up with the thread's questions as context",
             responses=errors(*BODY, *TOKEN, 404, 429), openapi_extra=security(False))
async def follow_up(thread_id: str, body: FollowUpIn, request: Request,
                    who: Principal = Depends(api_principal)) -> Response:
    w = web(request)
    check_question(body.question)
    turns = await w.call("thread", thread_id)
    answer, _ = await w.ask(request, body.question, body.audience or turns[-1].audience, thread_id=thread_id)
    return json_answer(answer)


@router.get("/threads/{thread_id}", summary="Every answer of a thread, in order", responses=errors(404))
async def get_thread(thread_id: str, request: Request) -> JSONResponse:
    turns = await web(request).call("thread", thread_id)
    return ok({"thread_id": thread_id, "answers": [t.model_dump(mode="json") for t in turns]})


@router.get("/search", summary="Lexical search over the corpus passages", responses=errors(400, 422))
async def search(request: Request, q: str = Query("", max_length=MAX_TEXT),
                 k: int = Query(10, ge=1, le=100)) -> JSONResponse:
    result = await web(request).call("search", q, k)
    return ok(result.to_dict())


@router.get("/documents/{doc_id:path}", summary="A corpus document with its sections", responses=errors(404))
async def document(doc_id: str, request: Request) -> JSONResponse:
    doc = await web(request).call("document", doc_id)
    notices = await web(request).call("document_notices", doc.doc_id)
    return ok({"doc_id": doc.doc_id, "kind": doc.kind.value, "label": doc.kind.label, "title": doc.title,
               "source": doc.source, "year": doc.year, "date": doc.date, "url": doc.url, "status": doc.status.value,
               "notices": notices,
               "sections": [{"index": i, "heading": s.heading, "text": s.text} for i, s in enumerate(doc.sections)]})


@router.get("/stats", summary="Corpus counts")
async def stats(request: Request) -> JSONResponse:
    data = await web(request).call("stats")
    data.pop("db", None)
    return ok(data)


@router.get("/me", summary="The signed-in user (401 for anonymous callers)", responses=errors(401),
            openapi_extra=security(True))
def me(request: Request, who: Principal = Depends(api_principal)) -> JSONResponse:
    require_user(who)
    return ok({"user": user_dict(who.user), "via": who.via})


# --- articles ----------------------------------------------------------------------------------


@router.get("/articles", summary="Articles the caller may see (approved ones for everybody)",
            responses=errors(*TOKEN, 422), openapi_extra=security(False))
async def list_articles(request: Request, state: Literal[STATES] | None = None,  # type: ignore[valid-type]
                        q: str | None = Query(None, max_length=500),
                        who: Principal = Depends(api_principal)) -> JSONResponse:
    arts = await web(request).run(web(request).editorial.list, who.user, state, q)
    return ok({"articles": [{k: v for k, v in article_dict(a).items() if k != "answer"} for a in arts]})


@router.post("/articles", status_code=201, summary="Submit an answer as an article (editors, reviewers, admins)",
             responses=errors(*BODY, *TOKEN, 403, 404), openapi_extra=security(True))
async def submit(body: SubmitIn, request: Request, who: Principal = Depends(api_principal)) -> JSONResponse:
    w = web(request)
    user = require_user(who)
    if isinstance(body, SubmitAnswerIn):
        answer = valid_answer(body.answer)
    else:
        turns = await w.call("thread", body.thread_id)
        turn = body.turn or len(turns)
        if turn > len(turns):
            raise NotFound(f"thread {body.thread_id} has no turn {turn}: it has {len(turns)}",
                           hint=f"send a turn from 1 to {len(turns)}")
        answer = turns[turn - 1].model_dump(mode="json")
    article = await w.run(w.editorial.submit, answer, user)
    return ok(article_dict(article), 201)


@router.get("/articles/{article_id}", summary="One article (drafts only for their author and reviewers)",
            responses=errors(*TOKEN, 403, 404), openapi_extra=security(False))
async def get_article(article_id: str, request: Request, who: Principal = Depends(api_principal)) -> JSONResponse:
    w = web(request)
    return ok(article_dict(await with_notices(w, await w.run(w.editorial.get, article_id, who.user))))


@router.get("/articles/{article_id}/versions", summary="Every content version with its diff",
            responses=errors(*TOKEN, 403, 404), openapi_extra=security(False))
async def versions(article_id: str, request: Request, who: Principal = Depends(api_principal)) -> JSONResponse:
    w = web(request)
    return ok({"versions": [asdict(v) for v in await w.run(w.editorial.versions, article_id, who.user)]})


@router.get("/articles/{article_id}/comments", summary="Review comments (author, reviewers, admins)",
            responses=errors(*TOKEN, 403, 404), openapi_extra=security(False))
async def comments(article_id: str, request: Request, who: Principal = Depends(api_principal)) -> JSONResponse:
    w = web(request)
    return ok({"comments": [asdict(c) for c in await w.run(w.editorial.comments, article_id, who.user)]})


EDITING = errors(*BODY, *TOKEN, 403, 404, 409)


@router.post("/articles/{article_id}/take", summary="Take a submitted article for review", responses=EDITING,
             openapi_extra=security(True))
async def take(article_id: str, request: Request, who: Principal = Depends(api_principal)) -> JSONResponse:
    w = web(request)
    return ok(article_dict(await w.run(w.editorial.take, article_id, require_user(who))))


@router.post("/articles/{article_id}/edit", summary="Edit an article (new version with a diff)", responses=EDITING,
             openapi_extra=security(True))
async def edit(article_id: str, body: EditIn, request: Request, who: Principal = Depends(api_principal)) -> JSONResponse:
    w = web(request)
    user = require_user(who)
    current = await w.run(w.editorial.get, article_id, user)  # an unknown article is 404 whatever the body
    if body.answer is not None:
        new = valid_answer(body.answer)
    else:
        new = dict(current.answer)
        if body.bottom_line is not None:
            new["bottom_line"] = body.bottom_line
        if body.sections is not None:
            new["sections"] = [s.model_dump() for s in body.sections]
    art = await w.run(w.editorial.edit, article_id, user, new, body.note, expected_version=body.expected_version)
    return ok(article_dict(art))


@router.post("/articles/{article_id}/comment", status_code=201, summary="Comment on an article",
             responses=EDITING, openapi_extra=security(True))
async def comment(article_id: str, body: CommentIn, request: Request,
                  who: Principal = Depends(api_principal)) -> JSONResponse:
    w = web(request)
    return ok(asdict(await w.run(w.editorial.comment, article_id, require_user(who), body.text)), 201)


@router.post("/articles/{article_id}/approve", summary="Approve (publish) an article", responses=EDITING,
             openapi_extra=security(True))
async def approve(article_id: str, body: ApproveIn, request: Request,
                  who: Principal = Depends(api_principal)) -> JSONResponse:
    w = web(request)
    art = await w.run(w.editorial.approve, article_id, require_user(who), body.expected_version, body.note)
    return ok(article_dict(art))


@router.post("/articles/{article_id}/request-changes", summary="Send an article back to its author (note required)",
             responses=EDITING, openapi_extra=security(True))
async def request_changes(article_id: str, body: DecisionIn, request: Request,
                          who: Principal = Depends(api_principal)) -> JSONResponse:
    w = web(request)
    art = await w.run(w.editorial.request_changes, article_id, require_user(who), body.note, body.expected_version)
    return ok(article_dict(art))


@router.post("/articles/{article_id}/reject", summary="Reject an article (note required)", responses=EDITING,
             openapi_extra=security(True))
async def reject(article_id: str, body: DecisionIn, request: Request,
                 who: Principal = Depends(api_principal)) -> JSONResponse:
    w = web(request)
    art = await w.run(w.editorial.reject, article_id, require_user(who), body.note, body.expected_version)
    return ok(article_dict(art))


@router.post("/articles/{article_id}/resubmit", summary="Resubmit an article after changes were requested",
             responses=EDITING, openapi_extra=security(True))
async def resubmit(article_id: str, request: Request, who: Principal = Depends(api_principal)) -> JSONResponse:
    w = web(request)
    return ok(article_dict(await w.run(w.editorial.resubmit, article_id, require_user(who))))


@router.get("/docs", include_in_schema=False)
def api_docs(request: Request) -> HTMLResponse:
    """The OpenAPI description rendered as a local page (no external scripts)."""
    spec = request.app.openapi()
    return web(request).render(request, "api_docs.html", {"spec": spec}, title="API reference")
