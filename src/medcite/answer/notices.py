"""Retraction, erratum and expression-of-concern notices on an answer's references.

The store knows each document's notice (``Store.notices``); :func:`mark_notices` writes it on the references
(``Reference.notice``) of a fresh answer, a thread's stored answer or an article, so every face shows the badge
as the corpus stands *now*, not as it stood when the answer was written.

Policy (docs/composer.md, "Retractions and corrections"):

- a retracted document is never quoted: its passages leave the search index, and :func:`quotable_status` drops
  any hit whose document is no longer searchable before an answer is composed (a stale index, a retraction
  ingested while a server runs);
- an erratum or an expression of concern does not stop a paper from being quoted; its reference carries the
  badge, and a bottom line whose every source is under an expression of concern is graded no higher than
  low certainty (:func:`cap_for_concern`).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from medcite.domain import EXPRESSION_OF_CONCERN, NOTICE_LABELS, RETRACTED, SEARCHABLE_STATUSES

BOTTOM = "Bottom line"
_GRADES = ("high", "moderate", "low", "very low")


def quotable_status(hits: Iterable[Any], doc_rows: Mapping[str, Any]) -> list[Any]:
    """The hits whose document is in the store and searchable (not retracted, not deleted) right now."""
    out = []
    for h in hits:
        row = doc_rows.get(h.doc_id)
        if row is not None and row["status"] in SEARCHABLE_STATUSES:
            out.append(h)
    return out


def _refs(answer: Any) -> list[Any]:
    return list(answer.references if hasattr(answer, "references") else answer.get("references") or [])


def cited_doc_ids(answer: Any) -> list[str]:
    return [str(r.doc_id if hasattr(r, "doc_id") else r.get("doc_id")) for r in _refs(answer)]


def mark_notices(answer: Any, notices: Mapping[str, str]) -> Any:
    """Set ``notice`` on every reference of ``answer`` (an Answer, changed in place, or a dict, copied)."""
    if hasattr(answer, "references"):
        for r in answer.references:
            r.notice = notices.get(r.doc_id)
        return answer
    out = dict(answer)
    refs = []
    for r in answer.get("references") or []:
        r = dict(r)
        notice = notices.get(str(r.get("doc_id")))
        if notice:
            r["notice"] = notice
        else:
            r.pop("notice", None)
        refs.append(r)
    out["references"] = refs
    return out


def notice_label(notice: str | None) -> str:
    return NOTICE_LABELS.get(notice or "", "")


def retracted_in_bottom_line(answer: Any) -> list[int]:
    """Numbers of retracted references the bottom line cites (an answer written before the retraction)."""
    refs = {int(r.n if hasattr(r, "n") else r.get("n", 0)): (r.notice if hasattr(r, "notice") else r.get("notice"))
            for r in _refs(answer)}
    statements = answer.statements if hasattr(answer, "statements") else answer.get("statements") or []
    out: set[int] = set()
    for s in statements:
        section = s.section if hasattr(s, "section") else s.get("section")
        if section != BOTTOM:
            continue
        for n in (s.citations if hasattr(s, "citations") else s.get("citations") or []):
            if refs.get(int(n)) == RETRACTED:
                out.add(int(n))
    return sorted(out)


def cap_for_concern(grade: str, rationale: str, support: list[Mapping[str, Any]]) -> tuple[str, str]:
    """No more than low certainty when every source of the bottom line is under an expression of concern
    (or retracted); ``support``: the reference dicts the bottom line cites."""
    if not support or not all(r.get("notice") in (EXPRESSION_OF_CONCERN, RETRACTED) for r in support):
        return grade, rationale
    if grade in ("high", "moderate"):
        grade = "low"
    return grade, rationale.rstrip(".") + "; every source it cites is under an expression of concern."
