"""Evidence grading: a level per reference, a GRADE-style certainty per answer.

Levels (lower is stronger):

| level | evidence |
|---|---|
| 1 | guideline, systematic review / meta-analysis |
| 2 | randomized trial |
| 3 | observational study |
| 4 | case report; drug label and patient information (authoritative summaries, not studies) |
| 5 | narrative review, other |

The answer's certainty follows the strongest cited evidence and how much of it there is:
``high`` — a guideline with a grade A/B recommendation, or a systematic review, backed by at least one
more level-1/2 source; ``moderate`` — any level-1 source or a randomized trial; ``low`` — observational
studies or authoritative summaries only; ``very low`` — case reports or other text only;
``insufficient`` — nothing citable. The same references always give the same grade.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Iterable, Mapping

from medcite.domain import DocKind

_LEVEL_BY_KIND = {
    DocKind.GUIDELINE.value: "1",
    DocKind.SYSTEMATIC_REVIEW.value: "1",
    DocKind.RANDOMIZED_TRIAL.value: "2",
    DocKind.OBSERVATIONAL.value: "3",
    DocKind.CASE_REPORT.value: "4",
    DocKind.DRUG_LABEL.value: "4",
    DocKind.PATIENT_INFO.value: "4",
    DocKind.REVIEW.value: "5",
    DocKind.OTHER.value: "5",
}

_PLURAL = {
    "guideline": ("guideline", "guidelines"),
    "systematic_review": ("systematic review", "systematic reviews"),
    "randomized_trial": ("randomized trial", "randomized trials"),
    "observational": ("observational study", "observational studies"),
    "case_report": ("case report", "case reports"),
    "drug_label": ("drug label", "drug labels"),
    "patient_info": ("patient-information page", "patient-information pages"),
    "review": ("review", "reviews"),
    "other": ("other source", "other sources"),
}

_ORDER = list(_PLURAL)

_GRADE_PATTERNS = [
    re.compile(r"\bgrade\s*:?\s*([ABCDI])\b(?:\s+recommendation)?", re.I),
    re.compile(r"\b([ABCD])\s+recommendation\b"),
    re.compile(r"\b(I)\s+statement\b"),
]


def infer_kind(kind: str, title: str, publication_types: Iterable[str] = ()) -> str:
    """Refine a vague kind ("other", "review") from the title: a meta-analysis is level 1 whatever its label."""
    t = (title or "").lower()
    if kind in (DocKind.OTHER.value, DocKind.REVIEW.value):
        if "meta-analysis" in t or "systematic review" in t:
            return DocKind.SYSTEMATIC_REVIEW.value
        if kind == DocKind.OTHER.value and re.search(r"randomi[sz]ed", t) and "trial" in t:
            return DocKind.RANDOMIZED_TRIAL.value
        if kind == DocKind.OTHER.value and re.search(r"\b(cohort|case-control|cross-sectional)\b", t):
            return DocKind.OBSERVATIONAL.value
    return kind


def level_for(kind: str) -> str:
    return _LEVEL_BY_KIND.get(kind, "5")


def guideline_grade(text: str, metadata: Mapping[str, Any] | None = None) -> str | None:
    """A recommendation grade stated in a sentence, else the document's single grade if it has one."""
    for pat in _GRADE_PATTERNS:
        m = pat.search(text)
        if m:
            return m.group(1).upper()
    grades = (metadata or {}).get("grades") or []
    if isinstance(grades, list) and len(set(grades)) == 1:
        return str(grades[0]).upper()
    return None


def certainty(refs: list[dict[str, Any]]) -> tuple[str, str]:
    """GRADE-style certainty and a one-line rationale from references (dicts with kind, level, grade, source)."""
    if not refs:
        return "insufficient", "No passage in the corpus answers this question."
    counts = Counter(r["kind"] for r in refs)
    levels = [r["level"] for r in refs]
    strong = [r for r in refs if r["level"] in ("1", "2")]
    graded = [r for r in refs if r["kind"] == "guideline" and (r.get("grade") or "") in ("A", "B")]
    has_sr = counts.get("systematic_review", 0) > 0
    if (graded or has_sr) and len(strong) >= 2:
        grade = "high"
    elif "1" in levels or "2" in levels:
        grade = "moderate"
    elif "3" in levels or any(r["kind"] in ("drug_label", "patient_info") for r in refs):
        grade = "low"
    else:
        grade = "very low"
    parts = []
    for kind in _ORDER:
        n = counts.get(kind, 0)
        if not n:
            continue
        one, many = _PLURAL[kind]
        text = f"{n} {one if n == 1 else many}"
        if kind == "guideline":
            gs = sorted({f"{_short_source(r.get('source', ''))}grade {r['grade']}" for r in refs
                         if r["kind"] == "guideline" and r.get("grade")})
            if gs:
                text += f" ({', '.join(gs)})"
        parts.append(text)
    listing = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    why = {
        "high": "guideline or systematic-review evidence supported by further strong studies",
        "moderate": "at least one guideline, systematic review or randomized trial",
        "low": "observational studies or authoritative summaries only, no trials",
        "very low": "case reports or other non-study text only",
    }[grade]
    return grade, f"{listing} — {why}."


def _short_source(source: str) -> str:
    s = source.lower()
    if "preventive services task force" in s or "uspstf" in s:
        return "USPSTF "
    return ""
