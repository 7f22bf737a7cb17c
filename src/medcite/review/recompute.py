"""Rebuild an edited article's citations from its text.

A reviewer edits the bottom line and the sections; the text is the truth. :func:`recompute` then rebuilds
everything that is derived from it, so the published article never shows a reference, a number or a
certainty its text no longer supports:

- every citation marker ``[n]`` must name one of the article's references — else :class:`CitationError`
  (a reference an earlier edit removed cannot be cited again: ask for the question to be answered anew);
- references nobody cites any more are dropped; the rest are renumbered 1, 2, … in order of first citation
  (bottom line first, then the sections in order) and every marker is rewritten to the new numbers;
- the statements are rebuilt: one per cited stretch of text, with the markers that close it as its citations
  (a statement the composer wrote keeps its verbatim text and support score when the text still contains it);
- a reference's quotes are the passages its statements still come from;
- the certainty (``evidence_quality``) and the "Quality of evidence" section are recomputed from the cited
  references only, with :func:`medcite.answer.build.bottom_line_certainty` (the composer's own: the sources
  the bottom line cites), in the composer's words.

The same edited text always gives the same result, and ``recompute(recompute(a)) == recompute(a)``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Mapping

from medcite.errors import CitationError

# The answer package is imported when first needed: `import medcite.review` (the CLI's account commands) should
# not wait for pydantic and the Answer schema.

BOTTOM_LINE = "Bottom line"
#: the quality section's heading per audience (as the composers write it)
QUALITY_HEADINGS = {"clinician": "Quality of evidence", "patient": "How sure is this?"}
STALE_AFTER_YEARS = 5

_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_LABEL = re.compile(r"^\*\*[^*]+\*\*\s*[—–:-]?\s*")
_EMPHASIS = re.compile(r"\*\*|__")


def is_quality_section(section: Mapping[str, Any]) -> bool:
    """The section the composer generates from the references ("Quality of evidence" / "How sure is this?")."""
    heading = str(section.get("heading", "")).strip()
    return heading in QUALITY_HEADINGS.values() or str(section.get("markdown", "")).lstrip().startswith(
        "**Certainty:")


def recompute(answer: Mapping[str, Any]) -> dict[str, Any]:
    """The answer with references, citation numbers, statements and certainty rebuilt from its text."""
    from medcite.answer.build import bottom_line_certainty
    from medcite.answer.schema import MARKER, marker_numbers

    out = dict(answer)
    refs = [dict(r) for r in answer.get("references") or []]
    by_n = {_number(r.get("n"), i): r for i, r in enumerate(refs, 1)}
    sections = [dict(s) for s in answer.get("sections") or []]
    quality = [s for s in sections if is_quality_section(s)]
    body = [s for s in sections if not is_quality_section(s)]
    texts = [str(answer.get("bottom_line") or "")] + [str(s.get("markdown") or "") for s in body]

    order: list[int] = []
    unknown: list[int] = []
    for text in texts:
        for n in marker_numbers(text):
            if n not in by_n:
                unknown.append(n)
            elif n not in order:
                order.append(n)
    if unknown:
        raise CitationError(
            f"the edited text cites {_markers(unknown)}, but the article has no such reference "
            f"(its references are {_markers(sorted(by_n)) if by_n else 'none'})",
            hint="cite one of its references or remove the marker; a reference an earlier edit removed cannot "
                 "come back — answer the question anew and submit that",
        )
    if refs and not order:
        raise CitationError(
            "the edited text cites no reference: every published statement needs a source",
            hint="keep at least one citation marker [n] in the bottom line or a section",
        )
    new_n = {old: new for new, old in enumerate(order, 1)}

    def renumber(text: str) -> str:
        def one(m: re.Match[str]) -> str:
            nums = list(dict.fromkeys(new_n[n] for n in marker_numbers(m.group(0))))
            return "[" + ", ".join(str(n) for n in nums) + "]"
        return MARKER.sub(one, text)

    out["bottom_line"] = renumber(texts[0])
    body = [{**s, "markdown": renumber(str(s.get("markdown") or ""))} for s in body]
    statements = _statements(out["bottom_line"], body, answer.get("statements") or [])
    new_refs = [{**by_n[old], "n": new_n[old]} for old in order]
    for ref in new_refs:
        ref["quotes"] = _quotes(ref, statements)

    if order or answer.get("evidence_quality") is not None or quality:
        # the same certainty the composer gives: of the sources the bottom line cites (answer/build.py)
        grade, rationale = bottom_line_certainty(statements, [{**r, **_graded(r)} for r in new_refs])
        audience = "patient" if answer.get("audience") == "patient" else "clinician"
        if new_refs:
            heading = str(quality[0].get("heading")) if quality else QUALITY_HEADINGS[audience]
            levels = "; ".join(f"[{r['n']}] {str(r.get('label') or 'source').lower()}, level {_graded(r)['level']}"
                               + (f", grade {r['grade']}" if r.get("grade") else "") for r in new_refs)
            body.append({"heading": heading, "markdown": f"**Certainty: {grade}.** {rationale}\n\n{levels}."})
        out["evidence_quality"] = {"grade": grade if new_refs else "insufficient", "rationale": rationale}
    out["sections"] = body
    out["statements"] = statements
    out["references"] = new_refs
    if new_refs:
        out["insufficient_evidence"] = False
    if statements and "reading_grade" in answer:
        from medcite.text import flesch_kincaid_grade

        out["reading_grade"] = flesch_kincaid_grade(" ".join(s["text"] for s in statements))
    return out


def _number(value: Any, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def _markers(numbers: list[int]) -> str:
    return ", ".join(f"[{n}]" for n in dict.fromkeys(numbers))


def _graded(ref: Mapping[str, Any]) -> dict[str, Any]:
    from medcite.answer.grading import level_for

    kind = str(ref.get("kind") or "other")
    return {"kind": kind, "level": str(ref.get("level") or level_for(kind)), "grade": ref.get("grade"),
            "source": str(ref.get("source") or "")}


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _statements(bottom_line: str, sections: list[dict[str, Any]], old: list[Any]) -> list[dict[str, Any]]:
    """One statement per stretch of text closed by citation markers, in reading order."""
    from medcite.answer.schema import MARKER, marker_numbers

    old_st = [s for s in old if isinstance(s, Mapping) and str(s.get("text") or "").strip()]
    found: list[dict[str, Any]] = []
    for where, text in [(BOTTOM_LINE, bottom_line)] + [(str(s.get("heading") or ""), str(s.get("markdown") or ""))
                                                        for s in sections]:
        for line in text.splitlines():
            line = _LABEL.sub("", _BULLET.sub("", line.strip()))
            start = 0
            for m in MARKER.finditer(line):
                stretch = _EMPHASIS.sub("", line[start:m.start()]).strip().lstrip(".;,:)— ").strip()
                start = m.end()
                if not stretch:
                    continue
                cites = list(dict.fromkeys(marker_numbers(m.group(0))))
                kept = [s for s in old_st if _norm(str(s["text"])) in _norm(stretch)]
                kept.sort(key=lambda s: _norm(stretch).find(_norm(str(s["text"]))))
                for s in kept or [{"text": stretch, "support": None}]:
                    found.append({"text": str(s["text"]), "citations": cites, "section": where,
                                  "support": s.get("support")})
    return [{"id": f"s{i}", **s} for i, s in enumerate(found, 1)]


def _quotes(ref: Mapping[str, Any], statements: list[dict[str, Any]]) -> list[Any]:
    """The reference's quotes its statements still come from (all of them when none is quoted verbatim)."""
    quotes = list(ref.get("quotes") or [])
    texts = [_norm(s["text"]) for s in statements if ref["n"] in s["citations"]]
    kept = [q for q in quotes if isinstance(q, Mapping) and any(t in _norm(str(q.get("text") or "")) for t in texts)]
    return kept or quotes


# --- how old the cited evidence is ------------------------------------------------------------------


def newest_year(answer: Any) -> int | None:
    """The newest publication year among an answer's references (None when none has a year)."""
    years = [y for y in (_get(r, "year") for r in _get(answer, "references") or []) if isinstance(y, int)]
    return max(years) if years else None


def stale_bottom_line(answer: Any, today: date | None = None, years: int = STALE_AFTER_YEARS) -> int | None:
    """The newest year of the bottom line's sources when every one it cites is older than ``years`` years.

    None when the bottom line is fresh enough, cites nothing, or cites a source of unknown date.
    """
    from medcite.answer.schema import marker_numbers

    cited = set(marker_numbers(str(_get(answer, "bottom_line") or "")))
    refs = [r for r in _get(answer, "references") or [] if _get(r, "n") in cited]
    if not refs:
        return None
    found = [_get(r, "year") for r in refs]
    if not all(isinstance(y, int) for y in found):
        return None
    newest = max(found)
    this_year = (today or date.today()).year
    return newest if this_year - newest > years else None


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def headline(answer: Any, title: str) -> str:
    """An article's topic headline: the one a reviewer set (``metadata.headline``), else its title."""
    metadata = _get(answer, "metadata")
    text = metadata.get("headline") if isinstance(metadata, Mapping) else None
    return str(text).strip() if isinstance(text, str) and text.strip() else title
