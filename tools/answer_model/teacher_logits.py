#!/usr/bin/env python3
"""Score training pairs with a teacher answer model, for distilling a smaller student (``train.py --distill``).

    python tools/answer_model/teacher_logits.py --pairs mix.jsonl --out distill.jsonl [--model-dir DIR] [--split train]

Each row of ``--pairs`` (``build_data.py`` / ``build_pools.py`` rows) is written again with ``teacher``: the
teacher's raw logit (the int8 ONNX model medcite ships, or the one in ``--model-dir``), before calibration.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from medcite.answer.model import MODEL_DIR, load_answer_model

    ap = argparse.ArgumentParser(description="teacher logits for distillation")
    ap.add_argument("--pairs", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    ap.add_argument("--split", default="train", help="only rows of this split ('' for all)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    model = load_answer_model(str(args.model_dir), threads=args.threads)
    if not model.id.startswith("cross-encoder"):
        print(f"no cross-encoder in {args.model_dir}", file=sys.stderr)
        return 2
    rows = [json.loads(x) for x in args.pairs.read_text().split("\n") if x.strip()]
    rows = [r for r in rows if not args.split or r["split"] == args.split]
    t0 = time.time()
    with args.out.open("w") as fh:
        for start in range(0, len(rows), 256):
            chunk = rows[start: start + 256]
            logits = model.logits([r["question"] for r in chunk], [r["candidate"] for r in chunk])
            for r, z in zip(chunk, logits):
                fh.write(json.dumps({**r, "teacher": round(float(z), 4)}) + "\n")
            print(f"{start + len(chunk)}/{len(rows)} pairs, {(start + len(chunk)) / (time.time() - t0):.1f}/s",
                  file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
