"""Adversarial: sign-in guessing, forged client addresses, session fixation, cross-origin posts (issue 13, item 6)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi")

from web_fixtures import (  # noqa: E402,F401  (web_client, web_env: fixtures)
    PASSWORD, QUESTION, WebEnv, build_env, serve_in_thread, web_client, web_env)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def own_env(tmp_path: Path):
    env = build_env(tmp_path)
    yield env
    env.svc.close()


def _login(client, name: str, password: str):
    client.get("/login")
    return client.post("/login", data={"name": name, "password": password, "csrf": client.cookies.get("medcite_csrf"),
                                       "next": "/"}, follow_redirects=False)


def test_password_guessing_is_throttled_then_locked_with_an_audit_entry(own_env: WebEnv) -> None:
    web = own_env.app.state.web
    clock = FakeClock()
    web.login_by_account.clock = web.login_by_address.clock = clock
    board = own_env.svc.editorial
    calls = []
    real = board.authenticate
    board.authenticate = lambda name, pw: calls.append(name) or real(name, pw)
    with own_env.client() as c:
        assert _login(c, "rita", "guess 0").status_code == 401
        assert _login(c, "rita", "guess 1").status_code == 401
        assert _login(c, "rita", "guess 2").status_code == 401
        assert _login(c, "rita", "guess 3").status_code == 401
        r = _login(c, "rita", "guess 4")  # backoff: refused before the password is checked
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and len(calls) == 4
        for i in range(5, 11):
            clock.now += 400  # past any backoff
            assert _login(c, "rita", f"guess {i}").status_code == 401
        clock.now += 400
        r = _login(c, "rita", PASSWORD)  # locked: even the right password waits
        assert r.status_code == 429 and "locked" in r.text and int(r.headers["retry-after"]) > 300
        for i in range(40):
            assert _login(c, "rita", f"more {i}").status_code == 429
    assert len(calls) == 10  # 50 guesses, 10 passwords checked
    entries = [e for e in board.audit(None, own_env.users["ada"]) if e.action == "login_locked"]
    assert entries and entries[0].details["key"] == "account:rita"


def test_guessing_across_accounts_is_throttled_per_address(own_env: WebEnv) -> None:
    web = own_env.app.state.web
    web.login_by_account.clock = web.login_by_address.clock = FakeClock()
    with own_env.client() as c:
        for i in range(11):
            assert _login(c, f"user{i}", "x").status_code == 401
        assert _login(c, "user99", "x").status_code == 429  # a new name does not help


def test_relogin_rotates_the_session(web_env: WebEnv) -> None:
    with web_env.client() as c:
        csrf = web_env.login(c, "rita")
        first = c.cookies.get("medcite_session")
        r = c.post("/login", data={"name": "rita", "password": PASSWORD, "csrf": csrf, "next": "/"},
                   follow_redirects=False)
        assert r.status_code == 303, r.text[:300]
        second = c.cookies.get("medcite_session")
    assert first and second and first != second
    assert web_env.svc.editorial.session_user(first) is None  # the old id is dead
    assert web_env.svc.editorial.session_user(second) is not None


def test_cross_origin_post_is_refused(web_client) -> None:
    r = web_client.post("/api/v1/search", json={}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "cross-origin" in r.json()["error"]
    r = web_client.post("/api/v1/ask", json={"question": QUESTION}, headers={"Origin": "http://testserver"})
    assert r.status_code == 200


def _serve(env: WebEnv, options: dict):
    return serve_in_thread(env.app, **options)


@pytest.mark.parametrize("trusted,expected", [("", [200, 200, 429]), ("127.0.0.1", [200, 200, 200])])
def test_x_forwarded_for_counts_only_from_trusted_proxies(tmp_path: Path, trusted: str, expected: list) -> None:
    from medcite.settings import Settings
    from medcite.web import server_options

    env = build_env(tmp_path, ask_burst=2, ask_rate_per_minute=1)
    server, thread, base = _serve(env, server_options(Settings(web_trusted_proxies=trusted)))
    try:
        got = [httpx.post(f"{base}/api/v1/ask", json={"question": QUESTION}, timeout=30,
                          headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(3)]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        env.svc.close()
    assert got == expected  # untrusted: one bucket for the real peer, whatever the forged header says
