"""Verification overhead of the LLM composer: citation parsing + support scoring + rebuild.

An LLM answer of 20 statements (a bottom line and three bulleted sections, citing 12 evidence documents
with 1-3 passages each, a few invented ids and a few unsupported sentences) is parsed and verified
(`parse_output` + `verify`) repeatedly; the support checker's caches are cleared before every run so each
run scores from scratch. Target: ≤ 50 ms per answer on 2 cores.

    .venv/bin/python benchmarks/bench_llm_verify.py [--runs 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from medcite.answer import support
from medcite.answer.llm_composer import Evidence, EvidenceDoc, parse_output, verify
from medcite.answer.support import HeuristicSupportChecker

SENTS = [
    "Reduce clinic blood pressure to below 140/90 mmHg in adults with hypertension aged under 80 years.",
    "Every 10 mmHg reduction in systolic blood pressure reduced the risk of major cardiovascular events by about 20%.",
    "Offer lifestyle advice to all adults with hypertension, including a healthy diet and reduced salt intake.",
    "Start an ACE inhibitor or an angiotensin receptor blocker as first-line treatment in adults with type 2 diabetes.",
    "Offer labetalol to treat hypertension in pregnancy; consider nifedipine if labetalol is not suitable.",
    "Blood pressure lowering treatment reduced stroke by 27% and heart failure by 28% across trials.",
    "High blood pressure rarely causes symptoms, so the only way to find out is to have it checked.",
    "Prescribe a statin for primary prevention in adults aged 40 to 75 years with a 10-year risk of 10% or more.",
    "Do not use ACE inhibitors or angiotensin receptor blockers in pregnancy because they can harm the baby.",
    "Regular aerobic exercise lowers systolic blood pressure by about 5 mmHg in adults with hypertension.",
    "Reducing sodium intake lowers blood pressure in adults with hypertension.",
    "Weight loss lowers blood pressure in overweight adults with hypertension.",
]
FILLER = ("The trial enrolled 4,821 participants from 62 centres and followed them for a median of 3.2 years. "
          "Adverse events were similar in both groups, although dizziness was more common with treatment. ")


def evidence() -> Evidence:
    docs = {}
    for n, s in enumerate(SENTS, start=1):
        passages = [(f"d{n}#0.0", FILLER + s + " " + FILLER)]
        passages += [(f"d{n}#1.{k}", FILLER * 2) for k in range(n % 3)]
        docs[n] = EvidenceDoc(n=n, doc_id=f"d{n}", kind="randomized_trial", title=f"Doc {n}", source="J",
                              year=2020, url="", passages=passages)
    return Evidence(docs)


def answer_json() -> str:
    lines = []
    for i in range(20):
        s = SENTS[i % len(SENTS)]
        n = i % len(SENTS) + 1
        if i % 7 == 3:  # paraphrase
            s = s.replace("adults", "grown-ups").replace("reduced", "cut")
        if i % 9 == 5:  # unsupported claim
            s = "Garlic tablets cure hypertension within a week."
        cites = f"[{n}]" if i % 6 else f"[{n}, {n % 12 + 1}, 42]"
        lines.append(f"{s.rstrip('.')} {cites}.")
    return json.dumps({
        "bottom_line": " ".join(lines[:2]),
        "sections": [{"heading": h, "markdown": "\n".join(f"- {x}" for x in lines[a:b])}
                     for h, a, b in (("Recommendations", 2, 8), ("What the evidence says", 8, 15), ("Cautions", 15, 20))],
        "related_questions": ["What about pregnancy?"],
    })


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    ev, text, checker = evidence(), answer_json(), HeuristicSupportChecker()
    times, v = [], None
    for _ in range(args.runs):
        for fn in (support._passage, support._statement, support._norm_word, support._classify, support._weight):
            fn.cache_clear()
        t0 = time.perf_counter()
        out, _ = parse_output(text)
        v = verify(out, ev, checker)
        times.append((time.perf_counter() - t0) * 1000)
    assert v is not None
    print(f"statements written: {v.n_statements}, kept: {len(v.statements)}, dropped: {v.dropped}, "
          f"invalid citations: {v.invalid_citations}")
    times.sort()
    print(f"verify (cold caches), {args.runs} runs: median {statistics.median(times):.1f} ms, "
          f"p95 {times[int(0.95 * (len(times) - 1))]:.1f} ms, max {times[-1]:.1f} ms (target <= 50 ms)")


if __name__ == "__main__":
    main()
