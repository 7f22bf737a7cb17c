"""The answer model: how likely a candidate sentence answers the question.

``CrossEncoderModel`` is the shipped model (``medcite/models/answer-model.int8.onnx``): all-MiniLM-L6-v2
fine-tuned as a cross-encoder on (question, sentence · heading · title) pairs from BioASQ, MedQuAD,
PubMedQA and medcite's development questions (tools/answer_model has the data recipe, training script
and export), quantised to int8 and calibrated (Platt scaling on held-out questions), so ``score`` returns
a probability. When the file is missing, ``BiEncoderModel`` stands in: the bundled embedder's cosine
between question and sentence, calibrated on the same held-out pairs — weaker, and said so once in the log.

Inference runs with one intra-op thread per process (ONNX Runtime threads fight on small machines; the
web app runs one model per worker).
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from medcite.answer.pairs import candidate_text
from medcite.errors import EmbeddingError

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parent.parent / "models"
MODEL_FILE = "answer-model.int8.onnx"
TOKENIZER_FILE = "answer-tokenizer.json"
META_FILE = "answer-model.json"


class AnswerModel(Protocol):
    id: str

    def score(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        """Calibrated probability, per candidate (``candidate_text`` layout), that it answers the question."""

    def calibrated_logits(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        """The same, as log-odds (``score`` is their sigmoid)."""


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class CrossEncoderModel:
    """The int8 ONNX cross-encoder. ``calibration`` (a, b): probability = sigmoid(a · logit + b)."""

    def __init__(self, model_path: Path, tokenizer_path: Path, calibration: tuple[float, float],
                 max_length: int = 96, threads: int = 1, batch_size: int = 32) -> None:
        try:
            from tokenizers import Tokenizer

            from medcite.index.embedders import onnxruntime

            ort = onnxruntime()  # telemetry off, as for every session medcite creates
        except ImportError as exc:  # pragma: no cover - both are core dependencies
            raise EmbeddingError("the answer model needs onnxruntime and tokenizers",
                                 hint="pip install onnxruntime tokenizers") from exc
        self.id = f"cross-encoder:{Path(model_path).name}"
        self.a, self.b = calibration
        self.batch_size = batch_size
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.enable_truncation(max_length=max_length, strategy="longest_first")
        self.tokenizer.no_padding()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 — a corrupt or incompatible file
            raise EmbeddingError(f"cannot load the answer model {model_path}: {exc}",
                                 hint="reinstall medcite, or rebuild the model with tools/answer_model") from exc

    def logits(self, questions: Sequence[str], candidates: Sequence[str]) -> np.ndarray:
        if not candidates:
            return np.zeros(0, dtype=np.float64)
        encs = self.tokenizer.encode_batch([(" ".join(q.split()[:40]), c) for q, c in zip(questions, candidates)])
        order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))
        out = np.empty(len(encs), dtype=np.float64)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start: start + self.batch_size]
            width = max(len(encs[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            types, mask = np.zeros_like(ids), np.zeros_like(ids)
            for row, i in enumerate(chunk):
                e = encs[i]
                ids[row, : len(e.ids)] = e.ids
                types[row, : len(e.ids)] = e.type_ids
                mask[row, : len(e.ids)] = 1
            res = self.session.run(None, {"input_ids": ids, "token_type_ids": types, "attention_mask": mask})[0]
            out[chunk] = res.reshape(-1)
        return out

    def calibrated_logits(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        return self.a * self.logits([question] * len(candidates), candidates) + self.b

    def score(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        return _sigmoid(self.calibrated_logits(question, candidates))


class BiEncoderModel:
    """Fallback: the bundled embedder's cosine similarity, calibrated like the cross-encoder."""

    def __init__(self, embedder, calibration: tuple[float, float]) -> None:
        self.embedder = embedder
        self.a, self.b = calibration
        self.id = f"bi-encoder:{getattr(embedder, 'id', 'embedder')}"

    def calibrated_logits(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        if not candidates:
            return np.zeros(0, dtype=np.float64)
        cos = self.embedder.embed(list(candidates)) @ self.embedder.embed_query(question)
        return self.a * cos.astype(np.float64) + self.b

    def score(self, question: str, candidates: Sequence[str]) -> np.ndarray:
        return _sigmoid(self.calibrated_logits(question, candidates))


def model_meta(folder: Path = MODEL_DIR) -> dict:
    try:
        return json.loads((folder / META_FILE).read_text())
    except (OSError, ValueError):
        return {}


@lru_cache(maxsize=4)
def load_answer_model(folder: str | None = None, threads: int = 1) -> AnswerModel:
    """The shipped cross-encoder, or the bi-encoder fallback (with a logged warning) when it is missing."""
    path = Path(folder) if folder else MODEL_DIR
    meta = model_meta(path)
    cal = meta.get("calibration") or {}
    if (path / MODEL_FILE).is_file() and (path / TOKENIZER_FILE).is_file() and cal:
        return CrossEncoderModel(path / MODEL_FILE, path / TOKENIZER_FILE, (cal["a"], cal["b"]),
                                 max_length=int(meta.get("max_length", 96)), threads=threads)
    from medcite.index.embedders import OnnxEmbedder

    log.warning("answer model %s not found: ranking sentences with the bundled bi-encoder instead (weaker); "
                "reinstall medcite or rebuild the model with tools/answer_model", path / MODEL_FILE)
    # (a folder without the model has no calibration of its own: the shipped model's record has the fallback's)
    fb = meta.get("fallback_calibration") or model_meta().get("fallback_calibration") or {"a": 12.0, "b": -6.0}
    return BiEncoderModel(OnnxEmbedder(threads=threads), (fb["a"], fb["b"]))


__all__ = ["AnswerModel", "BiEncoderModel", "CrossEncoderModel", "candidate_text", "load_answer_model", "model_meta"]
