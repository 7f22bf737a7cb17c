"""`medcite sync pubmed` against loopback servers: a PubMed mirror in NLM's layout and a fake E-utilities."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from medcite.cli import app
from medcite.errors import SyncError
from medcite.service import Medcite
from medcite.settings import Settings
from medcite.sync.pubmed import file_order, listed_files, parse_md5
from medcite.sync.state import SyncLog
from pubmed_server import EUtils, Mirror, truncated_gzip

ROOT = Path(__file__).resolve().parents[1]
BASELINE, UPDATE = "pubmed26n1334.xml.gz", "pubmed26n1335.xml.gz"
#: the store after the baseline (30 records) and the update file (30 more, 6 deletions)
DELETED = {"pmid:41456105", "pmid:41557076", "pmid:41616784", "pmid:41618748", "pmid:41618749", "pmid:41618779"}


@pytest.fixture
def mirror(shared: Path) -> Iterator[Mirror]:
    m = Mirror.from_shared(shared).serve()
    yield m
    m.release.set()
    m.stop()


@pytest.fixture
def eutils(shared: Path) -> Iterator[EUtils]:
    e = EUtils.from_shared(shared).serve()
    yield e
    e.stop()


def _settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(db=tmp_path / "medcite.db", cache_dir=tmp_path / "cache", progress=False, embedder="none",
                    lexical_engine="fts5", sync_backoff=0.01, **kw)


def _sync(tmp_path: Path, mirror: Mirror, **kw: Any) -> Any:
    svc = Medcite(_settings(tmp_path, **kw))
    try:
        return svc.sync_pubmed(mirror.url)
    finally:
        svc.close()


def _state(tmp_path: Path) -> dict[str, Any]:
    """What the store holds: its stats, the deleted documents and the sync log (without times)."""
    svc = Medcite(_settings(tmp_path))
    try:
        stats = svc.stats()
        stats.pop("db")
        deleted = {r[0] for r in svc.store.conn.execute("SELECT doc_id FROM documents WHERE status = 'deleted'")}
        log = {n: {k: v for k, v in f.to_dict().items() if k != "finished_at"}
               for n, f in SyncLog(svc.store).finished("pubmed").items()}
        return {"stats": stats, "deleted": deleted, "log": log}
    finally:
        svc.close()


@pytest.fixture(scope="module")
def clean_state(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> dict[str, Any]:
    """The state after one uninterrupted sync: what every interrupted run must end with."""
    m = Mirror.from_shared(shared).serve()
    try:
        tmp = tmp_path_factory.mktemp("clean")
        report = _sync(tmp, m)
        assert report.ok, report.error
        return _state(tmp)
    finally:
        m.stop()


@pytest.fixture(scope="module")
def shared() -> Path:  # module scope, for clean_state
    from conftest import shared_dir

    path = shared_dir()
    if not (path / "corpus" / "pubmed").is_dir():
        pytest.skip(f"shared PubMed files not found at {path}")
    return path


# --- pure pieces ------------------------------------------------------------------------------------


def test_listing_md5_and_order() -> None:
    html = ('<a href="../">Parent</a><a href="pubmed26n1336.xml.gz">x</a> <a href="pubmed26n1336.xml.gz.md5">m</a>'
            "<a href='pubmed26n0999.xml.gz'>y</a><a href=README.txt>r</a><a href=\"/pubmed/x/pubmed26n1000.xml.gz\">")
    assert listed_files(html) == ["pubmed26n0999.xml.gz", "pubmed26n1000.xml.gz", "pubmed26n1336.xml.gz"]
    assert sorted(["p26n10.xml.gz", "p26n9.xml.gz"], key=file_order) == ["p26n9.xml.gz", "p26n10.xml.gz"]
    hexd = "3cf53ba34ff73126e42d1d8391330e73"
    assert parse_md5(f"MD5(pubmed26n1334.xml.gz)= {hexd}\n", "pubmed26n1334.xml.gz") == hexd
    assert parse_md5(f"{hexd.upper()}  pubmed26n1334.xml.gz\n", "pubmed26n1334.xml.gz") == hexd
    with pytest.raises(SyncError, match="no checksum"):
        parse_md5(f"MD5(other.xml.gz)= {hexd}", "pubmed26n1334.xml.gz")


# --- the mirror ----------------------------------------------------------------------------------


def test_sync_ingests_in_order_then_a_rerun_changes_nothing(tmp_path: Path, mirror: Mirror,
                                                           clean_state: dict[str, Any]) -> None:
    steps: list[str] = []
    svc = Medcite(_settings(tmp_path))
    try:
        report = svc.sync_pubmed(mirror.url, on_step=lambda s: steps.append(s.line()))
    finally:
        svc.close()
    assert report.ok and [f.name for f in report.files] == [BASELINE, UPDATE]
    base, upd = report.files
    assert (base.kind, base.records, base.added, base.deleted) == ("baseline", 30, 30, 0)
    assert (upd.kind, upd.records, upd.added, upd.deleted) == ("update", 30, 30, 6)
    assert any("downloaded" in s for s in steps) and any("30 records" in s and "6 deletions" in s for s in steps)
    state = _state(tmp_path)
    assert state == clean_state
    assert state["deleted"] == DELETED
    assert set(state["log"]) == {BASELINE, UPDATE} and state["log"][UPDATE]["records"] == 30
    assert not list((tmp_path / "medcite.db.downloads" / "pubmed").rglob("*.xml.gz*"))  # deleted once ingested
    # a second run lists, finds nothing new, downloads nothing, changes nothing
    before = list(mirror.log)
    again = _sync(tmp_path, mirror)
    assert again.ok and again.files == [] and again.already_done == 2
    assert [p for p in mirror.log[len(before):] if not p.endswith("/")] == []
    assert _state(tmp_path) == clean_state


def test_503_and_dropped_connection_are_retried(tmp_path: Path, mirror: Mirror, clean_state: dict[str, Any]) -> None:
    mirror.faults = {BASELINE: ["503", "503"], UPDATE: ["drop", "garbage"]}
    report = _sync(tmp_path, mirror)
    assert report.ok, report.error
    assert mirror.downloads(BASELINE) == 3 and mirror.downloads(UPDATE) == 3
    assert _state(tmp_path) == clean_state


def test_wrong_md5_is_reported_and_the_file_not_ingested(tmp_path: Path, mirror: Mirror,
                                                         clean_state: dict[str, Any]) -> None:
    mirror.md5s[UPDATE] = "0" * 32
    report = _sync(tmp_path, mirror)
    assert not report.ok and [f.status for f in report.files] == ["ingested", "failed"]
    assert "MD5 mismatch" in report.error and UPDATE in report.error and "after 4 tries" in report.error
    assert mirror.downloads(UPDATE) == 4
    state = _state(tmp_path)
    assert set(state["log"]) == {BASELINE} and state["stats"]["documents"] == 30  # the baseline is kept
    assert not list((tmp_path / "medcite.db.downloads").rglob(UPDATE + "*"))  # no half file left
    # the mirror is fixed: the next run resumes at the update file
    mirror.md5s.clear()
    again = _sync(tmp_path, mirror)
    assert again.ok and [f.name for f in again.files] == [UPDATE]
    assert _state(tmp_path) == clean_state


def test_503_that_persists_stops_the_run_and_the_next_run_resumes(tmp_path: Path, mirror: Mirror,
                                                                  clean_state: dict[str, Any]) -> None:
    mirror.faults = {UPDATE: ["503"] * 4}
    report = _sync(tmp_path, mirror)
    assert not report.ok and "HTTP 503 after 4 tries" in report.error
    assert _state(tmp_path)["stats"]["documents"] == 30
    assert _sync(tmp_path, mirror).ok
    assert _state(tmp_path) == clean_state


def test_connection_dropped_during_the_update_file_then_resumed(tmp_path: Path, mirror: Mirror,
                                                                clean_state: dict[str, Any]) -> None:
    mirror.faults = {UPDATE: ["drop"] * 4}
    report = _sync(tmp_path, mirror)
    assert not report.ok and "connection dropped" in report.error
    assert set(_state(tmp_path)["log"]) == {BASELINE}
    again = _sync(tmp_path, mirror)
    assert again.ok and [f.name for f in again.files] == [UPDATE]
    assert _state(tmp_path) == clean_state


def test_corrupt_gzip_is_reported_clearly(tmp_path: Path, mirror: Mirror, clean_state: dict[str, Any]) -> None:
    good = mirror.files["updatefiles"][UPDATE]
    mirror.files["updatefiles"][UPDATE] = truncated_gzip(good)  # published so: its .md5 matches the broken file
    report = _sync(tmp_path, mirror)
    assert not report.ok and report.files[-1].name == UPDATE
    assert "corrupt or truncated gzip data" in report.error and "nothing from this file was stored" in report.error
    state = _state(tmp_path)
    assert set(state["log"]) == {BASELINE} and state["stats"]["documents"] == 30  # never half-ingested
    mirror.files["updatefiles"][UPDATE] = good
    assert _sync(tmp_path, mirror).ok
    assert _state(tmp_path) == clean_state


def test_killed_between_ingest_and_record_reingests_idempotently(tmp_path: Path, mirror: Mirror,
                                                                 clean_state: dict[str, Any],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    real = SyncLog.record

    def dies_on_update(self: SyncLog, source: str, name: str, *a: Any) -> None:
        if name == UPDATE:
            raise KeyboardInterrupt  # the process ends after the ingest committed, before the file is recorded
        real(self, source, name, *a)

    monkeypatch.setattr(SyncLog, "record", dies_on_update)
    with pytest.raises(KeyboardInterrupt):
        _sync(tmp_path, mirror)
    monkeypatch.setattr(SyncLog, "record", real)
    again = _sync(tmp_path, mirror)
    (upd,) = again.files
    assert again.ok and (upd.name, upd.records, upd.unchanged, upd.added, upd.deleted) == (UPDATE, 30, 30, 0, 0)
    state = _state(tmp_path)
    # the same store; only the log's count of deletions newly applied differs (they were applied by the first run)
    assert state["log"][UPDATE].pop("deletions") == 0 and clean_state["log"][UPDATE]["deletions"] == 6
    assert state["stats"] == clean_state["stats"] and state["deleted"] == clean_state["deleted"]
    assert state["log"][UPDATE] == {k: v for k, v in clean_state["log"][UPDATE].items() if k != "deletions"}


def _cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDCITE_")}
    env.update(MEDCITE_DB=str(tmp_path / "medcite.db"), MEDCITE_EMBEDDER="none", MEDCITE_PROGRESS="false", MEDCITE_LEXICAL_ENGINE="fts5",
               MEDCITE_CACHE_DIR=str(tmp_path / "cache"), MEDCITE_SYNC_BACKOFF="0.01",
               MEDCITE_CONFIG=str(tmp_path / "none.toml"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH", "")]))
    return env


def test_cli_killed_mid_download_and_restarted(tmp_path: Path, mirror: Mirror, clean_state: dict[str, Any]) -> None:
    mirror.faults = {UPDATE: ["stall"]}
    proc = subprocess.Popen([sys.executable, "-m", "medcite", "sync", "pubmed", "--base-url", mirror.url],
                            env=_cli_env(tmp_path), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert mirror.stalled.wait(30), proc.communicate(timeout=5)
        proc.send_signal(signal.SIGKILL)  # killed halfway through the update file
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    mirror.release.set()
    assert set(_state(tmp_path)["log"]) == {BASELINE}
    assert not list((tmp_path / "medcite.db.downloads").rglob(UPDATE))  # at most a .part file, never the name
    from typer.testing import CliRunner

    res = CliRunner().invoke(app, ["sync", "pubmed", "--base-url", mirror.url, "--json"], env=_cli_env(tmp_path))
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["ok"] and out["already_done"] == 1 and [f["name"] for f in out["files"]] == [UPDATE]
    assert out["deleted"] == 6
    assert _state(tmp_path) == clean_state
    assert not list((tmp_path / "medcite.db.downloads").rglob("*.part"))


def test_cli_plain_lines_and_exit_status(tmp_path: Path, mirror: Mirror) -> None:
    from typer.testing import CliRunner

    mirror.md5s[UPDATE] = "f" * 32
    res = CliRunner().invoke(app, ["sync", "pubmed", "--base-url", mirror.url, "--no-embed"], env=_cli_env(tmp_path))
    assert res.exit_code == 1
    text = " ".join(res.output.split())
    assert f"{BASELINE}: downloaded" in text and f"{BASELINE}: ingested — 30 records" in text
    assert "MD5 mismatch" in text and "everything before this file is kept" in text
    res = CliRunner().invoke(app, ["sync", "pubmed", "--base-url", mirror.url + "nowhere/"], env=_cli_env(tmp_path))
    assert res.exit_code == 1 and "HTTP 404" in res.output and "--base-url" in res.output


# --- E-utilities --------------------------------------------------------------------------------


def test_query_mode_paces_requests_and_retries_429(tmp_path: Path, eutils: EUtils) -> None:
    term = "study"
    expected = eutils.search(term)
    assert len(expected) >= 25
    eutils.fail_next = [429]  # NCBI's "API rate limit exceeded" once, on the esearch
    svc = Medcite(_settings(tmp_path, eutils_url=eutils.url + "entrez/eutils/"))
    try:
        report = svc.sync_pubmed_query(term, 25, batch=10)
        docs = {r[0] for r in svc.store.conn.execute("SELECT doc_id FROM documents")}
    finally:
        svc.close()
    assert report.ok, report.error
    assert [f.records for f in report.files] == [10, 10, 5]
    assert docs == {f"pmid:{p}" for p in expected[:25]}
    calls = [(e, p) for _, e, p in eutils.requests]
    assert [e for e, _ in calls] == ["esearch.fcgi"] * 2 + ["efetch.fcgi"] * 3  # the 429 was retried
    search = calls[1][1]
    assert search["usehistory"] == "y" and search["db"] == "pubmed" and "api_key" not in search
    assert [p["retstart"] for e, p in calls[2:]] == ["0", "10", "20"] and calls[2][1]["retmode"] == "xml"
    assert eutils.rate_limited == 0  # ≤ 3 requests a second without a key
    times = [t for t, _, _ in eutils.requests]
    assert all(b - a >= 0.3 for a, b in zip(times[1:], times[2:]))
    # the same query again: nothing new
    svc = Medcite(_settings(tmp_path, eutils_url=eutils.url + "entrez/eutils/"))
    try:
        again = svc.sync_pubmed_query(term, 25, batch=10)
    finally:
        svc.close()
    assert again.ok and again.total("unchanged") == 25 and again.total("added") == 0


def test_query_mode_with_an_api_key(tmp_path: Path, eutils: EUtils) -> None:
    svc = Medcite(_settings(tmp_path, eutils_url=eutils.url + "entrez/eutils/", eutils_api_key="k3y"))
    try:
        report = svc.sync_pubmed_query("study", 12, batch=3)
    finally:
        svc.close()
    assert report.ok and report.total("added") == 12
    assert all(p.get("api_key") == "k3y" for _, _, p in eutils.requests)
    assert eutils.rate_limited == 0 and len(eutils.requests) == 5  # 5 requests, under 10 a second


def test_query_mode_cli_and_errors(tmp_path: Path, eutils: EUtils) -> None:
    from typer.testing import CliRunner

    env = _cli_env(tmp_path) | {"MEDCITE_EUTILS_URL": eutils.url + "entrez/eutils/"}
    res = CliRunner().invoke(app, ["sync", "pubmed", "--query", "study", "--max", "4", "--json"], env=env)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["source"] == "pubmed-query" and out["added"] == 4
    eutils.fail_next = [503] * 4
    res = CliRunner().invoke(app, ["sync", "pubmed", "--query", "study"], env=env)
    assert res.exit_code == 1 and "esearch: HTTP 503 after 4 tries" in " ".join(res.output.split())


def test_two_syncs_into_one_download_folder_are_refused(tmp_path: Path, mirror: Mirror) -> None:
    import fcntl

    folder = tmp_path / "medcite.db.downloads" / "pubmed"
    folder.mkdir(parents=True)
    with open(folder / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another run holds it
        with pytest.raises(SyncError, match="another medcite sync is running"):
            _sync(tmp_path, mirror)
    assert _sync(tmp_path, mirror).ok


def test_max_needs_query(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    res = CliRunner().invoke(app, ["sync", "pubmed", "--max", "5"], env=_cli_env(tmp_path))
    assert res.exit_code == 2 and "--max applies to --query only" in " ".join(res.output.split())
