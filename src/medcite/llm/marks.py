"""Flagged statements made visible: every face shows an unsupported LLM sentence with a mark in its text.

In ``unsupported="flag"`` mode the LLM composer keeps a sentence its cited passages do not support and lists its
id in ``metadata.flagged_statements``; the text itself carries no sign of it. :func:`mark_flagged` puts
:data:`UNSUPPORTED_MARK` in front of each such sentence where it appears (bottom line, sections) — once: an answer
already marked is returned as is — so the CLI, the pages and the API all show it.
"""

from __future__ import annotations

from typing import Any

UNSUPPORTED_MARK = "**[Unsupported]**"
NOTE = ("{mark} Statement{s} {ids} {verb} not clearly supported by the cited source{s} — check before relying "
        "on {pron}.")


def _mark_in(text: str, sentence: str) -> tuple[str, bool]:
    """``text`` with the mark before the first unmarked occurrence of ``sentence`` (and whether it found one)."""
    start = 0
    while sentence and (i := text.find(sentence, start)) >= 0:
        if text[:i].rstrip().endswith(UNSUPPORTED_MARK):
            return text, True  # already marked
        return f"{text[:i]}{UNSUPPORTED_MARK} {text[i:]}", True
    return text, False


def mark_flagged(answer: Any) -> Any:
    """A copy of ``answer`` (an Answer) with its flagged statements marked; the answer itself when none are."""
    flagged = set((answer.metadata or {}).get("flagged_statements") or [])
    if not flagged:
        return answer
    bottom = answer.bottom_line
    sections = [s.model_copy() for s in answer.sections]
    unplaced: list[str] = []
    for st in answer.statements:
        if st.id not in flagged:
            continue
        found = False
        if st.section == "Bottom line":
            bottom, found = _mark_in(bottom, st.text)
        ordered = sorted(sections, key=lambda sec: sec.heading != st.section)  # its own section first
        for section in ordered if not found else ():
            section.markdown, found = _mark_in(section.markdown, st.text)
            if found:
                break
        if not found:
            bottom, found = _mark_in(bottom, st.text)
        if not found:
            unplaced.append(st.id)
    if unplaced and UNSUPPORTED_MARK not in bottom.rsplit("\n\n", 1)[-1]:
        many = len(unplaced) > 1
        bottom = (bottom.rstrip() + "\n\n" + NOTE.format(
            mark=UNSUPPORTED_MARK, s="s" if many else "", ids=", ".join(unplaced), verb="are" if many else "is",
            pron="them" if many else "it")).strip()
    return answer.model_copy(update={"bottom_line": bottom, "sections": sections})
