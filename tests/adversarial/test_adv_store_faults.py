"""Adversarial: store faults (issue 13, item 7) — two writers at once, the parse worker after its parent is
killed, a full disk, a read-only store."""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from faultlib import (FIXTURES, cli, descendants, env, leftovers, read_only_report, run, snapshot, wait_gone,
                      write_corpus)

linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
QUERIES = ("asthma inhaled corticosteroid", "warfarin bleeding", "colonoscopy screening")


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err, err
    return " ".join(" ".join(lines).split())


def _corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    for n in range(4):
        write_corpus(folder, 60, seed=n, name=f"part{n}.jsonl")
    return folder


def test_two_ingests_at_once_both_finish_and_store_what_one_would(tmp_path: Path) -> None:
    # the second writer waits for the first; on a loaded 2-core runner the first can hold the store longer than
    # the default 30 s wait (it did once in CI), so the wait here is generous: finishing is what is tested
    corpus, e = _corpus(tmp_path), env(tmp_path, MEDCITE_STORE_BUSY_TIMEOUT="180")
    db = tmp_path / "two.db"
    procs = [cli(db, "ingest", str(corpus), environ=e) for _ in range(2)]
    results = [(p.wait(timeout=300), p.communicate()) for p in procs]
    for rc, (_, err) in results:
        assert rc == 0, err
        assert "locked" not in err
    rc, _, err = run(tmp_path / "one.db", "ingest", str(corpus), environ=e)
    assert rc == 0, err
    assert snapshot(db, e, QUERIES) == snapshot(tmp_path / "one.db", e, QUERIES)


def _hold_write_lock(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(db), isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_a_second_writer_waits_for_the_first(tmp_path: Path) -> None:
    corpus, e = _corpus(tmp_path), env(tmp_path)
    db = tmp_path / "m.db"
    assert run(db, "ingest", str(corpus / "part0.jsonl"), environ=e)[0] == 0
    holder = _hold_write_lock(db)
    proc = cli(db, "ingest", str(corpus), environ=e)
    time.sleep(2.0)
    assert proc.poll() is None  # still waiting
    holder.execute("COMMIT")
    holder.close()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "240 documents" in " ".join(run(db, "stats", environ=e)[1].split())


@linux_only
def test_a_writer_that_cannot_get_the_lock_in_time_says_who_holds_it(tmp_path: Path) -> None:
    corpus, e = _corpus(tmp_path), env(tmp_path, MEDCITE_STORE_BUSY_TIMEOUT="1")
    db = tmp_path / "m.db"
    assert run(db, "ingest", str(corpus / "part0.jsonl"), environ=e)[0] == 0
    holder = _hold_write_lock(db)
    try:
        rc, _, err = run(db, "ingest", str(corpus), environ=e)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    line = _one_line(err)
    assert rc != 0
    assert f"is busy: process {os.getpid()} (" in line and "waited 1 s" in line, line
    assert "store_busy_timeout" in line
    assert "60 documents" in " ".join(run(db, "stats", environ=e)[1].split())  # nothing half-written


@linux_only
def test_the_parse_worker_dies_with_a_killed_ingest(tmp_path: Path) -> None:
    big = write_corpus(tmp_path / "big", 2600, words=400, name="big.jsonl")  # over 8 MB: parsed in a worker
    assert big.stat().st_size > 8 * 1024 * 1024
    proc = cli(tmp_path / "m.db", "ingest", str(big), environ=env(tmp_path))
    deadline, workers = time.monotonic() + 60, []
    while not workers and time.monotonic() < deadline and proc.poll() is None:
        workers = descendants(proc.pid)
        time.sleep(0.02)
    assert workers, "the ingest never started a parse worker"
    proc.kill()
    proc.wait()
    assert wait_gone(workers, 2.0) == []


def _fsize_limit(limit: int):
    def pre() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


@linux_only
def test_a_full_disk_is_one_line_and_the_store_stays_whole(tmp_path: Path) -> None:
    corpus, e = _corpus(tmp_path), env(tmp_path)
    db = tmp_path / "m.db"
    rc, _, err = run(db, "ingest", str(corpus), environ=e, preexec_fn=_fsize_limit(600_000))
    line = _one_line(err)
    assert rc != 0
    assert line.startswith("error: the disk is full: cannot write"), line
    assert sqlite3.connect(str(db)).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rc, out, err = run(db, "search", "asthma", environ=e)
    assert rc == 0 and "Traceback" not in err
    assert leftovers(tmp_path) == []
    rc, _, err = run(db, "ingest", str(corpus), environ=e)  # room again: the same command finishes the job
    assert rc == 0, err
    assert snapshot(db, e, QUERIES)["stats"]["documents"] == 240


def test_a_full_disk_while_the_lexical_index_is_built_is_one_line(tmp_path: Path, monkeypatch) -> None:
    import errno

    from medcite.errors import StoreError
    from medcite.index import tantivy_index
    from medcite.service import Medcite
    from medcite.settings import Settings

    svc = Medcite(Settings(db=tmp_path / "m.db", progress=False, cache_dir=tmp_path / "cache", embedder="none"))
    try:
        def full(self, tmp, reason):
            tmp.mkdir(parents=True)
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp / "x"))

        monkeypatch.setattr(tantivy_index.TantivyIndex, "_build_into", full)
        with pytest.raises(StoreError, match="the disk is full"):
            svc.ingest([FIXTURES / "answers" / "corpus.jsonl"])
        assert leftovers(tmp_path) == []
        monkeypatch.undo()
        assert svc.search("colorectal cancer screening").hits  # the next search builds the index
    finally:
        svc.close()


def _read_only_checks(report: dict, db: Path, clean: dict, *, same_index: bool = True) -> None:
    if same_index:
        assert report["snapshot"] == clean  # stats and search as before
    else:  # tantivy cannot open an index on a read-only file system: SQLite FTS5 searches instead
        assert report["snapshot"]["stats"] == clean["stats"]
        assert all(report["snapshot"]["hits"][q] for q in QUERIES)
    assert report["ask"]["rc"] == 0 and "Traceback" not in report["ask"]["err"], report["ask"]
    for command in ("ingest", "reindex"):
        rc, line = report[command]["rc"], report[command]["err"]
        assert rc != 0 and f"the store is read-only: {db}" in line and "Traceback" not in line, line
        assert "re-run `medcite ingest`" not in line


def test_a_read_only_store_can_be_read(tmp_path: Path, monkeypatch) -> None:
    """In-process: the store's file cannot be written (as chmod 444 does for any user but root)."""
    from typer.testing import CliRunner

    from medcite.cli import app
    from medcite.store import sqlite as store_sqlite

    corpus, e = _corpus(tmp_path), env(tmp_path)
    db = tmp_path / "m.db"
    assert run(db, "ingest", str(corpus), environ=e)[0] == 0
    monkeypatch.setattr(store_sqlite, "writable", lambda path: False)
    for key, value in e.items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    res = runner.invoke(app, ["--db", str(db), "search", "asthma", "--k", "3"])
    assert res.exit_code == 0 and "asthma" in res.output.lower(), res.output
    res = runner.invoke(app, ["--db", str(db), "stats"])
    assert res.exit_code == 0 and "240 documents" in res.output
    res = runner.invoke(app, ["--db", str(db), "ingest", str(corpus)])
    assert res.exit_code != 0 and f"the store is read-only: {db}" in " ".join(res.output.split())


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod")
def test_a_chmod_read_only_store_can_be_read(tmp_path: Path) -> None:
    corpus, e = _corpus(tmp_path / "in"), env(tmp_path)
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "m.db"
    assert run(db, "ingest", str(corpus), environ=e)[0] == 0
    clean = snapshot(db, e, QUERIES)
    for p in folder.iterdir():
        if p.is_file():
            p.chmod(0o444)
    folder.chmod(0o555)
    try:
        _read_only_checks(read_only_report(db, e, QUERIES), db, clean)
    finally:
        folder.chmod(0o755)


def _ro_mount_works(folder: Path) -> bool:
    if os.geteuid() != 0 or not Path("/usr/bin/unshare").exists():
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c",
                            f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}"],
                           capture_output=True)
    return probe.returncode == 0


def test_a_store_on_a_read_only_mount_can_be_read(tmp_path: Path) -> None:
    """As root (chmod does not stop root): the store's folder mounted read-only in a private mount namespace."""
    corpus, e = _corpus(tmp_path / "in"), env(tmp_path)
    folder = tmp_path / "ro"
    folder.mkdir()
    if not _ro_mount_works(folder):
        pytest.skip("needs root and unshare -m to mount a folder read-only")
    db = folder / "m.db"
    assert run(db, "ingest", str(corpus), environ=e)[0] == 0
    clean = snapshot(db, e, QUERIES)
    script = (f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && "
              f"exec {sys.executable} {Path(__file__).with_name('faultlib.py')} ro-report {db} "
              + " ".join(f"'{q}'" for q in QUERIES))
    res = subprocess.run(["unshare", "-m", "sh", "-c", script], env=e, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    _read_only_checks(json.loads(res.stdout), db, clean, same_index=False)
    assert snapshot(db, e, QUERIES) == clean


def test_an_embed_stopped_before_its_first_save_is_finished_by_the_next_ingest(tmp_path: Path) -> None:
    from medcite.index.paths import manifest_path
    from medcite.service import Medcite
    from medcite.settings import Settings

    corpus, db = write_corpus(tmp_path / "corpus", 40), tmp_path / "m.db"
    e = env(tmp_path, MEDCITE_EMBEDDER="hashing")
    rc, _, err = run(db, "ingest", "--no-embed", str(corpus), environ=e)
    assert rc == 0, err

    def stop(*_args: object) -> None:
        raise KeyboardInterrupt  # as a kill at the embed's first progress report, before anything is saved

    svc = Medcite(Settings(db=db, embedder="hashing", progress=False, query_expansion=False))
    with pytest.raises(KeyboardInterrupt):
        svc.embed(progress=stop)
    svc.drop_vectors()  # as a kill -9 before the vector index's first file reached the disk
    assert not manifest_path(svc.vector_path()).exists()  # only the store's mark says an embed began
    svc.close()
    rc, _, err = run(db, "ingest", str(corpus), environ=e)  # the same command as before, with embedding on
    assert rc == 0, err
    status = json.loads(run(db, "embed", "--status", environ=e)[1])
    assert status["pending"] == 0 and status["stale"] == 0, status
