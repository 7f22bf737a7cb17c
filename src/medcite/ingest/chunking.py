"""Sentence-aware chunking of sections into passages.

Passages are runs of whole sentences of one section, about ``TARGET_CHARS`` characters long
(≈ 80–120 words, ≈ 100–128 WordPiece tokens): long enough to carry a finding with its context,
short enough that a 128-token embedding model sees all of it and that BM25 length normalisation
does not drown a precise sentence in a long section. No passage is longer than ``MAX_CHARS``: a
sentence below the limit is never cut, a longer one is split at its last clause boundary (``;``,
``:``, ``,``) or else its last space before the limit, and a run without any space is cut hard at the
limit. Chunking is a pure function of the section text, so passage ids and offsets are stable across
re-ingests.
"""

from __future__ import annotations

import re

from medcite.domain import Document, Passage
from medcite.text import sentence_spans

#: bump when chunking changes: the store then asks for `medcite reindex`
CHUNKER_VERSION = "sent-600/2"

TARGET_CHARS = 600
MAX_CHARS = 900

# the end of the last word that a space follows (greedy: the match backtracks from the window's end)
_LAST_WORD_END = re.compile(r"(?s).*\S(?=\s)")


def chunk_spans(text: str, target: int = TARGET_CHARS, maximum: int = MAX_CHARS) -> list[tuple[int, int]]:
    """Group sentence spans of ``text`` into passage spans ``(start, end)``."""
    spans = [piece for s, e in sentence_spans(text) for piece in split_long(text, s, e, maximum)]
    chunks: list[tuple[int, int]] = []
    cur_start: int | None = None
    cur_end = 0
    for s, e in spans:
        if cur_start is None:
            cur_start, cur_end = s, e
            continue
        if (e - cur_start) > maximum or (cur_end - cur_start) >= target:
            chunks.append((cur_start, cur_end))
            cur_start, cur_end = s, e
        else:
            cur_end = e
    if cur_start is not None:
        chunks.append((cur_start, cur_end))
    return chunks


def split_long(text: str, start: int, end: int, maximum: int = MAX_CHARS) -> list[tuple[int, int]]:
    """``text[start:end]`` in pieces of at most ``maximum`` characters (one piece when it already fits).

    Each cut falls after the last ``;``, ``:`` or ``,`` that is followed by a space in the back half of the
    window, else at the last space, else hard at ``maximum``; spaces around a cut belong to no piece.
    """
    pieces: list[tuple[int, int]] = []
    while end - start > maximum:
        limit = start + maximum
        cut = _clause_cut(text, start, limit)
        piece_end = cut
        while piece_end > start and text[piece_end - 1].isspace():
            piece_end -= 1
        pieces.append((start, piece_end))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        pieces.append((start, end))
    return pieces


def _clause_cut(text: str, start: int, limit: int) -> int:
    """Where to end a piece that starts at ``start`` and may not reach past ``limit``."""
    floor = start + (limit - start) // 2
    best = -1
    for mark in ";:,":
        # the mark must be followed by a space (not "1,000" or "10:30") and fit inside the window
        if text[limit - 1] == mark and text[limit].isspace():
            at = limit - 1
        else:
            at = text.rfind(mark + " ", floor, limit)
        best = max(best, at)
    if best >= 0:
        return best + 1
    m = _LAST_WORD_END.match(text, start, limit + 1)  # the last space in the window, ``limit`` included
    return m.end() if m else limit


def chunk_document(doc: Document) -> list[Passage]:
    """Split every section of ``doc`` into passages with stable ids ``{doc_id}#{section}.{chunk}``."""
    passages: list[Passage] = []
    for si, section in enumerate(doc.sections):
        for ci, (s, e) in enumerate(chunk_spans(section.text)):
            passages.append(
                Passage(
                    passage_id=f"{doc.doc_id}#{si}.{ci}",
                    doc_id=doc.doc_id,
                    section_index=si,
                    heading=section.heading,
                    text=section.text[s:e],
                    start=s,
                    end=e,
                )
            )
    return passages
