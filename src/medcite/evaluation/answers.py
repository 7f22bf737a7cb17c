"""`medcite eval answers`: answer quality on a question file.

File layout (JSON lines)::

    {"qid": "crc-age", "question": "…", "audience": "clinician",            # audience optional
     "gold_doc_ids": ["ngc:11005"], "key_facts": [["45", "forty-five"], ["75"]]}

``gold_doc_ids`` empty means the corpus cannot answer the question (abstention expected). Each
key fact is a list of alternatives (case-insensitive substrings of the answer text); the first key fact
is the asked-for one, and "fact in bottom line" is the share of answerable questions whose bottom line
itself contains it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from medcite.answer.schema import Answer, check_answer
from medcite.errors import EvalError, MedciteError
from medcite.evaluation.metrics import percentile
from medcite.evaluation.retrieval import read_jsonl
from medcite.text import flesch_kincaid_grade


@dataclass(frozen=True)
class AnswerQuestion:
    qid: str
    question: str
    audience: str
    gold: tuple[str, ...]
    key_facts: tuple[tuple[str, ...], ...]


def load_questions(path: Path) -> list[AnswerQuestion]:
    out = []
    for n, obj in read_jsonl(path):
        q = obj.get("question")
        gold = obj.get("gold_doc_ids", [])
        facts = obj.get("key_facts", [])
        if not isinstance(q, str) or not q.strip():
            raise EvalError(f"{path}: line {n} has no 'question'")
        if not isinstance(gold, list) or not isinstance(facts, list) or not all(isinstance(f, list) for f in facts):
            raise EvalError(f"{path}: line {n}: 'gold_doc_ids' must be a list and 'key_facts' a list of lists")
        audience = obj.get("audience") or "clinician"
        if audience not in ("clinician", "patient"):
            raise EvalError(f"{path}: line {n}: audience must be clinician or patient")
        out.append(AnswerQuestion(str(obj.get("qid", n)), q, audience, tuple(map(str, gold)),
                                  tuple(tuple(str(a) for a in f) for f in facts)))
    if not out:
        raise EvalError(f"{path} holds no questions")
    return out


def answer_text(a: Answer) -> str:
    return "\n".join([a.bottom_line] + [s.markdown for s in a.sections if not s.heading.lower().startswith(("quality", "how sure"))])


def evaluate_answers(
    questions: list[AnswerQuestion], ask: Callable[[AnswerQuestion], Answer]
) -> dict[str, Any]:
    rows = []
    latencies: list[float] = []
    grades: dict[str, list[float]] = {"clinician": [], "patient": []}
    # the same measure over the passages the answer quotes from: how much easier the answer is than its sources
    sources: dict[str, list[float]] = {"clinician": [], "patient": []}
    for q in questions:
        t = time.perf_counter()
        try:
            a = ask(q)
        except MedciteError as exc:
            rows.append({"qid": q.qid, "error": str(exc)})
            continue
        latencies.append((time.perf_counter() - t) * 1000)
        text = answer_text(a).lower()
        cited = {r.doc_id for r in a.references}
        facts_found = [any(alt.lower() in text for alt in fact) for fact in q.key_facts]
        bottom = "" if a.insufficient_evidence else a.bottom_line.lower()
        in_bottom = bool(q.key_facts) and any(alt.lower() in bottom for alt in q.key_facts[0])
        problems = check_answer(a)
        if not a.insufficient_evidence and a.reading_grade is not None:
            grades[a.audience].append(a.reading_grade)
            quoted = " ".join(qt.text for r in a.references for qt in r.quotes)
            if quoted.strip():
                sources[a.audience].append(flesch_kincaid_grade(quoted))
        rows.append({
            "qid": q.qid,
            "answerable": bool(q.gold),
            "abstained": a.insufficient_evidence,
            "cites_gold": bool(cited & set(q.gold)),
            "facts": facts_found,
            "fact_in_bottom_line": in_bottom,
            "valid": not problems,
            "problems": problems,
            "cited": sorted(cited),
            "ms": round(latencies[-1], 1),
        })
    ok = [r for r in rows if "error" not in r]
    answerable = [r for r in ok if r["answerable"]]
    unanswerable = [r for r in ok if not r["answerable"]]
    facts = [f for r in answerable for f in r["facts"]]

    def share(xs: list[bool]) -> float:
        return round(sum(xs) / len(xs), 4) if xs else 0.0

    return {
        "n_questions": len(questions),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "errors": [r for r in rows if "error" in r],
        "gold_cited": share([r["cites_gold"] for r in answerable]),
        "key_facts": share(facts),
        "fact_in_bottom_line": share([r["fact_in_bottom_line"] for r in answerable]),
        "abstention": share([r["abstained"] for r in unanswerable]),
        "false_abstention": share([r["abstained"] for r in answerable]),
        "citation_validity": share([r["valid"] for r in ok]),
        "reading_grade": {k: round(sum(v) / len(v), 2) if v else None for k, v in grades.items()},
        "source_reading_grade": {k: round(sum(v) / len(v), 2) if v else None for k, v in sources.items()},
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "per_question": rows,
    }
