"""Adversarial: one reviewer must never rewrite an article and publish it alone (issue 13, item 2)."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")

from web_fixtures import WebEnv, web_client, web_env  # noqa: E402,F401

HARMFUL = "Stop all antihypertensives in pregnancy immediately. [1]"


def test_reviewer_who_edits_cannot_approve_alone(web_env: WebEnv, web_client) -> None:
    art = web_env.submitted()
    assert [r["n"] for r in art.answer["references"]][:1] == [1], art.answer  # the edit below cites [1]
    rita, rob = web_env.bearer("rita"), web_env.bearer("rob")
    taken = web_client.post(f"/api/v1/articles/{art.id}/take", headers=rita).json()
    edited = web_client.post(f"/api/v1/articles/{art.id}/edit", headers=rita,
                             json={"bottom_line": HARMFUL, "expected_version": taken["version"]})
    assert edited.status_code == 200, edited.text
    edited = edited.json()
    assert edited["state"] == "under_review" and edited["reviewer"] is None  # back in the queue for someone else
    r = web_client.post(f"/api/v1/articles/{art.id}/approve", headers=rita,
                        json={"expected_version": edited["version"]})
    assert r.status_code == 403, r.text
    assert "you edited it since its last approval" in r.json()["error"]
    assert "another reviewer" in r.json()["error"]
    assert web_client.get(f"/api/v1/articles/{art.id}").status_code == 401  # still not public
    again = web_client.post(f"/api/v1/articles/{art.id}/take", headers=rita)
    assert again.status_code == 403  # nor can she take it back
    ok = web_client.post(f"/api/v1/articles/{art.id}/approve", headers=rob,
                         json={"expected_version": edited["version"]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["state"] == "approved" and ok.json()["reviewed_by"] == "rob"
    assert ok.json()["answer"]["bottom_line"] == HARMFUL  # the second reviewer approved the final text


def test_edit_after_approval_needs_a_new_second_reviewer(web_env: WebEnv) -> None:
    board, rita, rob = web_env.svc.editorial, web_env.users["rita"], web_env.users["rob"]
    art = board.take(web_env.submitted().id, rita)
    art = board.approve(art.id, rita, art.version)
    art = board.request_changes(art.id, rob, "Tighten the wording.", art.version)
    art = board.edit(art.id, rob, dict(art.answer, bottom_line=HARMFUL), note="reworded")
    art = board.resubmit(art.id, web_env.users["ed"])
    from medcite.errors import PermissionDenied

    with pytest.raises(PermissionDenied, match="another reviewer"):
        board.take(art.id, rob)
    art = board.take(art.id, rita)
    assert board.approve(art.id, rita, art.version).state == "approved"
