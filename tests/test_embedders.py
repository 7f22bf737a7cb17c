"""Embedders: ONNX (prepared into a temp dir), hashing, and OpenAI-compatible via MockTransport."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from medcite.errors import EmbeddingError
from medcite.index.embedders import Embedder, HashingEmbedder, OpenAIEmbedder

TEXTS = [
    "Low-dose aspirin reduces the risk of myocardial infarction.",
    "Metformin is first-line therapy for type 2 diabetes.",
    "",
    "Aspirin lowers the risk of heart attack. " * 40,  # longer than max_length: truncated
]


def _unit_rows(x: np.ndarray) -> bool:
    return bool(np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-4))


# ------------------------------------------------------------------------- ONNX


@pytest.fixture(scope="module")
def onnx_embedder(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tokenizers")
    pytest.importorskip("onnx")
    from medcite.index.embedders import OnnxEmbedder, find_source

    try:
        find_source()
    except EmbeddingError as exc:
        pytest.skip(str(exc))
    return OnnxEmbedder(tmp_path_factory.mktemp("models") / "minilm", max_length=64, batch_size=2, threads=2)


def test_onnx_shape_normalised_and_deterministic(onnx_embedder):
    emb = onnx_embedder
    assert isinstance(emb, Embedder)
    assert emb.dim == 384 and "int8pc" in emb.id and "len64" in emb.id
    a = emb.embed(TEXTS)
    assert a.shape == (len(TEXTS), 384) and a.dtype == np.float32
    assert _unit_rows(a)
    assert np.array_equal(a, emb.embed(TEXTS))
    assert emb.embed([]).shape == (0, 384)


def test_onnx_order_restored_and_query_matches_batch(onnx_embedder):
    emb = onnx_embedder
    a = emb.embed(TEXTS)
    b = emb.embed(TEXTS[::-1])[::-1]
    assert np.allclose(a, b, atol=1e-5)  # sorting by length inside embed() must not leak
    q = emb.embed_query(TEXTS[0])
    assert q.shape == (384,) and q.dtype == np.float32
    assert np.allclose(q, emb.embed([TEXTS[0]])[0], atol=1e-6)
    # int8 activations are quantised per batch, so batch-mates move a vector slightly
    assert float(q @ a[0]) > 0.98


def test_onnx_semantics(onnx_embedder):
    v = onnx_embedder.embed(["heart attack prevention with aspirin", TEXTS[0], TEXTS[1]])
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def test_onnx_reuses_prepared_cache(onnx_embedder):
    from medcite.index.embedders import OnnxEmbedder

    again = OnnxEmbedder(onnx_embedder.model_dir, max_length=64)
    assert np.allclose(again.embed(TEXTS[:2]), onnx_embedder.embed(TEXTS[:2]), atol=1e-5)


# ---------------------------------------------------------------------- Hashing


def test_hashing_embedder():
    emb = HashingEmbedder()
    assert emb.id == "hashing/256" and emb.dim == 256 and isinstance(emb, Embedder)
    a = emb.embed(TEXTS[:2] + ["aspirin"])
    assert a.shape == (3, 256) and a.dtype == np.float32 and _unit_rows(a)
    assert np.array_equal(a, HashingEmbedder().embed(TEXTS[:2] + ["aspirin"]))
    q = emb.embed_query("low-dose aspirin myocardial infarction")
    assert q.shape == (256,) and q @ a[0] > q @ a[1]
    assert HashingEmbedder(64).embed(["x"]).shape == (1, 64)
    assert _unit_rows(emb.embed(["", "!!"]))  # no words still gives a unit vector


# ----------------------------------------------------------------------- OpenAI


def _server(dim: int = 3, status: int = 200, calls: list | None = None):
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if calls is not None:
            calls.append((str(request.url), request.headers.get("authorization"), body))
        if status != 200:
            return httpx.Response(status, text="model not loaded")
        data = [{"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0] + [0.0] * (dim - 2)}
                for i, t in enumerate(body["input"])]
        return httpx.Response(200, json={"object": "list", "data": data[::-1], "model": body["model"]})

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_openai_orders_by_index_normalises_and_batches():
    calls: list = []
    emb = OpenAIEmbedder("http://llm.local/v1/", "bge-small", api_key="sk-x", batch_size=2,
                         client=_server(calls=calls))
    assert emb.id == "openai:bge-small"
    texts = ["a", "bbb", "cc", "dddd", "e"]
    out = emb.embed(texts)
    assert out.shape == (5, 3) and out.dtype == np.float32 and _unit_rows(out)
    expected = np.array([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(out, expected)
    assert [len(c[2]["input"]) for c in calls] == [2, 2, 1]
    url, auth, body = calls[0]
    assert url == "http://llm.local/v1/embeddings" and auth == "Bearer sk-x" and body["model"] == "bge-small"
    assert emb.dim == 3
    assert emb.embed_query("hello").shape == (3,)


def test_openai_dim_discovered_from_first_response():
    emb = OpenAIEmbedder("http://llm.local/v1", "m", client=_server(dim=5))
    assert emb.dim == 5


def test_openai_http_error_is_clear():
    emb = OpenAIEmbedder("http://llm.local/v1", "bge-small", client=_server(status=500))
    with pytest.raises(EmbeddingError) as info:
        emb.embed(["x"])
    msg = str(info.value)
    assert "HTTP 500" in msg and "http://llm.local/v1/embeddings" in msg and "bge-small" in msg


def test_openai_unreachable_and_dimension_change():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    emb = OpenAIEmbedder("http://nowhere/v1", "m", client=httpx.Client(transport=httpx.MockTransport(refuse)))
    with pytest.raises(EmbeddingError, match="unreachable"):
        emb.embed(["x"])
    emb = OpenAIEmbedder("http://llm.local/v1", "m", client=_server(dim=4), dim=3)
    with pytest.raises(EmbeddingError, match="dimension 4"):
        emb.embed(["x"])


def test_a_second_cache_folder_gets_a_copy_not_a_rebuild(onnx_embedder, tmp_path, monkeypatch) -> None:
    from medcite.index import embedders

    first = onnx_embedder.model_dir

    def no_build(*_a, **_k):
        raise AssertionError("the model was built again")

    monkeypatch.setattr(embedders, "_read_source", no_build)
    second = embedders.prepare_model(tmp_path / "other")
    assert second != first
    for name in ("model.int8.onnx", "tokenizer.json", "model.int8.onnx.json"):
        assert (second / name).read_bytes() == (first / name).read_bytes()
    assert not list(second.glob(".prepare-*"))


def test_embed_threads_setting_reaches_the_onnx_session(onnx_embedder, tmp_path) -> None:
    from medcite.index.registry import make_embedder
    from medcite.settings import Settings

    emb = make_embedder(Settings(db=tmp_path / "m.db", cache_dir=tmp_path / "cache", embed_threads=1))
    assert emb.session.get_session_options().intra_op_num_threads == 1
    assert np.allclose(emb.embed(["aspirin"]), onnx_embedder.embed(["aspirin"]), atol=0.02)
