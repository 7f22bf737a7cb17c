"""Shared fixtures: a fresh store, the service, a CLI runner, the shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medcite.domain import Document, DocKind, Section
from medcite.service import Medcite
from medcite.settings import Settings
from medcite.store.sqlite import Store

pytest_plugins = ["pg_server", "mock_openai"]

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_dir() -> Path:
    return Path(os.environ.get("MEDCITE_SHARED_DIR", ROOT.parent / "shared")).resolve()


@pytest.fixture
def shared() -> Path:
    path = shared_dir()
    if not (path / "corpus").is_dir():
        pytest.skip(f"shared data folder not found at {path}")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "test.db")
    yield s
    s.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db=tmp_path / "medcite.db", shared_dir=shared_dir(), cache_dir=tmp_path / "cache", progress=False)


@pytest.fixture
def service(settings: Settings) -> Medcite:
    svc = Medcite(settings)
    yield svc
    svc.close()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def make_doc(doc_id: str = "pmid:1", title: str = "Aspirin for prevention", text: str | None = None, **kw) -> Document:
    text = text or (
        "Low-dose aspirin reduces the risk of myocardial infarction. "
        "Bleeding is the main harm. The net benefit depends on baseline risk."
    )
    return Document(
        doc_id=doc_id,
        kind=kw.pop("kind", DocKind.RANDOMIZED_TRIAL),
        title=title,
        sections=kw.pop("sections", (Section("Abstract", text),)),
        **kw,
    )
