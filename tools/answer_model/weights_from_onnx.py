#!/usr/bin/env python3
"""Recover ``weights.npz`` (train.py's layout: BERT tensor names plus ``head.*``) from the shipped int8 model.

The shipped ``answer-model.int8.onnx`` is all that is kept of a training run; this reads its quantised
tensors back (``(q - zero_point) · scale``, per output channel), splits the fused query/key/value weights
and transposes every matrix to PyTorch's (out, in) layout, so that ``train.py --init`` can continue from
the shipped model. The word-embedding table is taken from the source model (training never changes it).

    python tools/answer_model/weights_from_onnx.py --model src/medcite/models/answer-model.int8.onnx \
        --out /tmp/shipped/weights.npz

The script checks itself: the float32 graph rebuilt from the recovered tensors must score pairs like the
int8 model (the difference is the quantisation's, below 1 logit).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def dequantize(init: dict[str, np.ndarray], name: str) -> np.ndarray:
    q = init[f"{name}_quantized"].astype(np.float32)
    scale, zero = init[f"{name}_scale"].astype(np.float32), init[f"{name}_zero_point"].astype(np.float32)
    if scale.ndim == 1 and q.ndim == 2 and scale.shape[0] == q.shape[1]:  # per output channel (columns)
        return (q - zero[None, :]) * scale[None, :]
    return (q - zero) * scale


def recover(model_path: Path) -> dict[str, np.ndarray]:
    import onnx
    from onnx import numpy_helper

    from medcite.index.embedders import _read_source, find_source

    graph = onnx.load(str(model_path)).graph
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    source, cfg, _ = _read_source(find_source())
    H = cfg["hidden_size"]
    e = "embeddings."
    out: dict[str, np.ndarray] = {
        e + "word_embeddings.weight": np.asarray(source[e + "word_embeddings.weight"], np.float32),
        e + "position_embeddings.weight": init["pos_emb"].astype(np.float32),
        e + "token_type_embeddings.weight": dequantize(init, "type_emb"),
        e + "LayerNorm.weight": init["emb_g"], e + "LayerNorm.bias": init["emb_b"],
        "head.weight": dequantize(init, "head_w").T.copy(), "head.bias": init["head_b"].reshape(1),
    }
    for i in range(sum(1 for name in init if name.startswith("l") and name.endswith("_qkv_b"))):
        s, p = f"l{i}_", f"encoder.layer.{i}."
        qkv_w, qkv_b = dequantize(init, s + "qkv_w"), init[s + "qkv_b"]
        for j, k in enumerate(("query", "key", "value")):
            out[p + f"attention.self.{k}.weight"] = qkv_w[:, j * H:(j + 1) * H].T.copy()
            out[p + f"attention.self.{k}.bias"] = qkv_b[j * H:(j + 1) * H].copy()
        for ours, theirs in (("ao", "attention.output.dense"), ("fi", "intermediate.dense"), ("fo", "output.dense")):
            out[p + theirs + ".weight"] = dequantize(init, s + ours + "_w").T.copy()
            out[p + theirs + ".bias"] = init[s + ours + "_b"]
        for ours, theirs in (("ln1", "attention.output.LayerNorm"), ("ln2", "output.LayerNorm")):
            out[p + theirs + ".weight"], out[p + theirs + ".bias"] = init[s + ours + "_g"], init[s + ours + "_b"]
    return {k: np.asarray(v, np.float32) for k, v in out.items()}


def rebuilt_and_int8_logits(weights: dict[str, np.ndarray], model_path: Path, question: str,
                            candidates: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The logits of the float32 graph rebuilt from ``weights`` and of the int8 model at ``model_path`` (its
    tokenizer beside it) for ``question`` against each candidate."""
    import tempfile

    import onnx

    from medcite.answer.model import TOKENIZER_FILE, CrossEncoderModel
    from medcite.index.embedders import _read_source, build_bert_onnx, find_source

    _, cfg, _ = _read_source(find_source())
    tok = model_path.parent / TOKENIZER_FILE
    questions = [question] * len(candidates)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        onnx.save(build_bert_onnx(weights, cfg, cross_encoder=True), str(fp32))
        rebuilt = CrossEncoderModel(fp32, tok, (1.0, 0.0)).logits(questions, candidates)
    return rebuilt, CrossEncoderModel(model_path, tok, (1.0, 0.0)).logits(questions, candidates)


def main(argv: list[str] | None = None) -> int:
    from medcite.answer.model import MODEL_DIR, MODEL_FILE

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=MODEL_DIR / MODEL_FILE)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    weights = recover(args.model)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, **weights)
    a, b = rebuilt_and_int8_logits(
        weights, args.model, "Can a man who takes nitroglycerin use sildenafil?",
        ["Administration of VIAGRA to patients who are using organic nitrates is contraindicated.",
         "Plasma levels of sildenafil at 24 hours post dose are approximately 2 ng/mL.",
         "Take this medicine with food.", "Nitrates are used to treat angina."])
    diff = float(np.abs(a - b).max())
    print("float32", np.round(a, 2), "int8", np.round(b, 2))
    print(f"wrote {args.out}: {len(weights)} tensors; rebuilt float32 vs int8 logits, max difference {diff:.3f}")
    return 0 if diff < 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
