"""Adversarial: kill -9 at any moment of ingest, index build and embed, then the same command again — stats and
search as after a clean run, no orphan process, no leftover temp folder (issue 13, item 7)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import pytest

from faultlib import cli, descendants, env, leftovers, run, snapshot, wait_gone, write_corpus

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")]

QUERIES = ("asthma inhaled corticosteroid", "warfarin bleeding", "colonoscopy screening")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # small enough for a 2-core machine; the parse worker of a large file is killed in test_adv_store_faults
    folder = tmp_path_factory.mktemp("kill") / "corpus"
    for n in range(4):
        write_corpus(folder, 100, seed=n, name=f"part{n}.jsonl")
    return folder


@pytest.fixture(scope="module")
def clean(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("clean")
    rc, _, err = run(tmp / "m.db", "ingest", str(corpus), environ=env(tmp))
    assert rc == 0, err
    return snapshot(tmp / "m.db", env(tmp), QUERIES)


def _after(seconds: float) -> Callable[[int, Path], bool]:
    started = time.monotonic()
    return lambda pid, folder: time.monotonic() - started >= seconds


def _index_building(pid: int, folder: Path) -> bool:
    return any(".building-" in p.name for p in folder.iterdir())


def _kill_when(db: Path, args: tuple[str, ...], environ: dict, moment: Callable[[int, Path], bool]) -> bool:
    """Start ``medcite ARGS``, kill -9 it when ``moment`` holds; True when it was killed (not already done).
    Asserts that no process it started outlives it by more than 2 s."""
    proc = cli(db, *args, environ=environ)
    children: set[int] = set()
    while proc.poll() is None and not moment(proc.pid, db.parent):
        children.update(descendants(proc.pid))
        time.sleep(0.01)
    children.update(descendants(proc.pid))
    killed = proc.poll() is None
    proc.kill()
    proc.communicate()
    assert wait_gone(sorted(children), 2.0) == [], "a process outlived the killed command"
    return killed


MOMENTS = {
    "0.5s": lambda: _after(0.5),
    "1.2s": lambda: _after(1.2),
    "2s": lambda: _after(2.0),
    "index build": lambda: _index_building,
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_ingest_killed_then_run_again_equals_a_clean_run(moment: str, corpus: Path, clean: dict,
                                                         tmp_path: Path) -> None:
    db, e = tmp_path / "m.db", env(tmp_path)
    killed = _kill_when(db, ("ingest", str(corpus)), e, MOMENTS[moment]())
    rc, _, err = run(db, "ingest", str(corpus), environ=e)
    assert rc == 0, err
    assert leftovers(tmp_path) == []
    assert snapshot(db, e, QUERIES) == clean
    if moment == "index build":
        assert killed, "the ingest finished before its index build could be interrupted"


def test_ingest_killed_during_the_index_build_leaves_search_fast(corpus: Path, tmp_path: Path) -> None:
    """The same command repairs the index: the first search after it does not rebuild."""
    db, e = tmp_path / "m.db", env(tmp_path)
    assert _kill_when(db, ("ingest", str(corpus)), e, _index_building)
    assert run(db, "ingest", str(corpus), environ=e)[0] == 0
    rc, out, _ = run(db, "search", QUERIES[0], "--json", "--explain", environ=e)
    assert rc == 0
    from medcite.index.tantivy_index import SIDECAR

    assert (tmp_path / "m.db.tantivy" / SIDECAR).exists()


@pytest.mark.parametrize("delay", [1.0, 2.0])
def test_embed_killed_then_run_again_embeds_every_passage_once(delay: float, corpus: Path, tmp_path: Path) -> None:
    db, e = tmp_path / "m.db", env(tmp_path, MEDCITE_EMBEDDER="hashing")
    rc, _, err = run(db, "ingest", "--no-embed", str(corpus), environ=e)
    assert rc == 0, err
    _kill_when(db, ("embed",), e, _after(delay))
    rc, _, err = run(db, "embed", environ=e)
    assert rc == 0, err
    rc, out, err = run(db, "embed", "--status", environ=e)
    status = json.loads(out)
    assert status["pending"] == 0 and status["stale"] == 0 and status["embedded"] == status["passages"], status
    assert leftovers(tmp_path) == []
    manifest = json.loads((tmp_path / "m.db.vectors.json").read_text())
    on_disk = sorted(p.name for p in tmp_path.glob("m.db.vectors.g*"))
    assert on_disk == sorted(manifest["files"].values())  # no generation a killed save left behind


def test_ingest_with_embed_killed_while_embedding_is_finished_by_the_same_command(corpus: Path,
                                                                                   tmp_path: Path) -> None:
    db, e = tmp_path / "m.db", env(tmp_path, MEDCITE_EMBEDDER="hashing")
    assert _kill_when(db, ("ingest", str(corpus)), e,
                      lambda pid, folder: (folder / "m.db.vectors.json").exists())
    rc, _, err = run(db, "ingest", str(corpus), environ=e)
    assert rc == 0, err
    status = json.loads(run(db, "embed", "--status", environ=e)[1])
    assert status["pending"] == 0 and status["stale"] == 0, status
    assert leftovers(tmp_path) == []
