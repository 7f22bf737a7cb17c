"""`--ray`: parsing and embedding on a local 2-CPU Ray cluster give what a plain ingest and embed give.

The cluster starts once for the module (about 15 s on two busy cores). Without the ray package these tests
skip on a developer's machine and fail in CI (``CI=true``), where `make test` installs medcite[ray].
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from medcite.errors import ConfigError
from medcite.service import Medcite
from medcite.settings import Settings

FIXTURES = Path(__file__).resolve().parent / "fixtures"
QUERIES = ("aspirin myocardial infarction", "breast cancer screening", "hereditary disease genes",
           "drug label dosage warnings", "randomized trial outcome")

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def ray_runtime():
    try:
        import ray
    except ImportError:
        message = "the ray package is not installed: pip install -e '.[ray]' (make test installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             object_store_memory=256 * 1024 * 1024)
    yield ray
    ray.shutdown()


def _service(tmp_path: Path, name: str, **kw) -> Medcite:
    settings = Settings(db=tmp_path / f"{name}.db", cache_dir=tmp_path / "cache", progress=False,
                        embedder=kw.pop("embedder", "none"), ray_workers=2, **kw)
    return Medcite(settings)


def _stats(svc: Medcite) -> dict:
    data = svc.stats()
    data.pop("db")
    return data


def test_ingest_on_ray_gives_the_stats_and_search_results_of_a_plain_ingest(ray_runtime, tmp_path) -> None:
    plain, on_ray = _service(tmp_path, "plain"), _service(tmp_path, "ray")
    try:
        expected = plain.ingest([FIXTURES])
        got = on_ray.ingest([FIXTURES], ray=True)
        assert expected.added > 30
        for field in ("files", "files_failed", "added", "updated", "unchanged", "deleted", "passages"):
            assert getattr(got, field) == getattr(expected, field), field
        assert got.errors == expected.errors  # the same broken files and records, in the same order
        assert _stats(on_ray) == _stats(plain)
        rows = "SELECT id, passage_id, doc_id, text FROM passages ORDER BY id"
        assert [tuple(r) for r in on_ray.store.conn.execute(rows)] == [tuple(r) for r in plain.store.conn.execute(rows)]
        for q in QUERIES:
            a, b = plain.search(q, k=10), on_ray.search(q, k=10)
            assert a.hits, q
            assert [(h.passage_id, round(h.score, 6)) for h in b.hits] == [(h.passage_id, round(h.score, 6)) for h in a.hits]
        # a second run over the same files does on Ray what it does at home
        expected, got = plain.ingest([FIXTURES]), on_ray.ingest([FIXTURES], ray=True)
        assert (got.added, got.updated, got.unchanged) == (expected.added, expected.updated, expected.unchanged)
        assert _stats(on_ray) == _stats(plain)
    finally:
        plain.close()
        on_ray.close()


def test_the_cli_ingests_with_ray(ray_runtime, tmp_path, runner) -> None:
    from medcite.cli import app

    env = {"MEDCITE_EMBEDDER": "none", "MEDCITE_PROGRESS": "false"}
    res = runner.invoke(app, ["--db", str(tmp_path / "cli.db"), "ingest", "--ray", "--ray-workers", "2",
                              str(FIXTURES / "medquad"), str(FIXTURES / "ngc")], env=env)
    assert res.exit_code == 0, res.output
    assert "0 updated" in res.output and "added" in res.output


def test_embed_on_ray_gives_the_vectors_of_a_plain_embed(ray_runtime, tmp_path) -> None:
    try:
        from medcite.index.embedders import find_source

        find_source()
    except Exception as exc:  # noqa: BLE001 — the model package is installed by make setup
        pytest.skip(f"embedding model not installed: {exc}")
    plain = _service(tmp_path, "plain", embedder="onnx-minilm")
    on_ray = _service(tmp_path, "ray", embedder="onnx-minilm")
    try:
        for svc in (plain, on_ray):
            svc.ingest([FIXTURES])
        expected = plain.embed()
        got = on_ray.embed(ray=True)
        assert got["embedded"] == expected["embedded"] > 50
        a, b = _vectors(plain), _vectors(on_ray)
        assert a.keys() == b.keys()
        cosines = np.array([float(a[k] @ b[k]) for k in a])
        assert cosines.min() >= 0.999, (cosines.min(), cosines.argmin())
        # the index a Ray embed wrote is the one search loads
        hits = on_ray.retrieve("aspirin and heart attack", 5, mode="dense").hits
        assert hits and hits[0].passage_id in a
    finally:
        plain.close()
        on_ray.close()


def _vectors(svc: Medcite) -> dict[str, np.ndarray]:
    """passage id → its vector, from the index on disk."""
    _, index = svc.dense_components()
    names = dict(svc.open_existing().conn.execute("SELECT id, passage_id FROM passages"))
    ids, vecs = index.vectors_of(index.ids())
    return {names[int(i)]: np.asarray(v, dtype=np.float32) for i, v in zip(ids, vecs)}


def test_without_ray_the_message_names_the_extra(monkeypatch, tmp_path, runner) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    svc = _service(tmp_path, "none")
    try:
        with pytest.raises(ConfigError) as err:
            svc.ingest([FIXTURES / "ngc"], ray=True)
        assert "pip install 'medcite[ray]'" in str(err.value)
    finally:
        svc.close()
    from medcite.cli import app

    res = runner.invoke(app, ["--db", str(tmp_path / "cli.db"), "ingest", "--ray", str(FIXTURES / "ngc")],
                        env={"MEDCITE_EMBEDDER": "none"})
    assert res.exit_code != 0
    assert "medcite[ray]" in " ".join(res.output.split())
