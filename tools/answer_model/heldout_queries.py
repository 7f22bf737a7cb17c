#!/usr/bin/env python3
"""Write the BioASQ development questions the answer model never saw in training (its held-out 20%).

    python tools/answer_model/heldout_queries.py --shared ../shared --out /tmp/bioasq_heldout.jsonl
    medcite eval retrieval --dataset bioasq --queries /tmp/bioasq_heldout.jsonl --retriever hybrid \
        --retriever hybrid+rerank
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_data import split_of  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    lines = [x for x in (args.shared / "eval/bioasq_dev.jsonl").read_text().split("\n") if x.strip()]
    kept = [x for x in lines if split_of(f"bioasq:{json.loads(x)['id']}") == "heldout"]
    args.out.write_text("\n".join(kept) + "\n")
    print(f"{len(kept)} of {len(lines)} questions held out of training -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
