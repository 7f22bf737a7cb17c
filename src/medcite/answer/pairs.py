"""How a (question, candidate sentence) pair is shown to the answer model.

One function shared by training (tools/answer_model) and inference (medcite.answer.model), so the model
always sees candidates in the layout it was trained on: the sentence first (never truncated away), then
its section heading and its document's title, each cut to a few words.
"""

from __future__ import annotations

import re

#: words kept of a heading and of a document title
HEADING_WORDS = 10
TITLE_WORDS = 14

_SPACE = re.compile(r"\s+")


def _cut(text: str, words: int) -> str:
    parts = _SPACE.sub(" ", text or "").strip().split(" ")
    return " ".join(parts[:words]) if parts != [""] else ""


def candidate_text(sentence: str, heading: str = "", title: str = "") -> str:
    """``sentence (heading · title)`` — the second segment of the model's input pair."""
    context = " · ".join(x for x in (_cut(heading, HEADING_WORDS), _cut(title, TITLE_WORDS)) if x)
    sentence = _SPACE.sub(" ", sentence or "").strip()
    return f"{sentence} ({context})" if context else sentence
