"""The Answer object — what `medcite ask --json`, the web API and articles share.

Pydantic at the edge: its JSON Schema is printed by `medcite schema answer` and documented in
docs/answer-schema.md.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

Audience = Literal["clinician", "patient"]
Grade = Literal["high", "moderate", "low", "very low", "insufficient"]
Label = Literal[
    "Guideline", "Systematic review", "Randomized trial", "Observational study", "Case report", "Review",
    "Drug label", "Patient information", "Other",
]

MARKER = re.compile(r"\[(\d+(?:\s*[,–-]\s*\d+)*)\]")
#: at least one character that ``str.strip()`` keeps, in every regex dialect (JSON Schema's, Python's, pydantic's)
NOT_BLANK = r"[^\s\x1c-\x1f]"


class Quote(BaseModel):
    passage_id: str = Field(description="Id of the cited passage (`{doc_id}#{section}.{chunk}`).")
    text: str = Field(description="The passage text the statements were taken from.")


class Reference(BaseModel):
    n: int = Field(description="Citation number used by the markers [n].")
    doc_id: str = Field(min_length=1, description="Id of the cited document.")
    label: Label = Field(description="Kind of evidence, as a reader sees it.")
    title: str
    source: str = Field(description="Journal or organisation.")
    year: int | None = None
    url: str = ""
    kind: str = Field(description="Machine kind (guideline, systematic_review, randomized_trial, …).")
    level: str = Field(description="Evidence level: 1 (guideline / systematic review) … 5 (other).")
    grade: str | None = Field(None, description="Recommendation grade stated by a guideline (e.g. USPSTF B).")
    quotes: list[Quote] = Field(default_factory=list)
    notice: Literal["retracted", "expression_of_concern", "erratum"] | None = Field(
        None, description="The most serious notice on the document as the corpus stands now (shown as a badge): "
                          "retracted, expression_of_concern or erratum; null when it has none.")


class Statement(BaseModel):
    id: str = Field(description="s1, s2, … in reading order.")
    text: str = Field(description="One sentence; for the extractive composer, verbatim from a cited passage.")
    citations: list[int] = Field(description="Reference numbers supporting the sentence.")
    section: str = Field(description="'Bottom line' or the heading of the section holding the sentence.")
    support: float | None = Field(None, description="Support score against the cited passages (0–1).")


class Section(BaseModel):
    heading: str
    markdown: str


class EvidenceQuality(BaseModel):
    grade: Grade
    rationale: str


class RelatedDocument(BaseModel):
    doc_id: str
    title: str
    label: str
    source: str = ""
    year: int | None = None
    url: str = ""
    why: str = Field("", description="Why it is listed but not cited.")


class Answer(BaseModel):
    question: str = Field(pattern=NOT_BLANK, description="The question as answered (not blank).")
    audience: Audience = "clinician"
    composer: str = Field(description='"extractive" or "llm:<model>".')
    generated_at: str
    corpus_fingerprint: str
    timings_ms: dict[str, float] = Field(default_factory=dict)
    bottom_line: str = Field(description="Text with inline citation markers [n] or [n, m].")
    sections: list[Section] = Field(default_factory=list)
    statements: list[Statement] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)
    evidence_quality: EvidenceQuality
    insufficient_evidence: bool = False
    related_reading: list[RelatedDocument] = Field(default_factory=list)
    related_questions: list[str] = Field(default_factory=list)
    disclaimer: str
    reading_grade: float | None = Field(None, description="Flesch–Kincaid grade of the answer's text.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Composer details (expansions, LLM usage…).")


def marker_numbers(text: str) -> list[int]:
    """All citation numbers in ``text`` ("[1]", "[1, 3]", "[2-4]")."""
    out: list[int] = []
    for m in MARKER.finditer(text):
        for part in re.split(r"\s*,\s*", m.group(1)):
            if re.search(r"[–-]", part):
                a, b = (int(x) for x in re.split(r"\s*[–-]\s*", part))
                out.extend(range(a, b + 1) if 0 <= b - a < 50 else [a, b])
            else:
                out.append(int(part))
    return out


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def check_answer(answer: Answer, passages: dict[str, str] | None = None, verbatim: bool | None = None) -> list[str]:
    """Problems with an answer's citations (empty list = valid).

    Every marker refers to a reference; every reference is cited; every statement cites at least
    one reference; and — for the extractive composer (``verbatim`` defaults to that), when
    ``passages`` (passage_id → text) is given or the references carry quotes — every statement is,
    whitespace aside, a verbatim substring of one of its cited passages. LLM answers are paraphrases:
    their statements carry a ``support`` score from the support checker instead.
    """
    if verbatim is None:
        verbatim = answer.composer == "extractive"
    problems: list[str] = []
    numbers = {r.n for r in answer.references}
    texts = [answer.bottom_line] + [s.markdown for s in answer.sections]
    cited: set[int] = set()
    for t in texts:
        for n in marker_numbers(t):
            cited.add(n)
            if n not in numbers:
                problems.append(f"marker [{n}] has no reference")
    for st in answer.statements:
        cited.update(st.citations)
        if not st.citations and not answer.insufficient_evidence:
            problems.append(f"statement {st.id} cites nothing")
        for n in st.citations:
            if n not in numbers:
                problems.append(f"statement {st.id} cites missing reference {n}")
    for r in answer.references:
        if r.n not in cited:
            problems.append(f"reference {r.n} is never cited")
    by_n = {r.n: r for r in answer.references}
    for st in answer.statements if verbatim else ():
        sources = []
        for n in st.citations:
            ref = by_n.get(n)
            if ref is None:
                continue
            for q in ref.quotes:
                sources.append(passages.get(q.passage_id, q.text) if passages else q.text)
        if sources and not any(_norm(st.text) in _norm(src) for src in sources):
            problems.append(f"statement {st.id} is not verbatim in its cited passages")
    return problems
