"""Rerank retrieved passages with the answer model (``medcite.answer.model``).

The top ``top`` hits are scored as (question, passage shown like a candidate sentence: its text with its
heading and document title) and reordered by the model's probability; the hits below ``top`` keep their
order after them. Each reranked hit records the model's probability in ``stages["model"]``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from medcite.answer.pairs import candidate_text
from medcite.domain import Hit

#: characters of a passage the model reads (it sees at most 96 tokens of question and passage together)
PASSAGE_CHARS = 480


def rerank_hits(model: Any, question: str, hits: Sequence[Hit], top: int = 20) -> list[Hit]:
    head, tail = list(hits[:top]), list(hits[top:])
    if not head:
        return list(hits)
    shown = [candidate_text(h.text[:PASSAGE_CHARS], "" if h.kind == "patient_info" else h.heading,
                            "" if h.kind == "patient_info" else h.title) for h in head]
    probs = model.score(question, shown)
    order = sorted(range(len(head)), key=lambda i: (-float(probs[i]), head[i].rank, head[i].passage_id))
    out = [replace(head[i], rank=n, stages={**dict(head[i].stages), "model": round(float(probs[i]), 4)})
           for n, i in enumerate(order, start=1)]
    return out + [replace(h, rank=len(out) + j) for j, h in enumerate(tail, start=1)]
