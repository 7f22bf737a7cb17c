#!/usr/bin/env python3
"""Ablation of the model composer's named rules on medcite's answer question sets.

    python benchmarks/ablate_composer.py --db medcite.db [--sets dev holdout test fresh blind]

Runs `eval answers` on each set with the full model composer, then with one rule switched off at a time
(``RankedConfig.question_types``, ``missing_check``, ``population_check``) and with the older rules
composer, and prints one Markdown table (docs/composer.md keeps the latest).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from medcite.service import Medcite
from medcite.settings import Settings

VARIANTS = {
    "model composer": {},
    "− question types": {"question_types": False},
    "− missing-word check": {"missing_check": False},
    "− population check": {"population_check": False},
}
METRICS = ("gold_cited", "key_facts", "fact_in_bottom_line", "abstention", "false_abstention")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=Path("medcite.db"))
    ap.add_argument("--sets", nargs="+", default=["dev", "holdout", "test", "fresh", "blind"])
    ap.add_argument("--out", type=Path, default=None, help="also write the raw figures as JSON")
    args = ap.parse_args()
    rows: dict[str, dict[str, dict]] = {}
    for name, change in list(VARIANTS.items()) + [("rules composer", None)]:
        svc = Medcite(Settings(db=args.db, progress=False, composer="rules" if change is None else "model"))
        if change:
            comp = svc._model_composer()
            comp.config = replace(comp.config, **change)
        rows[name] = {}
        for s in args.sets:
            r = svc.eval_answers(Path(f"eval/answers_{s}.jsonl"))
            rows[name][s] = {m: r[m] for m in METRICS}
        svc.close()
        print(name, json.dumps(rows[name]), flush=True)
    head = "| variant | " + " | ".join(args.sets) + " |"
    print("\nfigures per set: gold cited / key facts / fact in bottom line / abstention / false abstention\n")
    print(head)
    print("|---" * (len(args.sets) + 1) + "|")
    for name, per in rows.items():
        cells = [" / ".join(f"{per[s][m]:.2f}" for m in METRICS) for s in args.sets]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
