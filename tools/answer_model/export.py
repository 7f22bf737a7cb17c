#!/usr/bin/env python3
"""Export the trained answer model to ONNX int8, calibrate it and write the files medcite ships.

    python tools/answer_model/export.py --weights /tmp/answer-model/weights.npz \
        --pairs /tmp/answer-pairs.jsonl --out src/medcite/models

1. builds the cross-encoder graph (``medcite.index.embedders.build_bert_onnx(cross_encoder=True)``),
   quantises it dynamically to int8 (MatMul/Attention weights per channel, the word-embedding Gather per
   tensor) and checks it against the float32 graph;
2. scores the held-out pairs (the 20% of questions never trained on) and fits Platt scaling
   (probability = sigmoid(a · logit + b)) on them; the bundled bi-encoder's cosine is calibrated the same
   way, for the fallback used when the model file is missing;
3. writes ``answer-model.int8.onnx``, ``answer-tokenizer.json`` and ``answer-model.json`` (calibration,
   held-out figures, the data recipe, the seed and the model file's SHA-256).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def load_weights(path: Path) -> dict[str, np.ndarray]:
    if path.suffix == ".npz":
        return dict(np.load(path))
    sys.path.insert(0, str(HERE))
    import torch
    import train

    w, cfg, _ = train.load_source()
    model = train.build_model(w, cfg, 0.0)
    model.load_state_dict(torch.load(path, weights_only=False)["model"])
    return model.export_weights()


def platt(scores: np.ndarray, labels: np.ndarray, iters: int = 200) -> tuple[float, float]:
    """Fit p = sigmoid(a*s + b) by Newton's method on the log loss."""
    a, b = 1.0, 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(a * scores + b)))
        g = np.array([np.sum((p - labels) * scores), np.sum(p - labels)])
        w = p * (1 - p) + 1e-9
        h = np.array([[np.sum(w * scores * scores), np.sum(w * scores)], [np.sum(w * scores), np.sum(w)]])
        step = np.linalg.solve(h + 1e-6 * np.eye(2), g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-7:
            break
    return float(a), float(b)


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    pos = labels == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / max(1, n_pos * n_neg))


def figures(scores: np.ndarray, labels: np.ndarray, probs: np.ndarray, sources: list[str]) -> dict:
    out = {"pairs": int(len(labels)), "auc": round(auc(scores, labels), 4),
           "accuracy@0.5": round(float(((probs >= 0.5) == (labels == 1)).mean()), 4),
           "log_loss": round(float(-np.mean(labels * np.log(probs + 1e-9) + (1 - labels) * np.log(1 - probs + 1e-9))), 4)}
    for src in sorted(set(sources)):
        m = np.array([s == src for s in sources])
        out[f"auc[{src}]"] = round(auc(scores[m], labels[m]), 4)
    return out


#: what a distilled student takes over from its teacher's record: the combiner and thresholds fitted on the
#: teacher's scores (tools/answer_model/fit_combiner.py) hold for a student that reproduces them
TEACHER_KEYS = ("calibration", "combiner", "answer_prob", "section_prob", "threshold_balanced_accuracy",
                "asked_for_fact_among_candidates", "fallback")


def distilled_meta(meta: dict, teacher_dir: Path, held: list[dict], logits: np.ndarray) -> dict:
    """``meta`` of a student distilled from the model in ``teacher_dir``: the teacher's calibration, combiner and
    thresholds, its own Platt fit kept as ``own_calibration``, and how closely it follows the teacher on the
    held-out pairs (``distilled_from``)."""
    from medcite.answer.model import TOKENIZER_FILE, CrossEncoderModel, model_meta

    tmeta = model_meta(teacher_dir)
    teacher = CrossEncoderModel(teacher_dir / tmeta["file"], teacher_dir / TOKENIZER_FILE, (1.0, 0.0), threads=2)
    t = teacher.logits([r["question"] for r in held], [r["candidate"] for r in held])
    d = np.abs(t - logits)
    out = {**meta, "own_calibration": meta["calibration"], **{k: tmeta[k] for k in TEACHER_KEYS if k in tmeta}}
    out["distilled_from"] = {"name": tmeta.get("name"), "sha256": tmeta.get("sha256"), "heldout_pairs": len(held),
                             "logit_correlation": round(float(np.corrcoef(t, logits)[0, 1]), 4),
                             "mean_abs_logit_diff": round(float(d.mean()), 4),
                             "max_abs_logit_diff": round(float(d.max()), 4)}
    return out


def quantize(fp32: Path, target: Path) -> None:
    """The float32 graph at ``fp32`` quantised dynamically to int8 at ``target`` (MatMul/Attention weights per
    channel, the word-embedding Gather per tensor), as medcite ships it."""
    from medcite.index.embedders import onnxruntime

    onnxruntime()  # telemetry off before the quantizer loads the runtime
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(fp32, target, per_channel=True, weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul", "Attention", "Gather"],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def main(argv: list[str] | None = None) -> int:
    import onnx

    from medcite.answer.model import CrossEncoderModel
    from medcite.index.embedders import OnnxEmbedder, _read_source, build_bert_onnx, encoder_layers, find_source

    ap = argparse.ArgumentParser(description="export and calibrate the answer model")
    ap.add_argument("--weights", type=Path, required=True, help="weights.npz or checkpoint.pt of train.py")
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("src/medcite/models"))
    ap.add_argument("--train-json", type=Path, default=None)
    ap.add_argument("--max-heldout", type=int, default=3000)
    ap.add_argument("--teacher", type=Path, default=None,
                    help="a distilled student (train.py --distill): the teacher's model folder, whose calibration, "
                         "combiner and thresholds the student keeps (it was trained to reproduce its logits)")
    args = ap.parse_args(argv)
    weights = load_weights(args.weights)
    _, cfg, tok = _read_source(find_source())
    n_layers = encoder_layers(weights)  # a distilled student keeps fewer layers than its source
    args.out.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(x) for x in args.pairs.read_text().split("\n") if x.strip()]
    held = [r for r in rows if r["split"] == "heldout"]
    rng = np.random.default_rng(7)
    if len(held) > args.max_heldout:
        held = [held[i] for i in sorted(rng.choice(len(held), args.max_heldout, replace=False))]
    labels = np.array([r["label"] for r in held], dtype=np.float64)
    sources = [r["source"] for r in held]
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        onnx.save(build_bert_onnx(weights, cfg, cross_encoder=True), str(fp32))
        target = args.out / "answer-model.int8.onnx"
        quantize(fp32, target)
        (args.out / "answer-tokenizer.json").write_bytes(tok)
        ref = CrossEncoderModel(fp32, args.out / "answer-tokenizer.json", calibration=(1.0, 0.0), threads=2)
        q8 = CrossEncoderModel(target, args.out / "answer-tokenizer.json", calibration=(1.0, 0.0), threads=2)
        probe = held[:64]
        d = np.abs(ref.logits([r["question"] for r in probe], [r["candidate"] for r in probe])
                   - q8.logits([r["question"] for r in probe], [r["candidate"] for r in probe]))
        print(f"int8 vs fp32 logit difference: mean {d.mean():.4f} max {d.max():.4f}", file=sys.stderr)
        logits = q8.logits([r["question"] for r in held], [r["candidate"] for r in held])
    a, b = platt(logits, labels)
    probs = 1 / (1 + np.exp(-(a * logits + b)))
    emb = OnnxEmbedder(threads=2)
    qv = emb.embed([r["question"] for r in held])
    cv = emb.embed([r["candidate"] for r in held])
    cos = np.sum(qv * cv, axis=1).astype(np.float64)
    fa, fb = platt(cos, labels)
    fprobs = 1 / (1 + np.exp(-(fa * cos + fb)))
    train_meta = json.loads(args.train_json.read_text()) if args.train_json and args.train_json.is_file() else {}
    meta = {
        "name": f"medcite-answer-minilm-l{n_layers}",
        "file": target.name,
        "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
        "input": "question, candidate_text(sentence, heading, title) — medcite.answer.pairs",
        "max_length": 96,
        "calibration": {"a": round(a, 6), "b": round(b, 6)},
        "fallback_calibration": {"a": round(fa, 6), "b": round(fb, 6)},
        "heldout": figures(logits, labels, probs, sources),
        "heldout_bi_encoder": figures(cos, labels, fprobs, sources),
        "int8_vs_fp32_max_logit_diff": round(float(d.max()), 4),
        "training": {k: train_meta.get(k) for k in ("seed", "hparams", "train_pairs", "steps", "source_model", "init", "sources")},
        "data_recipe": "tools/answer_model/build_data.py (seed 20261207, 20% of questions per source held out)",
    }
    if args.teacher:
        meta = distilled_meta(meta, args.teacher, held, logits)
    (args.out / "answer-model.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(json.dumps(meta, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
