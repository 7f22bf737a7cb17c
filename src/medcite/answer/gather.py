"""Which passages an answer is composed from, beyond the main retrieval run.

The question is checked and tidied (``clean_question``); a question after some context is also searched
on its own last sentence (``asked_terms``, ``fuse_hits``); patient pages written for the very question
join the candidates (``question_matches``), and so do the key passages that ranking can bury inside a
long document — graded recommendations, conclusions, a label's dosage section (``graded_recommendations``).
"""

from __future__ import annotations

import re
from dataclasses import replace

from medcite.answer.concepts import CONVERSATIONAL, answer_type_words
from medcite.answer.related import patient_title_matches
from medcite.domain import Hit
from medcite.errors import QueryError
from medcite.index.lexical import Filters, hits_from_ids
from medcite.index.terms import query_terms, tokenize
from medcite.retrieve.fusion import reciprocal_rank_fusion
from medcite.store.sqlite import Store
from medcite.text import clean_text, html_to_text, split_sentences, stem


#: fewer non-space characters than this is no question ("abc" would be answered about the abacavir trials)
MIN_QUESTION_CHARS = 4


def clean_question(question: str | None, max_chars: int) -> tuple[str, list[str]]:
    """Validate and tidy a question: markup is removed (never echoed back as HTML), whitespace collapsed.

    Raises QueryError with a clear message for an empty, too short or too long question.
    """
    notes: list[str] = []
    raw = question or ""
    if len(raw) > max_chars:
        raise QueryError(
            f"the question is {len(raw):,} characters long; the limit is {max_chars:,}",
            hint="ask one clinical question in a sentence or two",
        )
    text = raw
    if "<" in raw or "&" in raw:
        text = html_to_text(raw).replace("\n", " ")
        if text != clean_text(raw):
            notes.append("markup removed from the question")
    text = clean_text(text)
    if len(text.replace(" ", "")) < MIN_QUESTION_CHARS:
        raise QueryError("the question is empty or too short", hint="ask a full clinical question, e.g. "
                         "'At what age should colorectal cancer screening start?'")
    return text, notes


def fuse_hits(*runs: list[Hit]) -> list[Hit]:
    """Merge ranked hit lists by reciprocal rank fusion; ranks are renumbered."""
    by_id: dict[str, Hit] = {}
    for run in runs:
        for h in run:
            by_id.setdefault(h.passage_id, h)
    fused = reciprocal_rank_fusion({str(i): [h.passage_id for h in run] for i, run in enumerate(runs)})
    return [replace(by_id[f.key], rank=i) for i, f in enumerate(fused, start=1)]


def asked_terms(question: str) -> tuple[list[str], bool]:
    """Terms of the question's last sentence when it has several (the rest is context), else none; and
    whether that sentence refers back to the context ("… Bell's palsy. Will it go away?") — then it cannot
    be searched on its own, and its words say what is asked but not about what.
    """
    sentences = [x for x in split_sentences(question) if x.strip()]
    if len(sentences) < 2:
        return [], False
    last = next((x for x in reversed(sentences) if x.rstrip().endswith("?")), sentences[-1])
    terms = query_terms(last)
    return terms, bool(terms) and bool(_ANAPHORA.search(last))


#: a question sentence that refers back to an earlier one ("Will I need pills for it?", "What could this be?")
_ANAPHORA = re.compile(r"\b(?:it|its|this|that|these|those|they|them|their|he|she|him|her)\b", re.I)


def question_matches(store: Store, terms: list[str], filters: Filters | None, n_docs: int = 3) -> list[Hit]:
    """Passages of the patient pages whose own question (their title) best matches the asker's words.

    Patient-information documents are answers to named questions ("How is Huntington disease
    inherited?"); matching on those questions finds the page written for exactly this question.
    """
    if not terms or (filters is not None and (
            (filters.kinds and "patient_info" not in filters.kinds)
            or filters.year_min is not None or filters.year_max is not None or filters.sources)):
        return []  # the main run already honours filters this shortcut cannot check
    terms = [t for t in terms if t not in CONVERSATIONAL]
    cands = patient_title_matches(store, terms, by="doc", title_weight=1.0, text_weight=0.0, pool=120)
    # the page whose question names most of the asker's words first; among equals, the one that
    # asks for the kind of answer wanted ("What are the treatments for …" for "which pills?")
    own = {stem(t) for t in terms}
    kinds = {stem(w) for w in answer_type_words(terms)} - own

    def key(row: tuple[str, str, float]) -> tuple[int, int, float, str]:
        words = {stem(w) for w in tokenize(row[1] or "")}
        return (-len(own & words), -bool(kinds & words), row[2], row[0])

    docs = [r[0] for r in sorted(cands, key=key)[:n_docs]]
    ids = [r[0] for d in docs for r in store.conn.execute(
        "SELECT id FROM passages WHERE doc_id = ? ORDER BY section_ord, id LIMIT 4", (d,))]
    return hits_from_ids(store, ids, [0.0] * len(ids), "question-match")

def graded_recommendations(store: Store, hits: list[Hit], n_docs: int = 3) -> list[Hit]:
    """Key passages of the top documents that lexical ranking can bury inside a long document.

    For the top guidelines: their graded recommendation statements (USPSTF A/B/C/D/I …); for the
    top documents of any kind: their conclusion / results / summary passages; for a drug label
    among the top hits: its dosage section. They are added after the document's best hit.
    """
    have = {h.passage_id for h in hits}
    extra: list[Hit] = []
    seen: dict[str, int] = {}
    for h in hits:
        seen.setdefault(h.doc_id, h.rank)
    top = list(seen.items())[:n_docs]
    guidelines = [(d, r) for d, r in seen.items() if any(x.doc_id == d and x.kind == "guideline" for x in hits)][:n_docs]
    labels = [(d, r) for d, r in seen.items() if any(x.doc_id == d and x.kind == "drug_label" for x in hits)][:2]
    queries = [
        (guidelines, """SELECT id FROM passages WHERE doc_id = ? AND (text LIKE '%recommendation)%'
            OR text LIKE '%statement)%' OR text LIKE '%Grade: %' OR text LIKE '%recommendation.%')
            ORDER BY section_ord, id LIMIT 6"""),
        (top, """SELECT id FROM passages WHERE doc_id = ? AND (upper(heading) LIKE '%CONCLUSION%'
            OR upper(heading) LIKE '%FINDINGS%' OR upper(heading) LIKE '%SUMMARY%'
            OR upper(heading) LIKE '%MAIN OUTCOME%' OR upper(heading) = 'RESULTS')
            ORDER BY section_ord, id LIMIT 4"""),
        (labels, """SELECT id FROM passages WHERE doc_id = ? AND (upper(heading) LIKE '%DOSAGE%'
            OR upper(heading) LIKE '%CONTRAINDICATION%' OR upper(heading) LIKE '%WARNING%'
            OR upper(heading) LIKE '%DIRECTIONS%') ORDER BY section_ord, id LIMIT 6"""),
    ]
    for docs, sql in queries:
        for doc_id, rank in docs:
            ids = [r[0] for r in store.conn.execute(sql, (doc_id,))]
            for h in hits_from_ids(store, ids, [0.0] * len(ids), "key-passages"):
                if h.passage_id not in have:
                    have.add(h.passage_id)
                    extra.append(replace(h, rank=rank))
    return extra


def typed_passages(store: Store, hits: list[Hit], types: tuple[str, ...], n_docs: int = 3) -> list[Hit]:
    """The sections of the top documents that answer this kind of question, where ranking missed them.

    For a drug label among the top hits: its sections for the question type (CONTRAINDICATIONS for "can he
    take …", ADVERSE REACTIONS for side effects, DRUG INTERACTIONS, PREGNANCY …). For a patient page among
    the top hits: the page of the same source document written for this kind of question ("What are the
    signs of stroke?" beside "What is stroke?"). Each is added with its document's rank.
    """
    from medcite.answer.qtypes import BY_NAME

    if not types:
        return []
    have = {h.passage_id for h in hits}
    ranks: dict[str, int] = {}
    kinds: dict[str, str] = {}
    for h in hits:
        ranks.setdefault(h.doc_id, h.rank)
        kinds.setdefault(h.doc_id, h.kind)
    ids: list[tuple[int, str]] = []
    labels = [d for d in ranks if kinds[d] == "drug_label"][:2]
    patterns = [p for t in types for p in BY_NAME[t].label_sections]
    for doc_id in labels:
        for pattern in patterns:
            ids += [(ranks[doc_id], r[0]) for r in store.conn.execute(
                "SELECT id FROM passages WHERE doc_id = ? AND upper(heading) LIKE ? ORDER BY section_ord, id LIMIT 4",
                (doc_id, pattern))]
    pages = [d for d in ranks if kinds[d] == "patient_info" and d.startswith("medquad:")][:n_docs]
    for doc_id in pages:
        family = doc_id.rsplit("-", 1)[0]
        for sib, title in store.conn.execute("SELECT doc_id, title FROM documents WHERE doc_id LIKE ? AND doc_id != ?",
                                             (family.replace("%", "") + "-%", doc_id)):
            if any(BY_NAME[t].answers.search(title or "") for t in types):
                ids += [(ranks[doc_id], r[0]) for r in store.conn.execute(
                    "SELECT id FROM passages WHERE doc_id = ? ORDER BY section_ord, id LIMIT 3", (sib,))]
    extra: list[Hit] = []
    for rank, pid in ids:
        for h in hits_from_ids(store, [pid], [0.0], "typed-section"):
            if h.passage_id not in have:
                have.add(h.passage_id)
                extra.append(replace(h, rank=rank))
    return extra
