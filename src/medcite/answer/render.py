"""Render an Answer as Markdown (for files, articles, the web) — the terminal view lives in the CLI."""

from __future__ import annotations

from medcite.answer.notices import notice_label
from medcite.answer.schema import Answer


def to_markdown(answer: Answer) -> str:
    lines = [f"# {answer.question}", ""]
    lines += ["## Bottom line", "", answer.bottom_line, ""]
    for section in answer.sections:
        lines += [f"## {section.heading}", "", section.markdown, ""]
    if answer.references:
        lines += ["## References", ""]
        for r in answer.references:
            mark = f"**[{notice_label(r.notice)}]** " if r.notice else ""
            bits = [f"{r.n}. {mark}**{r.label}** — {r.title}"]
            tail = ", ".join(str(x) for x in (r.source, r.year) if x)
            if tail:
                bits.append(f"*{tail}*")
            if r.url:
                bits.append(f"<{r.url}>")
            lines.append(" ".join(bits) + f" `{r.doc_id}`")
        lines.append("")
    if answer.related_reading:
        lines += ["## Related reading", ""]
        lines += [f"- {d.label}: {d.title} `{d.doc_id}`" for d in answer.related_reading]
        lines.append("")
    if answer.related_questions:
        lines += ["## Related questions", ""]
        lines += [f"- {q}" for q in answer.related_questions]
        lines.append("")
    lines += [f"*Evidence quality: {answer.evidence_quality.grade}. {answer.evidence_quality.rationale}*", "",
              f"> {answer.disclaimer}", ""]
    return "\n".join(lines)
