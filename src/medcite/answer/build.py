"""Turn a :class:`Composition` into the :class:`Answer` object: numbering, statements, sections, grading."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, Sequence

from medcite.answer.extractive import BOTTOM, Composition, Scored, kind_label
from medcite.answer.grading import certainty, level_for
from medcite.answer.notices import cap_for_concern
from medcite.answer.safety import screen
from medcite.answer.schema import (
    Answer,
    EvidenceQuality,
    Quote,
    Reference,
    RelatedDocument,
    Section,
    Statement,
)
from medcite.domain import Hit
from medcite.text import flesch_kincaid_grade

DISCLAIMER = (
    "medcite quotes published evidence from the corpus it was given; it is not medical advice and may miss "
    "evidence that is not in that corpus. Check the cited sources and use clinical judgement. "
    "In an emergency, call your local emergency number."
)
DISCLAIMER_PATIENT = (
    "This is information, not medical advice. It comes from the documents medcite has, which may be incomplete "
    "or out of date. Talk to your doctor or nurse before you change any treatment. "
    "In an emergency, call your local emergency number."
)

HEADINGS = {
    "clinician": {
        "Recommendations": "Recommendations",
        "What the evidence says": "What the evidence says",
        "Cautions": "Cautions",
        "Quality of evidence": "Quality of evidence",
    },
    "patient": {
        "Recommendations": "What experts advise",
        "What the evidence says": "What we know",
        "Cautions": "Things to watch for",
        "Quality of evidence": "How sure is this?",
    },
}

_LEVEL_GROUPS = [
    ("1", "Guidelines and systematic reviews"),
    ("2", "Randomized trials"),
    ("3", "Observational studies"),
    ("4", "Case reports, drug labels and patient information"),
    ("5", "Reviews and other sources"),
]


def closes(text: str) -> str:
    """The full stop a quoted clause needs when it is shown as a sentence ("" when it has one)."""
    return "" if text.rstrip().endswith((".", "!", "?", ")", "”", '"')) else "."


def insufficient_text(audience: str, missing: Sequence[str] = (), unnamed_drugs: Sequence[str] = ()) -> str:
    named = ", ".join(f"“{m}”" for m in missing[:3])
    if unnamed_drugs and not named:
        drugs = ", ".join(f"“{m}”" for m in unnamed_drugs[:3])
        if audience == "patient":
            return (f"The documents medcite has about this question do not mention {drugs}, so we cannot say how "
                    "the medicines you asked about go together. Ask your doctor or pharmacist.")
        return (f"Insufficient evidence: the documents closest to this question do not mention {drugs}; nothing in "
                "the indexed corpus addresses these drugs together. The closest documents are listed under related "
                "reading.")
    if audience == "patient":
        if named:
            return f"We could not find anything about {named} in the documents medcite has, so we cannot answer this."
        return "We could not find a clear answer to this question in the documents medcite has."
    if named:
        return (f"Insufficient evidence: no document in the indexed corpus mentions {named}; "
                "the closest documents are listed under related reading.")
    return ("Insufficient evidence: no passage in the indexed corpus answers this question directly; "
            "the closest documents are listed under related reading.")


def assemble(
    *,
    question: str,
    audience: str,
    comp: Composition,
    hits: Sequence[Hit],
    doc_rows: dict[str, Any],
    fingerprint: str,
    timings: dict[str, float],
    related_questions: list[str],
    metadata: dict[str, Any],
    notices: dict[str, str] | None = None,
) -> Answer:
    heads = HEADINGS["patient" if audience == "patient" else "clinician"]
    numbers: dict[str, int] = {}
    refs: dict[int, Reference] = {}
    statements: list[Statement] = []

    def cite(x: Scored) -> int:
        n = numbers.get(x.doc_id)
        if n is None:
            n = len(numbers) + 1
            numbers[x.doc_id] = n
            row = doc_rows.get(x.doc_id)
            title = row["title"] if row is not None else x.doc_id
            refs[n] = Reference(
                n=n, doc_id=x.doc_id, label=kind_label(x.kind), title=title or x.doc_id,
                source=(row["source"] if row is not None else "") or "",
                year=row["year"] if row is not None else None, url=(row["url"] if row is not None else "") or "",
                kind=x.kind, level=level_for(x.kind), grade=None, quotes=[], notice=(notices or {}).get(x.doc_id),
            )
        ref = refs[n]
        hit_text = next((h.text for h in hits if h.passage_id == x.passage_id), x.text)
        if all(q.passage_id != x.passage_id for q in ref.quotes):
            ref.quotes.append(Quote(passage_id=x.passage_id, text=screen(hit_text)[0]))  # never an instruction
        if x.grade and not ref.grade:
            ref.grade = x.grade
        return n

    def add(x: Scored, section: str) -> str:
        n = cite(x)
        statements.append(Statement(id=f"s{len(statements) + 1}", text=x.text, citations=[n], section=section))
        return f"{x.text} [{n}]{closes(x.text)}"

    bottom_line = " ".join(add(x, BOTTOM) for x in comp.bottom)
    sections: list[Section] = []
    if comp.recommendations:
        lines = []
        for x in comp.recommendations:
            line = add(x, heads["Recommendations"])
            label = f"**Grade {x.grade}** — " if x.grade else ""
            lines.append(f"- {label}{line}")
        sections.append(Section(heading=heads["Recommendations"], markdown="\n".join(lines)))
    if comp.evidence:
        heading = heads["What the evidence says"]
        parts = []
        for level, title in _LEVEL_GROUPS:
            group = [x for x in comp.evidence if level_for(x.kind) == level]
            if group:
                parts.append(f"**{title}**\n" + "\n".join(f"- {add(x, heading)}" for x in group))
        sections.append(Section(heading=heading, markdown="\n\n".join(parts)))
    if comp.cautions:
        heading = heads["Cautions"]
        sections.append(Section(heading=heading, markdown="\n".join(f"- {add(x, heading)}" for x in comp.cautions)))

    ref_list = [refs[n] for n in sorted(refs)]
    grade, rationale = bottom_line_certainty(statements, ref_list)
    insufficient = not ref_list
    if insufficient:
        bottom_line = insufficient_text(audience, comp.missing_terms, comp.unnamed_drugs)
    else:
        levels = "; ".join(f"[{r.n}] {r.label.lower()}, level {r.level}" + (f", grade {r.grade}" if r.grade else "")
                           for r in ref_list)
        sections.append(Section(heading=heads["Quality of evidence"],
                                markdown=f"**Certainty: {grade}.** {rationale}\n\n{levels}."))
    cited = set(numbers)
    related: list[RelatedDocument] = []
    seen: set[str] = set()
    for h in hits:
        if h.doc_id in cited or h.doc_id in seen:
            continue
        seen.add(h.doc_id)
        related.append(RelatedDocument(
            doc_id=h.doc_id, title=h.title or h.doc_id, label=kind_label(h.kind), source=h.source or "",
            year=h.year, url=h.url or "",
            why="closest match found; no sentence in it answered the question directly" if insufficient
            else "retrieved for this question but not quoted",
        ))
        if len(related) >= 5:
            break
    # each statement is one sentence (a quoted clause is shown with a full stop after its marker)
    text_for_grade = " ".join(s.text + closes(s.text) for s in statements) or bottom_line
    return Answer(
        question=question,
        audience="patient" if audience == "patient" else "clinician",
        composer="extractive",
        generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        corpus_fingerprint=fingerprint,
        timings_ms=timings,
        bottom_line=bottom_line,
        sections=sections,
        statements=statements,
        references=ref_list,
        evidence_quality=EvidenceQuality(grade="insufficient" if insufficient else grade,
                                         rationale=rationale),
        insufficient_evidence=insufficient,
        related_reading=related,
        related_questions=related_questions,
        disclaimer=DISCLAIMER_PATIENT if audience == "patient" else DISCLAIMER,
        reading_grade=flesch_kincaid_grade(text_for_grade),
        metadata=metadata,
    )


#: a bottom line that itself says the evidence cannot decide (a USPSTF I statement, "insufficient evidence")
_UNDECIDED = re.compile(r"\bI statement\b|\binsufficient (?:evidence|data)\b|\bevidence is (?:insufficient|lacking|"
                        r"inconclusive|limited)\b|\bcannot (?:be )?(?:determine|recommend)|\bno (?:clear )?evidence\b", re.I)
#: evidence older than this many years is flagged when it is all a bottom line rests on
STALE_YEARS = 5


def bottom_line_certainty(statements: Sequence[Any], refs: Sequence[Any]) -> tuple[str, str]:
    """Certainty of the sources the bottom line cites (not of everything quoted further down).

    ``statements`` and ``refs``: Statement / Reference objects or their dicts (the editorial rebuild uses
    dicts). A bottom line that says the evidence is insufficient (an I statement) is never more than low
    certainty; one whose newest source is over ``STALE_YEARS`` old says so.
    """
    st = [s if isinstance(s, dict) else s.model_dump() for s in statements]
    rs = [r if isinstance(r, dict) else r.model_dump() for r in refs]
    bottom = [s for s in st if s.get("section") == BOTTOM]
    cited = {n for s in bottom for n in s.get("citations") or []}
    support = [r for r in rs if r.get("n") in cited] or rs
    grade, rationale = cap_for_concern(*certainty(support), support)
    if grade in ("high", "moderate") and any(_UNDECIDED.search(str(s.get("text") or "")) for s in bottom):
        grade = "low"
        rationale = rationale.rstrip(".") + "; the bottom line itself says the evidence is insufficient to decide."
    if support and len(support) < len(rs):
        rationale = f"Bottom line: {rationale}"
    years = [r["year"] for r in support if r.get("year")]
    if years and max(years) < datetime.now(timezone.utc).year - STALE_YEARS:
        rationale += f" Its newest source is from {max(years)}: check for newer evidence."
    return grade, rationale


def doc_meta_from_rows(rows: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for doc_id, r in rows.items():
        out[doc_id] = {
            "publication_types": json.loads(r["publication_types"] or "[]"),
            "metadata": json.loads(r["metadata"] or "{}"),
        }
    return out
