"""Adversarial: in flag mode an unsupported LLM sentence is visibly marked in every face (issue 13, item 8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from medcite.llm.marks import UNSUPPORTED_MARK, mark_flagged
from mock_openai import MockOpenAI, mock_openai  # noqa: F401  (fixture)
from test_llm_composer import GUIDE, Q_TARGET, TARGET, learn_ids, make_service, reply

GARLIC = "Garlic tablets cure hypertension within a week"


def _queue_flagged(srv: MockOpenAI, g: int) -> None:
    srv.queue_chat(reply(f"{TARGET} [{g}] {GARLIC} [{g}]."))


def test_flagged_statement_is_marked_in_the_cli(tmp_path: Path, mock_openai: MockOpenAI,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from medcite.cli import app

    svc = make_service(tmp_path, mock_openai.url, llm_unsupported="flag")
    g = learn_ids(svc, mock_openai)[GUIDE]
    svc.close()
    monkeypatch.setenv("MEDCITE_LLM_BASE_URL", mock_openai.url)
    monkeypatch.setenv("MEDCITE_LLM_MODEL", "mock")
    monkeypatch.setenv("MEDCITE_LLM_UNSUPPORTED", "flag")
    _queue_flagged(mock_openai, g)
    res = CliRunner().invoke(app, ["--db", str(tmp_path / "m.db"), "ask", Q_TARGET, "--llm", "--markdown"])
    assert res.exit_code == 0, res.output
    assert f"{UNSUPPORTED_MARK} {GARLIC}" in res.stdout
    assert f"{UNSUPPORTED_MARK} {TARGET}" not in res.stdout  # the supported sentence is not marked


def test_flagged_statement_is_marked_on_the_web(tmp_path: Path, mock_openai: MockOpenAI) -> None:
    from fastapi.testclient import TestClient

    from medcite.web import create_app

    svc = make_service(tmp_path, mock_openai.url, llm_unsupported="flag", llm_default=True)
    g = learn_ids(svc, mock_openai)[GUIDE]
    _queue_flagged(mock_openai, g)
    with TestClient(create_app(svc)) as client:
        r = client.post("/api/v1/threads", json={"question": Q_TARGET})
        assert r.status_code == 201, r.text[:300]
        answer = r.json()["answer"]
        assert answer["metadata"]["flagged_statements"] == ["s2"]
        assert f"{UNSUPPORTED_MARK} {GARLIC}" in answer["bottom_line"]
        page = client.get(f"/thread/{r.json()['thread_id']}")
        assert f"<strong>[Unsupported]</strong> {GARLIC}" in page.text
    svc.close()


def test_mark_is_added_once() -> None:
    from medcite.answer.schema import Answer, EvidenceQuality, Statement

    a = Answer(question="q", composer="llm:x", generated_at="now", corpus_fingerprint="f", disclaimer="d",
               evidence_quality=EvidenceQuality(grade="low", rationale="r"), bottom_line="A [1]. B [1].",
               statements=[Statement(id="s1", text="A", citations=[1], section="Bottom line"),
                           Statement(id="s2", text="B", citations=[1], section="Bottom line")],
               metadata={"flagged_statements": ["s2"]})
    once = mark_flagged(a)
    assert once.bottom_line == f"A [1]. {UNSUPPORTED_MARK} B [1]."
    assert mark_flagged(once).bottom_line == once.bottom_line
