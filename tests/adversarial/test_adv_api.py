"""Adversarial: hostile or stored API data never turns into a 500 (issue 13, item 5), and 500s stay well-formed."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

pytest.importorskip("fastapi")

from medcite.review import APPROVED  # noqa: E402
from web_fixtures import QUESTION, WebEnv, live_server, web_client, web_env  # noqa: E402,F401


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def _answer(web_env: WebEnv) -> dict:
    return web_env.svc.ask(QUESTION, "clinician", remember=False).model_dump(mode="json")


def test_metadata_nested_500_deep_is_refused(web_env: WebEnv, web_client) -> None:
    answer = _answer(web_env)
    answer["metadata"] = _nested(500)
    r = web_client.post("/api/v1/articles", json={"answer": answer}, headers=web_env.bearer("ed"))
    assert r.status_code == 422, r.text[:300]
    assert r.json()["ok"] is False and "nested more than 20 levels" in r.json()["error"]


def test_too_many_structures_are_refused(web_env: WebEnv, web_client) -> None:
    body = json.dumps({"question": "aspirin", "x": [[] for _ in range(3000)]})
    r = web_client.post("/api/v1/ask", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "objects and arrays" in r.json()["error"]


def test_stored_deep_metadata_never_breaks_the_article_list(web_env: WebEnv, web_client) -> None:
    board = web_env.svc.editorial
    art = board.submit(_answer(web_env), web_env.users["ed"])
    stored = dict(art.answer, metadata=_nested(500))  # as an older medcite stored it, before the caps
    with board.db.transaction() as tx:
        tx.execute("UPDATE review_articles SET answer = ?, state = ? WHERE id = ?",
                   (json.dumps(stored), APPROVED, art.id))
    r = web_client.get("/api/v1/articles")
    assert r.status_code == 200, r.text[:300]
    assert art.id in [a["id"] for a in r.json()["articles"]]
    assert web_client.get(f"/api/v1/articles/{art.id}").status_code == 200


def test_answer_that_is_not_an_answer_is_422(web_env: WebEnv, web_client) -> None:
    r = web_client.post("/api/v1/articles", json={"answer": {"question": "x"}}, headers=web_env.bearer("ed"))
    assert r.status_code == 422, r.text[:300]
    assert "Answer schema" in r.json()["error"] and "composer" in r.json()["error"]


def test_missing_turn_of_a_thread_is_404(web_env: WebEnv, web_client) -> None:
    tid = web_client.post("/api/v1/threads", json={"question": QUESTION}).json()["thread_id"]
    r = web_client.post("/api/v1/articles", json={"thread_id": tid, "turn": 5}, headers=web_env.bearer("ed"))
    assert r.status_code == 404, r.text[:300]
    assert "has no turn 5" in r.json()["error"]


def test_chunked_body_over_the_limit_is_413(web_client) -> None:
    chunks = iter([b'{"question": "', b"x" * 40000, b"y" * 40000, b'"}'])
    r = web_client.post("/api/v1/ask", content=chunks, headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text[:300]
    assert "too large" in r.json()["error"]


def test_500_has_security_headers_and_keeps_the_connection(live_server, monkeypatch) -> None:
    from medcite.service import Medcite

    def boom(self, *a, **kw):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(Medcite, "stats", boom)
    base, _env = live_server
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", "/api/v1/stats")
        r = conn.getresponse()
        body = json.loads(r.read())
        assert r.status == 500 and body == {"ok": False, "error": "internal error — the problem was logged",
                                            "status": 500}
        assert r.getheader("content-security-policy") and r.getheader("x-content-type-options") == "nosniff"
        assert (r.getheader("connection") or "").lower() != "close"
        conn.request("GET", "/api/v1/articles")  # the same connection still works
        r2 = conn.getresponse()
        assert r2.status == 200 and json.loads(r2.read())["articles"] is not None
    finally:
        conn.close()


def test_a_question_over_the_schema_limit_is_refused_even_when_it_is_mostly_spaces(web_env: WebEnv,
                                                                                  web_client) -> None:
    limit = web_env.svc.settings.max_question_chars
    padded = QUESTION + " " * (limit - len(QUESTION) + 1)  # over the schema's maxLength as sent, not once trimmed
    r = web_client.post("/api/v1/threads", json={"question": padded})
    assert r.status_code in (400, 422) and "limit" in r.json()["error"]
    assert web_client.post("/api/v1/threads", json={"question": QUESTION + "   "}).status_code == 201
