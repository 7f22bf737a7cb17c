"""The vector index: add/search/remove/replace, persistence, corruption, embedder mismatch, HNSW recall."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medcite.errors import ConfigError, IndexMissingError, ReindexRequired
from medcite.index.vector import (
    ExactIndex,
    HnswIndex,
    VectorIndex,
    default_index_path,
    manifest_path,
    open_vector_index,
    read_manifest,
)

DIM = 64


def unit(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    vecs = unit(3000)
    ids = np.arange(3000, dtype=np.int64) * 7 + 100  # sparse, not starting at 0
    return ids, vecs


KINDS = [ExactIndex, pytest.param(HnswIndex, id="hnsw")]


def brute(ids: np.ndarray, vecs: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    s = vecs @ q
    return ids[np.argsort(-s, kind="stable")[:k]]


@pytest.mark.parametrize("cls", KINDS)
def test_add_search_remove_replace(tmp_path: Path, data, cls) -> None:
    ids, vecs = data
    ix = cls.open(tmp_path / "v", DIM)
    assert isinstance(ix, VectorIndex)
    assert len(ix) == 0
    got, scores = ix.search(vecs[0], 10)
    assert got.shape == (0,) and scores.shape == (0,)
    ix.add(ids, vecs)
    assert len(ix) == 3000
    assert set(ix.ids().tolist()) == set(ids.tolist())

    got, scores = ix.search(vecs[10], 10)
    assert got.dtype == np.int64 and scores.dtype == np.float32
    assert got[0] == ids[10] and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert np.all(np.diff(scores) <= 1e-7), "best first"
    assert len(got) == 10 and len(set(got.tolist())) == 10

    # removal: never comes back, however deep we search
    ix.remove([int(ids[10]), int(ids[11]), 123456789])  # unknown ids are ignored
    assert len(ix) == 2998
    for q in (vecs[10], vecs[11]):
        got, _ = ix.search(q, 100)
        assert ids[10] not in got and ids[11] not in got
    everything, _ = ix.search(vecs[3], 5000)
    assert len(everything) == 2998 and ids[10] not in everything

    # replace: re-adding an id moves it to its new vector; there is only one copy
    ix.add(np.array([ids[20]]), vecs[30:31])
    assert len(ix) == 2998
    got_ids, got_vecs = ix.vectors_of([int(ids[20])])
    assert got_ids.tolist() == [int(ids[20])] and np.allclose(got_vecs[0], vecs[30])
    got, scores = ix.search(vecs[30], 2)
    assert scores[0] == pytest.approx(1.0, abs=1e-5) and int(got[0]) in {int(ids[20]), int(ids[30])}
    if cls is ExactIndex:
        # exact search sees both copies of the vector; an HNSW graph may hide one of two identical
        # vectors behind the other (neighbour pruning treats distance 0 as redundant), so only the
        # exact index promises both
        assert set(got.tolist()) == {int(ids[20]), int(ids[30])}
    got, _ = ix.search(vecs[20], 50)
    assert ids[20] not in got[:1]
    assert sorted(ix.ids().tolist()) == sorted(set(ids.tolist()) - {int(ids[10]), int(ids[11])})

    # a removed id can be added back
    ix.add(np.array([ids[10]]), vecs[10:11])
    got, _ = ix.search(vecs[10], 1)
    assert got[0] == ids[10]
    # repeated ids in one batch: the last one wins
    ix.add(np.array([5, 5]), np.stack([vecs[40], vecs[41]]))
    got, _ = ix.search(vecs[41], 2)
    assert 5 in got.tolist()
    assert ix.ids().tolist().count(5) == 1


@pytest.mark.parametrize("cls", KINDS)
def test_results_match_brute_force(tmp_path: Path, data, cls) -> None:
    ids, vecs = data
    ix = cls.open(tmp_path / "v", DIM)
    ix.add(ids, vecs)
    ix.remove(ids[::3].tolist())
    keep = np.ones(len(ids), bool)
    keep[::3] = False
    queries = unit(20, seed=5)
    hits = 0
    for q in queries:
        got, scores = ix.search(q, 10)
        want = brute(ids[keep], vecs[keep], q, 10)
        hits += len(set(got.tolist()) & set(want.tolist()))
        np.testing.assert_allclose(scores, vecs[np.searchsorted(ids, got)] @ q, atol=1e-5)  # exact cosines
    assert hits / (10 * len(queries)) >= (1.0 if cls is ExactIndex else 0.95)


@pytest.mark.parametrize("cls", KINDS)
def test_persistence_round_trip_and_deletions(tmp_path: Path, data, cls) -> None:
    ids, vecs = data
    path = tmp_path / "medcite.db.vectors"
    ix = cls.open(path, DIM, embedder_id="emb-1")
    ix.add(ids, vecs)
    ix.remove([int(ids[1]), int(ids[2])])
    ix.add(np.array([ids[3]]), vecs[4:5])
    ix.save()
    m = read_manifest(path)
    assert m is not None and m["count"] == 2998 and m["dim"] == DIM
    assert m["embedder_id"] == "emb-1" and m["kind"] == cls.kind

    again = cls.open(path, DIM, embedder_id="emb-1")
    assert len(again) == 2998
    assert ids[1] not in again.ids() and ids[2] not in again.ids()
    got, _ = again.search(vecs[1], 50)
    assert ids[1] not in got
    got, scores = again.search(vecs[4], 2)
    assert set(got.tolist()) == {int(ids[3]), int(ids[4])}
    assert scores[0] == pytest.approx(1.0, abs=1e-5)

    # incremental update of a loaded (memory-mapped) index, then save again
    again.remove([int(ids[5])])
    again.add(np.array([999_999]), vecs[6:7])
    again.save()
    third = cls.open(path, DIM)
    assert len(third) == 2998
    assert ids[5] not in third.ids() and 999_999 in third.ids()
    assert third.embedder_id == "emb-1"
    # only the newest generation's files remain
    names = sorted(p.name for p in tmp_path.iterdir())
    assert all(".g2." in n or n.endswith(".json") for n in names), names


def test_save_without_changes_is_a_no_op(tmp_path: Path, data) -> None:
    ids, vecs = data
    ix = ExactIndex.open(tmp_path / "v", DIM)
    ix.add(ids[:10], vecs[:10])
    ix.save()
    before = read_manifest(tmp_path / "v")
    ix.save()
    assert read_manifest(tmp_path / "v")["generation"] == before["generation"]


def test_empty_index_round_trip(tmp_path: Path) -> None:
    ix = ExactIndex.open(tmp_path / "v", DIM)
    ix.add(np.array([1]), unit(1))
    ix.remove([1])
    ix.save()
    again = ExactIndex.open(tmp_path / "v", DIM)
    assert len(again) == 0 and again.search(unit(1)[0], 5)[0].shape == (0,)


@pytest.mark.parametrize("cls", KINDS)
def test_corrupt_or_truncated_files(tmp_path: Path, data, cls) -> None:
    ids, vecs = data
    path = tmp_path / "v"
    ix = cls.open(path, DIM)
    ix.add(ids[:500], vecs[:500])
    ix.save()
    m = read_manifest(path)
    for role, fname in m["files"].items():
        f = tmp_path / fname
        original = f.read_bytes()
        f.write_bytes(original[: len(original) // 2])  # truncated
        with pytest.raises(IndexMissingError, match="medcite embed --rebuild"):
            cls.open(path, DIM)
        f.write_bytes(b"\x00garbage" * (len(original) // 8) + b"\x00" * (len(original) % 8))  # same size, bad bytes
        with pytest.raises(IndexMissingError):
            cls.open(path, DIM)
        f.unlink()
        with pytest.raises(IndexMissingError, match="missing"):
            cls.open(path, DIM)
        f.write_bytes(original)
    assert len(cls.open(path, DIM)) == 500

    mp = manifest_path(path)
    mp.write_text("{not json")
    with pytest.raises(IndexMissingError, match="medcite embed --rebuild"):
        open_vector_index(path, DIM)
    mp.write_text(json.dumps({"format": "medcite-vectors", "version": 1}))
    with pytest.raises(IndexMissingError):
        cls.open(path, DIM)


def test_embedder_mismatch_requires_reindex(tmp_path: Path, data) -> None:
    ids, vecs = data
    path = tmp_path / "v"
    ix = open_vector_index(path, DIM, embedder_id="model-a")
    ix.add(ids[:10], vecs[:10])
    ix.save()
    assert len(open_vector_index(path, DIM, embedder_id="model-a")) == 10
    with pytest.raises(ReindexRequired) as err:
        open_vector_index(path, DIM, embedder_id="x")
    assert "medcite reindex" in str(err.value) and err.value.hint == "run `medcite reindex`"
    with pytest.raises(ReindexRequired):
        ExactIndex.open(path, DIM, embedder_id="x")
    with pytest.raises(ReindexRequired):  # another dimension is another embedder too
        open_vector_index(path, 32, embedder_id="model-a")


def test_auto_kind_switches_on_save(tmp_path: Path, data) -> None:
    ids, vecs = data
    path = tmp_path / "v"
    ix = open_vector_index(path, DIM, ann_threshold=1000)
    assert isinstance(ix, ExactIndex)
    ix.add(ids[:500], vecs[:500])
    ix.save()
    assert read_manifest(path)["kind"] == "exact"
    ix = open_vector_index(path, DIM, ann_threshold=1000)
    assert isinstance(ix, ExactIndex)
    ix.add(ids[500:1500], vecs[500:1500])
    ix.save()  # crosses the threshold: the graph is built from the stored vectors
    m = read_manifest(path)
    assert m["kind"] == "hnsw" and "graph" in m["files"] and m["count"] == 1500
    hn = open_vector_index(path, DIM, ann_threshold=1000)
    assert isinstance(hn, HnswIndex) and len(hn) == 1500
    got, _ = hn.search(vecs[1200], 1)
    assert got[0] == ids[1200]
    # explicit kinds win over the count
    assert isinstance(open_vector_index(path, DIM, kind="exact"), ExactIndex)
    # stays HNSW a little below the threshold (hysteresis), turns exact well below it
    hn.remove(ids[:600].tolist())
    hn.save()
    assert isinstance(open_vector_index(path, DIM, ann_threshold=1000), HnswIndex)
    hn.remove(ids[600:1200].tolist())
    hn.save()
    ex = open_vector_index(path, DIM, ann_threshold=1000)
    assert isinstance(ex, ExactIndex) and len(ex) == 300
    with pytest.raises(ConfigError):
        open_vector_index(path, DIM, kind="faiss")


def test_hnsw_opens_an_exact_index(tmp_path: Path, data) -> None:
    ids, vecs = data
    ix = ExactIndex.open(tmp_path / "v", DIM)
    ix.add(ids, vecs)
    ix.save()
    hn = open_vector_index(tmp_path / "v", DIM, kind="hnsw")
    assert isinstance(hn, HnswIndex)
    assert hn.search(vecs[7], 1)[0][0] == ids[7]
    hn.save()
    assert read_manifest(tmp_path / "v")["kind"] == "hnsw"


def test_bad_input_shapes(tmp_path: Path) -> None:
    ix = ExactIndex.open(tmp_path / "v", DIM)
    with pytest.raises(ValueError):
        ix.add(np.array([1, 2]), unit(3))
    with pytest.raises(ValueError):
        ix.add(np.array([1]), unit(1, dim=DIM + 1))
    with pytest.raises(ValueError):
        ix.add(np.array([1]), np.full((1, DIM), np.nan, dtype=np.float32))
    ix.add(np.array([1]), unit(1))
    with pytest.raises(ValueError):
        ix.search(np.ones(DIM + 1, dtype=np.float32), 3)


def test_missing_usearch_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("usearch"):
            raise ImportError("No module named 'usearch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ConfigError, match="usearch==2.26.6"):
        HnswIndex.open(tmp_path / "v", DIM)


def test_default_index_path_is_beside_the_database(tmp_path: Path) -> None:
    assert default_index_path(tmp_path / "medcite.db") == tmp_path / "medcite.db.vectors"


def test_hnsw_recall_at_10(tmp_path: Path) -> None:
    """Random vectors are the hard case for HNSW; real embeddings cluster and do better."""
    n = 20_000
    vecs = unit(n, seed=1)
    ids = np.arange(n, dtype=np.int64)
    hn = HnswIndex.open(tmp_path / "h", DIM)
    hn.add(ids, vecs)
    queries = unit(100, seed=2)
    truth = np.argsort(-(queries @ vecs.T), axis=1)[:, :10]
    recall = np.mean([len(set(hn.search(q, 10)[0].tolist()) & set(t.tolist())) / 10
                      for q, t in zip(queries, truth)])
    print(f"HNSW recall@10 on {n} random vectors: {recall:.3f}")
    assert recall >= 0.95, recall


def test_loading_usearch_then_onnxruntime_does_not_crash_the_process() -> None:
    """`import usearch.index` then `import onnxruntime` is a segmentation fault; the index loads ONNX Runtime
    first, so a process that opens the HNSW index and then runs an ONNX model survives."""
    import subprocess
    import sys

    pytest.importorskip("usearch")
    code = ("from medcite.index.vector import _usearch\n_usearch()\n"
            "from medcite.index.embedders import onnxruntime\nonnxruntime()\nprint('alive')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "alive" in proc.stdout, proc.stderr[-2000:]


def test_hnsw_graph_memory_mapped(tmp_path: Path, data) -> None:
    """vector_mmap: the saved graph is mapped from its file (usearch view), searches as the loaded one does,
    and the first change reads it into memory so add, remove and save still work."""
    ids, vecs = data
    path = tmp_path / "medcite.db.vectors"
    ix = HnswIndex.open(path, DIM, embedder_id="emb-1")
    ix.add(ids, vecs)
    ix.save()
    loaded = open_vector_index(path, DIM, "auto", 1000, embedder_id="emb-1")
    mapped = open_vector_index(path, DIM, "auto", 1000, embedder_id="emb-1", mmap=True)
    assert isinstance(mapped, HnswIndex) and mapped.graph_mapped and not loaded.graph_mapped
    found = 0
    for i in (0, 17, 2999):
        got_m, scores_m = mapped.search(vecs[i], 10)
        got_l, _ = loaded.search(vecs[i], 10)
        assert got_m.tolist() == got_l.tolist()  # the mapped graph searches exactly as the loaded one
        if got_m[0] == ids[i]:
            found += 1
            assert scores_m[0] == pytest.approx(1.0, abs=1e-5)
    # (the graph is approximate: a vector misses itself as first hit in about 3 of 1,000 searches here)
    assert found >= 2
    # changes read the mapped graph into memory first
    mapped.remove([int(ids[0])])
    assert not mapped.graph_mapped
    mapped.add(np.array([5_000_000]), vecs[1:2])
    mapped.save()
    again = HnswIndex.open(path, DIM, mmap=True)
    assert again.graph_mapped and len(again) == 3000
    got, _ = again.search(vecs[1], 2)
    assert set(got.tolist()) == {int(ids[1]), 5_000_000}
    assert int(ids[0]) not in again.search(vecs[0], 10)[0].tolist()


def test_vector_mmap_setting_reaches_the_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medcite.settings import Settings

    monkeypatch.setenv("MEDCITE_VECTOR_MMAP", "true")
    assert Settings(db=tmp_path / "m.db").vector_mmap is True


def test_hnsw_same_vectors_same_graph(tmp_path: Path, data) -> None:
    """Two HNSW indexes given the same vectors in the same order answer every query alike: a small add builds
    the graph on one thread, so its neighbour lists do not depend on how concurrent insertions interleave."""
    ids, vecs = data
    results = []
    for name in ("a", "b"):
        ix = HnswIndex.open(tmp_path / name, DIM)
        ix.add(ids, vecs)
        results.append([ix.search(vecs[i], 10)[0].tolist() for i in range(0, 3000, 10)])
    assert results[0] == results[1]
    assert all(hits[0] == ids[i] for hits, i in zip(results[0], range(0, 3000, 10)))
