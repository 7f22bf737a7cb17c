"""The web app's JSON API and pages, in-process (FastAPI TestClient): asking, streaming, threads, documents,
search, and the article workflow through both the API and the review pages."""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("fastapi")

from typer.testing import CliRunner  # noqa: E402

from medcite.answer.schema import Answer, check_answer  # noqa: E402
from web_fixtures import (  # noqa: E402,F401
    PASSWORD, PATIENT_QUESTION, QUESTION, WebEnv, csrf_of, web_client, web_env,
)


def _thread_id(html: str) -> str:
    m = re.search(r'data-thread="([0-9a-f]+)"', html)
    assert m, "no thread id on the page"
    return m.group(1)


# --- answers ---------------------------------------------------------------------------------------


def test_api_ask_returns_the_cli_answer_json(web_env: WebEnv, web_client) -> None:
    r = web_client.post("/api/v1/ask", json={"question": QUESTION, "audience": "clinician"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    data = r.json()
    answer = Answer.model_validate(data)
    assert not answer.insufficient_evidence and answer.references
    assert check_answer(answer) == []
    direct = web_env.svc.ask(QUESTION, "clinician", remember=False).model_dump(mode="json")
    assert set(data) == set(direct)
    for key in ("bottom_line", "sections", "references", "statements", "evidence_quality"):
        assert data[key] == direct[key]


def test_api_ask_patient_audience(web_client) -> None:
    r = web_client.post("/api/v1/ask", json={"question": PATIENT_QUESTION, "audience": "patient"})
    assert r.status_code == 200
    assert r.json()["audience"] == "patient"
    assert not r.json()["insufficient_evidence"]


def test_ask_page_without_javascript_renders_the_full_answer(web_client) -> None:
    csrf = csrf_of(web_client.get("/").text)
    r = web_client.post("/ask", data={"question": QUESTION, "audience": "clinician", "csrf": csrf})
    assert r.status_code == 200
    html = r.text
    assert f'<h1 class="question">{QUESTION}</h1>' in html
    assert "Bottom line" in html and "Generated" in html and "Last updated" not in html  # a fresh answer
    assert 'href="#ref-1"' in html and 'id="ref-1"' in html
    assert "Guideline" in html and "Quality of evidence" in html
    assert "status-strip" in html and "Unreviewed answer" in html
    assert "to=patient" in html  # the audience switch
    assert 'name="question"' in html and "/follow-up" in html
    assert "not medical advice" in html
    assert "/doc/local:htn-guideline?passage=" in html  # reference → document page with the passage


def test_home_page_asks_which_best_describes_you(web_client) -> None:
    html = web_client.get("/").text
    assert "Which best describes you?" in html
    assert 'value="clinician"' in html and 'value="patient"' in html
    assert '<script src="/static/app.js" defer></script>' in html


def test_audience_switch_rerenders_for_patients(web_client) -> None:
    r = web_client.get("/ask", params={"q": PATIENT_QUESTION, "audience": "patient"})
    assert r.status_code == 200
    assert "Written for <strong class=\"aud-name\">patients</strong>" in r.text
    assert "to=clinician" in r.text and "?q=" not in str(r.url)  # the switch link; the question is in no address


def test_ask_stream_emits_status_then_parts(web_client) -> None:
    csrf = csrf_of(web_client.get("/").text)
    r = web_client.post("/api/v1/ask/stream", json={"question": QUESTION, "audience": "clinician"},
                        headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in r.text.splitlines() if line.strip()]
    assert events[0]["event"] == "status"
    parts = [e["part"] for e in events if e["event"] == "part"]
    assert parts[:2] == ["header", "bottom_line"] and parts[-2:] == ["references", "footer"]
    assert events[-1]["event"] == "done" and events[-1]["url"].startswith("/thread/")
    thread = web_client.get(events[-1]["url"])
    assert thread.status_code == 200 and QUESTION in thread.text


def test_follow_up_continues_the_thread(web_env: WebEnv, web_client) -> None:
    csrf = csrf_of(web_client.get("/").text)
    page = web_client.post("/ask", data={"question": QUESTION, "audience": "clinician", "csrf": csrf})
    thread_id = _thread_id(page.text)
    r = web_client.post(f"/thread/{thread_id}/follow-up", data={"question": "Which medicine should be used?",
                                                                "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/thread/{thread_id}#turn-2"
    html = web_client.get(f"/thread/{thread_id}").text
    assert QUESTION in html and "Which medicine should be used?" in html
    assert 'id="turn-2"' in html and 'id="t2-ref-1"' in html
    turns = web_env.svc.thread(thread_id)
    assert len(turns) == 2 and not turns[1].insufficient_evidence
    assert turns[1].metadata["thread_id"] == thread_id


def test_api_threads(web_client) -> None:
    r = web_client.post("/api/v1/threads", json={"question": QUESTION})
    assert r.status_code == 201
    tid = r.json()["thread_id"]
    r2 = web_client.post(f"/api/v1/threads/{tid}/follow-up", json={"question": "and which drug first?"})
    assert r2.status_code == 200 and r2.json()["metadata"]["thread_id"] == tid
    r3 = web_client.get(f"/api/v1/threads/{tid}")
    assert [a["question"] for a in r3.json()["answers"]] == [QUESTION, "and which drug first?"]


# --- search and documents ------------------------------------------------------------------------------


def test_search_api_and_page(web_client) -> None:
    r = web_client.get("/api/v1/search", params={"q": "labetalol pregnancy"})
    assert r.status_code == 200
    hits = r.json()["hits"]
    assert hits and hits[0]["doc_id"] == "local:htn-guideline"
    page = web_client.get("/search", params={"q": "labetalol pregnancy"})
    assert page.status_code == 200 and "Hypertension in adults" in page.text
    empty = web_client.get("/api/v1/search", params={"q": "   "})
    assert empty.status_code == 200 and empty.json()["hits"] == [] and empty.json()["reason"]


def test_document_page_highlights_the_cited_passage(web_client) -> None:
    r = web_client.get("/doc/local:htn-guideline", params={"passage": "local:htn-guideline#2.0"})
    assert r.status_code == 200
    assert '<mark id="passage" class="cited">Offer labetalol' in r.text
    plain = web_client.get("/doc/local:htn-guideline", params={"passage": "other:doc#0.0"})
    assert plain.status_code == 200 and "<mark" not in plain.text
    api = web_client.get("/api/v1/documents/local:htn-guideline")
    assert api.status_code == 200 and api.json()["sections"][2]["heading"] == "Hypertension in pregnancy"


def test_openapi_and_local_docs(web_client) -> None:
    spec = web_client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/ask", "/api/v1/search", "/api/v1/articles/{article_id}/approve"):
        assert path in spec["paths"]
    docs = web_client.get("/api/v1/docs")
    assert docs.status_code == 200 and "/api/v1/ask" in docs.text and "cdn" not in docs.text.lower()


# --- articles ----------------------------------------------------------------------------------------------


def test_article_workflow_through_the_api(web_env: WebEnv, web_client) -> None:
    tid = web_client.post("/api/v1/threads", json={"question": QUESTION}).json()["thread_id"]
    r = web_client.post("/api/v1/articles", json={"thread_id": tid, "turn": 1}, headers=web_env.bearer("ed"))
    assert r.status_code == 201, r.text
    art = r.json()
    assert art["state"] == "submitted" and art["title"] == QUESTION
    assert web_client.get(f"/api/v1/articles/{art['id']}").status_code == 401  # anonymous: a draft
    rita = web_env.bearer("rita")
    assert web_client.post(f"/api/v1/articles/{art['id']}/take", headers=rita).json()["state"] == "under_review"
    edited = web_client.post(f"/api/v1/articles/{art['id']}/edit", headers=rita,
                             json={"bottom_line": art["answer"]["bottom_line"] + " Edited.", "note": "tightened",
                                   "expected_version": 2}).json()
    assert edited["revision"] == 2
    versions = web_client.get(f"/api/v1/articles/{art['id']}/versions", headers=rita).json()["versions"]
    assert "+" in versions[-1]["diff"] and versions[-1]["note"] == "tightened"
    assert web_client.post(f"/api/v1/articles/{art['id']}/comment", headers=rita,
                           json={"text": "looks right"}).status_code == 201
    ok = web_client.post(f"/api/v1/articles/{art['id']}/approve", headers=web_env.bearer("rob"),
                         json={"expected_version": edited["version"]})  # rita edited it: another reviewer approves
    assert ok.status_code == 200 and ok.json()["state"] == "approved" and ok.json()["reviewed_by"] == "rob"
    public = web_client.get(f"/api/v1/articles/{art['id']}")
    assert public.status_code == 200 and public.json()["public"] is True
    assert art["id"] in [a["id"] for a in web_client.get("/api/v1/articles").json()["articles"]]


def test_article_workflow_through_the_pages(web_env: WebEnv) -> None:
    with web_env.client() as ed, web_env.client() as rita, web_env.client() as rob, web_env.client() as anon:
        csrf = web_env.login(ed, "ed")
        page = ed.post("/ask", data={"question": QUESTION, "audience": "clinician", "csrf": csrf})
        assert "Submit as article" in page.text
        r = ed.post("/articles", data={"csrf": csrf, "thread_id": _thread_id(page.text), "turn": "1"},
                    follow_redirects=False)
        assert r.status_code == 303
        review_url = r.headers["location"]
        article_id = review_url.split("/")[2]
        assert anon.get(f"/articles/{article_id}", follow_redirects=False).status_code == 303  # → login

        rcsrf = web_env.login(rita, "rita")
        html = rita.get(review_url).text
        assert "Take for review" in html and "v1" in html
        assert rita.post(f"/articles/{article_id}/take", data={"csrf": rcsrf}, follow_redirects=False).status_code == 303
        version = web_env.svc.editorial.get(article_id, web_env.users["rita"]).version
        form = {"csrf": rcsrf, "expected_version": str(version), "note": "clearer bottom line",
                "bottom_line": "Use labetalol first [1].", "heading_0": "Cautions", "markdown_0": "- Avoid ACE inhibitors [1]"}
        assert rita.post(f"/articles/{article_id}/edit", data=form, follow_redirects=False).status_code == 303
        html = rita.get(review_url).text
        assert "clearer bottom line" in html and 'class="d-add"' in html and "+Use labetalol first [1]." in html
        version = web_env.svc.editorial.get(article_id, web_env.users["rita"]).version
        missing_note = rita.post(f"/articles/{article_id}/request-changes",
                                 data={"csrf": rcsrf, "expected_version": str(version), "note": "  "})
        assert missing_note.status_code == 400 and "note" in missing_note.text
        r = rita.post(f"/articles/{article_id}/approve", data={"csrf": rcsrf, "expected_version": str(version)},
                      follow_redirects=False)
        assert r.status_code == 403 and "another reviewer must approve" in r.text  # she edited it
        bcsrf = web_env.login(rob, "rob")
        r = rob.post(f"/articles/{article_id}/approve", data={"csrf": bcsrf, "expected_version": str(version)},
                     follow_redirects=False)
        assert r.status_code == 303
        public = anon.get(f"/articles/{article_id}")
        assert public.status_code == 200
        assert '<li class="step current" aria-current="step">Approved</li>' in public.text
        assert "Reviewed by rob" in public.text and "Use labetalol first" in public.text
        assert article_id in anon.get("/articles").text


def test_needs_rereview_flag_is_visible(web_env: WebEnv, web_client) -> None:
    board, rita = web_env.svc.editorial, web_env.users["rita"]
    art = web_env.submitted()
    art = board.take(art.id, rita)
    art = board.approve(art.id, rita, art.version)
    assert board.flag_changed_documents(["local:htn-guideline"], "the hypertension guideline was updated") >= 1
    html = web_client.get(f"/articles/{art.id}").text
    assert "Needs re-review" in html and "the hypertension guideline was updated" in html
    listing = web_client.get("/articles").text
    assert "Needs re-review" in listing


def test_article_follow_up_starts_a_thread(web_env: WebEnv, web_client) -> None:
    board, rita = web_env.svc.editorial, web_env.users["rita"]
    art = board.take(web_env.submitted().id, rita)
    art = board.approve(art.id, rita, art.version)
    csrf = csrf_of(web_client.get(f"/articles/{art.id}").text)
    r = web_client.post(f"/articles/{art.id}/follow-up", data={"csrf": csrf, "question": "Which drug first?"},
                        follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/thread/")


# --- CLI ---------------------------------------------------------------------------------------------------


def test_cli_user_add_reads_password_from_stdin_and_token(tmp_path) -> None:
    from medcite.cli import app

    db = str(tmp_path / "cli.db")
    runner = CliRunner()
    r = runner.invoke(app, ["--db", db, "user", "add", "ada", "--role", "admin"], input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["--db", db, "user", "add", "bob", "--role", "editor"], input="short\n")
    assert r.exit_code != 0 and "password too short" in r.output
    r = runner.invoke(app, ["--db", db, "user", "token", "ada"])
    assert r.exit_code == 0 and r.stdout.strip().startswith("mct_")
    assert runner.invoke(app, ["serve", "--help"]).exit_code == 0


def test_cli_serve_without_a_store_fails_clearly(tmp_path) -> None:
    from medcite.cli import app

    r = CliRunner().invoke(app, ["--db", str(tmp_path / "none.db"), "serve"])
    assert r.exit_code != 0 and "no evidence store" in r.output
