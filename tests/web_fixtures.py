"""Fixtures for the web tests: a small ingested corpus, users of every role, the app, and a live server.

Register with ``pytest_plugins = [..., "web_fixtures"]`` in conftest.py, or import the fixtures by name.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

from medcite.service import Medcite
from medcite.settings import Settings

WEB_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "web"
PASSWORD = "correct horse battery"
#: questions that get a real, cited answer from tests/fixtures/web/corpus.jsonl
QUESTION = "How should hypertension be treated in pregnancy?"
SALT_QUESTION = "Should adults with hypertension reduce salt intake?"  # cites the poisoned document
PATIENT_QUESTION = "How can I lower my high blood pressure?"


@dataclass
class WebEnv:
    svc: Medcite
    app: Any
    db: Path
    users: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, **kw: Any) -> Any:
        from fastapi.testclient import TestClient

        return TestClient(self.app, **kw)

    def login(self, client: Any, name: str) -> str:
        """Sign ``client`` in as ``name``; returns the session's CSRF token."""
        client.get("/login")
        r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf": client.cookies.get("medcite_csrf"),
                                        "next": "/"}, follow_redirects=False)
        assert r.status_code == 303, r.text
        return csrf_of(client.get("/").text)

    def bearer(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def submitted(self, question: str = QUESTION, author: str = "ed") -> Any:
        """A fresh article submitted by ``author``."""
        answer = self.svc.ask(question, "clinician", remember=False)
        return self.svc.editorial.submit(answer.model_dump(mode="json"), self.users[author])


def csrf_of(html: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    return m.group(1) if m else ""


def build_env(root: Path, **overrides: Any) -> WebEnv:
    from medcite.web import create_app

    db = root / "web.db"
    svc = Medcite(Settings(db=db, progress=False, cache_dir=root / "cache"))
    report = svc.ingest([WEB_FIXTURES])
    assert not report.errors, report.errors
    board = svc.editorial
    env = WebEnv(svc=svc, app=None, db=db)
    env.users["ada"] = board.add_user("ada", "admin", PASSWORD)
    for name, role in (("rita", "reviewer"), ("rob", "reviewer"), ("ed", "editor"), ("remy", "reader")):
        env.users[name] = board.add_user(name, role, PASSWORD, actor=env.users["ada"])
    for name, user in env.users.items():
        env.tokens[name] = board.create_token(user, "tests")
    overrides.setdefault("ask_burst", 10000)
    overrides.setdefault("ask_rate_per_minute", 600000)
    env.app = create_app(svc, **overrides)
    return env


@pytest.fixture(scope="session")
def web_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebEnv]:
    env = build_env(tmp_path_factory.mktemp("web"))
    yield env
    env.svc.close()


@pytest.fixture
def web_client(web_env: WebEnv) -> Iterator[Any]:
    with web_env.client() as client:
        yield client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_in_thread(app: Any, *, wait_s: float = 20, **config: Any) -> tuple[Any, threading.Thread, str]:
    """A real uvicorn server for ``app`` on 127.0.0.1:<free port>, in a daemon thread, once it accepts
    connections: (server, thread, base URL). ``config`` goes to ``uvicorn.Config`` (log level, ``http``
    protocol …); stop it with ``server.should_exit = True`` and ``thread.join()``."""
    import uvicorn

    port = free_port()
    config = {"log_level": "warning", "lifespan": "off", **config}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + wait_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test web server did not start")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, WebEnv]]:
    """A real uvicorn server on 127.0.0.1:<free port>, in a thread, over its own corpus."""
    env = build_env(tmp_path_factory.mktemp("live"))
    server, thread, base = serve_in_thread(env.app)
    yield base, env
    server.should_exit = True
    thread.join(timeout=10)
    env.svc.close()
