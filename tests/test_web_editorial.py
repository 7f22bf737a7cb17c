"""The editor's pages: the accounts admin page, the editorial policy, dates and headline on answers and articles,
and the flag on a bottom line that cites only old evidence."""

from __future__ import annotations

import copy
import re
from datetime import date

import pytest

pytest.importorskip("fastapi")

from web_fixtures import PASSWORD, QUESTION, WebEnv, csrf_of, web_client, web_env  # noqa: E402,F401


def _notice(html: str) -> str:
    m = re.search(r'<p class="notice" role="status">(.*?)</p>', html)
    return m.group(1) if m else ""


# --- the accounts admin page --------------------------------------------------------------------------


def test_admin_page_is_for_admins_only(web_env: WebEnv) -> None:
    with web_env.client() as anon, web_env.client() as rita:
        r = anon.get("/admin/users", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        csrf = web_env.login(rita, "rita")
        assert rita.get("/admin/users").status_code == 403
        r = rita.post("/admin/users/disable", data={"csrf": csrf, "name": "ed"})
        assert r.status_code == 403 and "reviewers cannot disable accounts" in r.text
        assert "Accounts</a>" not in rita.get("/").text


def test_admin_manages_accounts(web_env: WebEnv) -> None:
    with web_env.client() as ada, web_env.client() as kim:
        csrf = web_env.login(ada, "ada")
        page = ada.get("/admin/users")
        assert page.status_code == 200 and 'id="user-rita"' in page.text and "Accounts</a>" in page.text
        # CSRF as every other form
        assert ada.post("/admin/users/add", data={"name": "kim", "role": "reviewer", "password": PASSWORD}
                        ).status_code == 403
        r = ada.post("/admin/users/add", data={"csrf": csrf, "name": "kim", "role": "reviewer", "password": PASSWORD})
        assert r.status_code == 200 and _notice(r.text) == "Created kim."
        r = ada.post("/admin/users/add", data={"csrf": csrf, "name": "kim2", "role": "reviewer", "password": "short"})
        assert r.status_code == 400 and "at least 8 characters" in r.text
        kcsrf = web_env.login(kim, "kim")
        assert kim.get("/api/v1/me").json()["user"]["role"] == "reviewer"

        r = ada.post("/admin/users/role", data={"csrf": csrf, "name": "kim", "role": "editor"})
        assert _notice(r.text) == "Changed the role of kim."
        assert kim.get("/api/v1/me").json()["user"]["role"] == "editor"  # at once, same session

        r = ada.post("/admin/users/disable", data={"csrf": csrf, "name": "kim"})
        assert _notice(r.text).startswith("Disabled kim") and 'class="disabled"' in r.text
        assert kim.get("/api/v1/me").status_code == 401  # her session ended
        kim.cookies.clear()
        kim.get("/login")
        r = kim.post("/login", data={"name": "kim", "password": PASSWORD, "csrf": kim.cookies.get("medcite_csrf")})
        assert r.status_code == 401  # a disabled account cannot sign in

        r = ada.post("/admin/users/enable", data={"csrf": csrf, "name": "kim"})
        assert _notice(r.text) == "Enabled kim again."
        r = ada.post("/admin/users/password", data={"csrf": csrf, "name": "kim", "password": "kim's new passphrase"})
        assert _notice(r.text).startswith("Set a new password for kim")
        assert web_env.svc.editorial.authenticate("kim", "kim's new passphrase") is not None
        assert ada.get("/api/v1/me").status_code == 200  # the admin's own session is untouched

        r = ada.post("/admin/users/disable", data={"csrf": csrf, "name": "ada"})
        assert r.status_code == 409 and "last admin" in r.text
        assert ada.post("/admin/users/explode", data={"csrf": csrf, "name": "kim"}).status_code == 404
        assert kcsrf  # (kim's old token is no use any more)
        actions = [e.action for e in web_env.svc.editorial.audit(None, web_env.users["ada"])]
        assert {"user_created", "role_changed", "user_disabled", "user_enabled", "password_changed"} <= set(actions)


# --- policy, dates, headline, old evidence ---------------------------------------------------------------


def test_editorial_policy_page(web_client) -> None:
    r = web_client.get("/editorial-policy")
    assert r.status_code == 200
    for words in ("local corpus", "verbatim", "Two-person rule", "insufficient evidence", "audit log"):
        assert words.lower() in r.text.lower(), words


def test_a_fresh_answer_says_when_it_was_generated(web_env: WebEnv, web_client) -> None:
    tid = web_client.post("/api/v1/threads", json={"question": QUESTION}).json()["thread_id"]
    answer = web_client.get(f"/api/v1/threads/{tid}").json()["answers"][0]
    html = web_client.get(f"/thread/{tid}").text
    newest = max(r["year"] for r in answer["references"])
    dates = re.search(r'<p class="meta dates">(.*?)</p>', html, re.S).group(1)
    assert "Last updated" not in dates
    assert re.search(rf"Generated\s+<time[^>]*>{answer['generated_at'][:10]}</time> · newest evidence {newest}", dates)
    assert 'href="/editorial-policy"' in dates


def test_article_headline_dates_and_quality_section(web_env: WebEnv) -> None:
    board = web_env.svc.editorial
    art = web_env.submitted(author="ed")
    with web_env.client() as rita, web_env.client() as rob, web_env.client() as anon:
        rcsrf = web_env.login(rita, "rita")
        html = rita.get(f"/articles/{art.id}/review").text
        assert f'<p class="topic-headline">{QUESTION}</p>' in html  # the title until a reviewer sets one
        assert 'name="headline"' in html and f'value="{QUESTION}"' in html
        assert "Quality of evidence" not in re.search(r'<section id="edit".*?</section>', html, re.S).group(0)
        sections = [s for s in art.answer["sections"] if s["heading"] != "Quality of evidence"]
        form = {"csrf": rcsrf, "expected_version": str(art.version), "note": "headline",
                "headline": "Treating high blood pressure in pregnancy", "bottom_line": art.answer["bottom_line"]}
        for i, s in enumerate(sections):
            form[f"heading_{i}"], form[f"markdown_{i}"] = s["heading"], s["markdown"]
        assert rita.post(f"/articles/{art.id}/edit", data=form, follow_redirects=False).status_code == 303
        edited = board.get(art.id, web_env.users["rita"])
        assert edited.answer["metadata"]["headline"] == "Treating high blood pressure in pregnancy"
        assert edited.answer["sections"][-1]["heading"] == "Quality of evidence"  # rebuilt, not lost
        assert "+Headline: Treating high blood pressure in pregnancy" in board.versions(art.id, web_env.users["rita"])[-1].diff

        bcsrf = web_env.login(rob, "rob")
        rob.post(f"/articles/{art.id}/take", data={"csrf": bcsrf})
        taken = board.get(art.id, web_env.users["rob"])
        r = rob.post(f"/articles/{art.id}/approve", data={"csrf": bcsrf, "expected_version": str(taken.version)},
                     follow_redirects=False)
        assert r.status_code == 303, r.text
        published = board.get(art.id, None)
        html = anon.get(f"/articles/{art.id}").text
        headline_at = html.index('<p class="topic-headline">Treating high blood pressure in pregnancy</p>')
        assert headline_at < html.index('aria-label="Bottom line"')
        dates = re.search(r'<p class="meta dates">(.*?)</p>', html, re.S).group(1)
        assert f"Last updated <time datetime=\"{published.approved_at}\">{published.approved_at[:10]}</time>" in dates
        assert "Generated" not in dates and 'href="/editorial-policy"' in dates


def test_a_bottom_line_citing_only_old_evidence_is_flagged(web_env: WebEnv, web_client) -> None:
    answer = web_env.svc.ask(QUESTION, "clinician", remember=False).model_dump(mode="json")
    assert "Older evidence" not in web_client.get("/editorial-policy").text
    old = copy.deepcopy(answer)
    for ref in old["references"]:
        ref["year"] = date.today().year - 6
    fresh = web_env.svc.editorial.submit(answer, web_env.users["ed"])
    stale = web_env.svc.editorial.submit(old, web_env.users["ed"])
    with web_env.client() as rita:
        web_env.login(rita, "rita")
        assert "Older evidence" not in rita.get(f"/articles/{fresh.id}/review").text
        html = rita.get(f"/articles/{stale.id}/review").text
        note = re.search(r'<p class="flag stale-evidence" role="note">(.*?)</p>', html, re.S)
        assert note and f"the newest is from {date.today().year - 6}" in note.group(1)
