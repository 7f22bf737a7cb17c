"""Small things a visitor or an operator meets: the favicon, diff lines in the review page, what the server says
while it loads its models."""

from __future__ import annotations

import logging
import re

import pytest

pytest.importorskip("fastapi")

from web_fixtures import QUESTION, WebEnv, web_client, web_env  # noqa: E402,F401


def test_favicon_is_served(web_client) -> None:
    r = web_client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/x-icon"
    assert r.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "/favicon.ico" not in web_client.get("/api/v1/openapi.json").text


def test_review_page_diff_has_one_line_per_diff_line(web_env: WebEnv) -> None:
    board, rita = web_env.svc.editorial, web_env.users["rita"]
    art = board.take(web_env.submitted().id, rita)
    answer = dict(art.answer)
    answer["bottom_line"] = str(answer.get("bottom_line", "")) + " Edited."
    board.edit(art.id, rita, answer, "tighter", expected_version=art.version)
    with web_env.client() as client:
        web_env.login(client, "rita")
        html = client.get(f"/articles/{art.id}/review").text
    diffs = re.findall(r'<pre class="diff">(.*?)</pre>', html, flags=re.S)
    assert diffs and any('class="d-add"' in d for d in diffs), html[:2000]
    for d in diffs:
        assert "\n" not in d  # each line is a block of its own: a newline between them would show a blank line


def test_server_says_what_it_loads_before_the_first_question(web_env: WebEnv, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="uvicorn.error"):
        with web_env.client():  # runs the app's startup (lifespan)
            pass
    messages = [r.getMessage() for r in caplog.records if r.name == "uvicorn.error"]
    assert messages[0].startswith("medcite: loading ") and "embedding model" in messages[0]
    assert messages[1].startswith("medcite: ready to answer (loaded in ")
