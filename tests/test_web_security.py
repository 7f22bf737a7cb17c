"""Web security: escaping, headers, limits (413, 415, 429), bad input, CSRF, sessions, the permissions matrix and
concurrent approvals — each with the right status in the one error shape, never a 500."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("fastapi")

from medcite.web.markdown import local_next, render_inline, render_markdown, safe_url  # noqa: E402
from medcite.web.security import RateLimited, RateLimiter  # noqa: E402
from web_fixtures import PASSWORD, QUESTION, SALT_QUESTION, WebEnv, build_env, csrf_of, web_client, web_env  # noqa: E402,F401


def assert_error(r, status: int, *words: str) -> None:
    assert r.status_code == status, (r.status_code, r.text[:300])
    body = r.json()
    assert body["ok"] is False and body["status"] == status and body["error"]
    for w in words:
        assert w.lower() in body["error"].lower(), body["error"]


# --- escaping ----------------------------------------------------------------------------------------


def test_markdown_renderer_escapes_first() -> None:
    html = str(render_markdown("Hi <script>alert(1)</script> **bold** [1] [9]\n\n- item <b>x</b> [1, 2]", [1, 2]))
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;" in html
    assert "<strong>bold</strong>" in html
    assert '<a href="#ref-1"' in html and "[9]" in html and 'href="#ref-9"' not in html
    assert html.count("<li>") == 1 and '<a href="#ref-2"' in html
    assert str(render_inline('" onmouseover="x')) == "&#34; onmouseover=&#34;x"


@pytest.mark.parametrize("url,ok", [
    ("https://example.org/x", True), ("http://a.b/", True), ("javascript:alert(1)", False),
    ("JaVaScRiPt:alert(1)", False), ("data:text/html,x", False), ("//evil.com", False), ("/relative", False),
    ("https://exa mple.org", False), ("java\nscript:alert(1)", False), ("", False),
])
def test_safe_url(url: str, ok: bool) -> None:
    assert safe_url(url) == (url if ok else "")


def test_local_next_blocks_open_redirects() -> None:
    assert local_next("/articles") == "/articles"
    for bad in ("//evil.com", "https://evil.com", "/\\evil.com", "javascript:x", ""):
        assert local_next(bad) == "/"


def test_poisoned_document_renders_as_text(web_client) -> None:
    r = web_client.get("/doc/local:poison")
    assert r.status_code == 200
    assert "<script>alert" not in r.text and "<img src=x" not in r.text and "<b>Evil</b>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "javascript:" not in r.text  # its javascript: URL is not rendered as a link


def test_poisoned_passage_in_an_answer_is_escaped(web_client) -> None:
    csrf = csrf_of(web_client.get("/").text)
    r = web_client.post("/ask", data={"question": SALT_QUESTION, "audience": "clinician", "csrf": csrf})
    assert r.status_code == 200
    assert "local:poison" in r.text  # the poisoned document is cited…
    assert "<script>alert" not in r.text and "<img src=x" not in r.text and "javascript:" not in r.text
    assert "&lt;script&gt;" in r.text  # …as text


def test_script_in_the_question_is_escaped(web_client) -> None:
    q = '<script>alert("q")</script> How should hypertension be treated in pregnancy?'
    r = web_client.get("/ask", params={"q": q, "audience": "clinician"})
    assert r.status_code == 200 and "<script>alert" not in r.text
    s = web_client.get("/search", params={"q": q})
    assert s.status_code == 200 and "<script>alert" not in s.text and "&lt;script&gt;" in s.text
    a = web_client.get("/articles", params={"q": q})
    assert a.status_code == 200 and "<script>alert" not in a.text


# --- headers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/api/v1/search?q=salt", "/static/app.css", "/no-such-page", "/api/v1/nope"])
def test_security_headers_everywhere(web_client, path: str) -> None:
    r = web_client.get(path)
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"


def test_pages_have_no_inline_script_or_style(web_client) -> None:
    html = web_client.get("/ask", params={"q": QUESTION}).text
    assert "<script>" not in html and "<style" not in html and " style=" not in html and " onclick" not in html


def test_unknown_routes_use_the_error_shapes(web_client) -> None:
    assert_error(web_client.get("/api/v1/nope"), 404)
    page = web_client.get("/nope")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"] and "Not found" in page.text


# --- bad input --------------------------------------------------------------------------------------------


def test_request_too_large_is_413(web_client) -> None:
    big = "x" * (70 * 1024)
    assert_error(web_client.post("/api/v1/ask", json={"question": big}), 413, "too large")
    csrf = csrf_of(web_client.get("/").text)
    assert_error(web_client.post("/ask", data={"question": big, "csrf": csrf}), 413, "too large")


def test_wrong_content_type_is_415(web_client) -> None:
    assert_error(web_client.post("/api/v1/ask", data={"question": QUESTION}), 415, "content type")
    assert_error(web_client.post("/api/v1/ask", content=b"question", headers={"content-type": "text/plain"}), 415)
    assert_error(web_client.post("/ask", json={"question": QUESTION}), 415)


def test_malformed_json_is_400_and_bad_fields_422(web_client) -> None:
    assert_error(web_client.post("/api/v1/ask", content=b'{"question": ', headers={"content-type": "application/json"}),
                 400, "malformed JSON")
    assert_error(web_client.post("/api/v1/ask", json={"audience": "clinician"}), 422, "question")
    assert_error(web_client.post("/api/v1/ask", json={"question": QUESTION, "audience": "doctor"}), 422, "audience")
    assert_error(web_client.post("/api/v1/ask", json=["not", "an", "object"]), 422)
    assert_error(web_client.post("/api/v1/articles/x/approve", json={"expected_version": "abc"},
                                 headers={"Authorization": "Bearer " + "mct_nope"}), 401)


def test_empty_and_oversized_questions(web_env: WebEnv, web_client) -> None:
    assert_error(web_client.post("/api/v1/ask", json={"question": "  "}), 400, "empty")
    too_long = "why " * 600  # over max_question_chars (2,000) but under the body limit
    assert_error(web_client.post("/api/v1/ask", json={"question": too_long}), 400, "limit")
    csrf = csrf_of(web_client.get("/").text)
    r = web_client.post("/ask", data={"question": "", "csrf": csrf})
    assert r.status_code == 400 and "empty" in r.text and "text/html" in r.headers["content-type"]
    r = web_client.post("/ask", data={"question": too_long, "csrf": csrf})
    assert r.status_code == 400 and "limit" in r.text


def test_unknown_ids_are_404(web_client) -> None:
    assert_error(web_client.get("/api/v1/articles/does-not-exist"), 404)
    assert web_client.get("/articles/does-not-exist").status_code == 404
    assert_error(web_client.get("/api/v1/threads/0000"), 404)
    assert web_client.get("/thread/0000").status_code == 404
    assert_error(web_client.get("/api/v1/documents/local:nothing"), 404)
    assert web_client.get("/doc/local:nothing").status_code == 404


def test_rate_limit_is_429_with_retry_after(tmp_path) -> None:
    env = build_env(tmp_path, ask_burst=2, ask_rate_per_minute=1)
    try:
        with env.client() as c:
            for _ in range(2):
                assert c.post("/api/v1/ask", json={"question": QUESTION}).status_code == 200
            r = c.post("/api/v1/ask", json={"question": QUESTION})
            assert_error(r, 429, "too many")
            assert int(r.headers["retry-after"]) >= 1
            assert c.get("/api/v1/search", params={"q": "salt"}).status_code == 200  # only asking is limited
    finally:
        env.svc.close()


def test_token_bucket_refills() -> None:
    now = [0.0]
    bucket = RateLimiter(60, 2, clock=lambda: now[0])
    bucket.check("a")
    bucket.check("a")
    with pytest.raises(RateLimited) as exc:
        bucket.check("a")
    assert exc.value.retry_after == 1
    bucket.check("b")  # per client
    now[0] = 1.0
    bucket.check("a")


# --- sessions and CSRF ---------------------------------------------------------------------------------------


def test_csrf_is_required_on_forms(web_env: WebEnv) -> None:
    with web_env.client() as c:
        c.get("/")
        assert c.post("/ask", data={"question": QUESTION}).status_code == 403
        assert c.post("/ask", data={"question": QUESTION, "csrf": "wrong"}).status_code == 403
        csrf = web_env.login(c, "rita")
        art = web_env.submitted()
        r = c.post(f"/articles/{art.id}/take", data={})
        assert r.status_code == 403 and "CSRF" in r.text
        assert_error(c.post(f"/api/v1/articles/{art.id}/take"), 403, "CSRF")  # session cookie, no header
        assert c.post(f"/api/v1/articles/{art.id}/take", headers={"X-CSRF-Token": csrf}).status_code == 200
    with web_env.client() as bare:  # a bearer token needs no CSRF token
        art = web_env.submitted()
        assert bare.post(f"/api/v1/articles/{art.id}/take", headers=web_env.bearer("rob")).status_code == 200


def test_login_cookie_flags_and_logout(web_env: WebEnv) -> None:
    with web_env.client(base_url="https://testserver") as c:
        c.get("/login")
        r = c.post("/login", data={"name": "rita", "password": PASSWORD, "csrf": c.cookies.get("medcite_csrf"),
                                   "next": "//evil.com"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/"
        cookie = [v for k, v in r.headers.multi_items() if k == "set-cookie" and "medcite_session" in v][0].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
        assert c.get("/api/v1/me").json()["user"]["name"] == "rita"
        csrf = csrf_of(c.get("/").text)
        assert c.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
        assert c.get("/api/v1/me").status_code == 401
    with web_env.client() as c:
        c.get("/login")
        r = c.post("/login", data={"name": "rita", "password": "wrong password", "csrf": c.cookies.get("medcite_csrf")})
        assert r.status_code == 401 and "Wrong name or password" in r.text


def test_expired_session_is_anonymous(web_env: WebEnv) -> None:
    sid, _csrf = web_env.svc.editorial.create_session(web_env.users["rita"], ttl_s=1)
    art = web_env.submitted()
    time.sleep(1.1)
    with web_env.client() as c:
        c.cookies.set("medcite_session", sid)
        assert_error(c.get("/api/v1/me"), 401)
        r = c.get(f"/articles/{art.id}/review", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        assert c.get(f"/articles/{art.id}", follow_redirects=False).status_code == 303
        assert_error(c.get(f"/api/v1/articles/{art.id}"), 401)


def test_bad_bearer_token_is_401(web_client) -> None:
    assert_error(web_client.get("/api/v1/me", headers={"Authorization": "Bearer mct_forged"}), 401, "token")
    assert_error(web_client.get("/api/v1/me", headers={"Authorization": "Basic abc"}), 401)


# --- permissions ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who,can_see_draft,can_submit,can_take", [
    (None, 401, 401, 401), ("remy", 403, 403, 403), ("ed", 403, 201, 403), ("rita", 200, 201, 200),
    ("ada", 200, 201, 200),
])
def test_permissions_matrix(web_env: WebEnv, web_client, who, can_see_draft, can_submit, can_take) -> None:
    headers = web_env.bearer(who) if who else {}
    art = web_env.submitted(author="rob")
    assert web_client.get(f"/api/v1/articles/{art.id}", headers=headers).status_code == can_see_draft
    listed = web_client.get("/api/v1/articles", headers=headers).json()["articles"]
    assert (art.id in [a["id"] for a in listed]) is (can_see_draft == 200)
    r = web_client.post("/api/v1/articles", headers=headers, json={"answer": art.answer})
    assert r.status_code == can_submit, r.text
    assert web_client.post(f"/api/v1/articles/{art.id}/take", headers=headers).status_code == can_take


@pytest.mark.parametrize("who,status", [(None, 401), ("remy", 403), ("ed", 403), ("rob", 403), ("rita", 200)])
def test_only_another_reviewer_can_approve(web_env: WebEnv, web_client, who, status) -> None:
    board = web_env.svc.editorial
    art = board.take(web_env.submitted(author="rob").id, web_env.users["ada"])
    headers = web_env.bearer(who) if who else {}
    r = web_client.post(f"/api/v1/articles/{art.id}/approve", headers=headers, json={"expected_version": art.version})
    assert r.status_code == status, r.text  # rob is the author: nobody approves their own submission


def test_reader_cannot_approve_through_the_page(web_env: WebEnv) -> None:
    art = web_env.svc.editorial.take(web_env.submitted().id, web_env.users["rita"])
    with web_env.client() as c:
        csrf = web_env.login(c, "remy")
        r = c.post(f"/articles/{art.id}/approve", data={"csrf": csrf, "expected_version": str(art.version)})
        assert r.status_code == 403 and "Not allowed" in r.text
    with web_env.client() as anon:
        csrf = csrf_of(anon.get("/").text)
        r = anon.post(f"/articles/{art.id}/approve", data={"csrf": csrf, "expected_version": str(art.version)})
        assert r.status_code == 401


def test_decisions_need_a_note_and_a_version(web_env: WebEnv, web_client) -> None:
    art = web_env.svc.editorial.take(web_env.submitted().id, web_env.users["rita"])
    h = web_env.bearer("rita")
    assert_error(web_client.post(f"/api/v1/articles/{art.id}/reject", headers=h,
                                 json={"expected_version": art.version}), 422, "note")
    assert_error(web_client.post(f"/api/v1/articles/{art.id}/request-changes", headers=h,
                                 json={"expected_version": art.version, "note": " "}), 422, "note")
    assert_error(web_client.post(f"/api/v1/articles/{art.id}/approve", headers=h, json={}), 422, "expected_version")
    assert_error(web_client.post(f"/api/v1/articles/{art.id}/approve", headers=h,
                                 json={"expected_version": art.version - 1}), 409, "reload")


def test_concurrent_approvals_exactly_one_wins(web_env: WebEnv) -> None:
    art = web_env.svc.editorial.take(web_env.submitted().id, web_env.users["rita"])
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def approve(name: str) -> None:
        with web_env.client() as c:
            barrier.wait()
            r = c.post(f"/api/v1/articles/{art.id}/approve", headers=web_env.bearer(name),
                       json={"expected_version": art.version})
            statuses.append(r.status_code)
            if r.status_code == 409:
                assert r.json()["ok"] is False and r.json()["status"] == 409

    threads = [threading.Thread(target=approve, args=(n,)) for n in ("rita", "ada")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409]


def test_odd_inputs_never_500(web_env: WebEnv, web_client) -> None:
    h = web_env.bearer("rita")
    cases = [
        web_client.get("/api/v1/search", params={"q": 'NOT "* OR ( )'}),
        web_client.get("/search", params={"q": "\x00\x01"}),
        web_client.get("/doc/" + "x" * 300),
        web_client.get("/doc/local:htn-guideline", params={"passage": "local:htn-guideline#99.0"}),
        web_client.get("/articles", params={"state": "bogus"}),
        web_client.get("/api/v1/articles", params={"state": "bogus"}),
        web_client.post("/api/v1/articles", headers=h, json={"answer": {"question": ""}}),
        web_client.post("/api/v1/articles", headers=h, json={}),
        web_client.post("/api/v1/articles", headers=h, json={"thread_id": "nope"}),
        web_client.post("/api/v1/articles/x/edit", headers=h, json={"note": "x"}),
        web_client.get("/ask", params={"q": QUESTION, "audience": "martian"}),
    ]
    for r in cases:
        assert r.status_code < 500, (r.request.url, r.status_code, r.text[:200])
