"""Sentence-aware chunking of sections into passages.

Passages are runs of whole sentences of one section, about ``TARGET_CHARS`` characters long
(≈ 80–120 words, ≈ 100–128 WordPiece tokens): long enough to carry a finding with its context,
short enough that a 128-token embedding model sees all of it and that BM25 length normalisation
does not drown a precise sentence in a long section. A sentence is never cut: a single sentence
longer than ``MAX_CHARS`` becomes a passage of its own. Chunking is a pure function of the
section text, so passage ids and offsets are stable across re-ingests.
"""

from __future__ import annotations

from medcite.domain import Document, Passage
from medcite.text import sentence_spans

#: bump when chunking changes: the store then asks for `medcite reindex`
CHUNKER_VERSION = "sent-600/1"

TARGET_CHARS = 600
MAX_CHARS = 900


def chunk_spans(text: str, target: int = TARGET_CHARS, maximum: int = MAX_CHARS) -> list[tuple[int, int]]:
    """Group sentence spans of ``text`` into passage spans ``(start, end)``."""
    spans = sentence_spans(text)
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
