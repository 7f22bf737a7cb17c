"""Related questions: the corpus's own questions (MedQuAD titles) and earlier asked questions, nearest first."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from medcite import blobcache, regexcache
from medcite.index.terms import fts_quote, query_terms
from medcite.store.sqlite import Store
from medcite.text import stem

_ARE = regexcache.compile(r"\s*\((?:are|is|s)\)", re.I)
_SPACE_Q = regexcache.compile(r"\s+\?")


def tidy_question(q: str) -> str:
    """"What is (are) Glaucoma ?" → "What is Glaucoma?"."""
    q = _SPACE_Q.sub("?", _ARE.sub("", q)).strip()
    return q[:1].upper() + q[1:] if q else q


#: a page question built from a template around a title that is itself a question ("How to prevent Am I at Risk
#: for Type 2 Diabetes? Taking Steps …?") reads as nonsense: never suggested
_TEMPLATE_AROUND_QUESTION = regexcache.compile(
    r"^(?:what (?:is|are)|how to (?:prevent|diagnose)|what are the (?:symptoms|treatments|causes) (?:of|for)|"
    r"who is at risk for|what causes|is|are)\s+(?:am|is|are|do|does|can|what|how|why|who|should)\b", re.I)


def garbled_question(q: str) -> bool:
    """A question that asks two things at once or wraps another question (a template gone wrong)."""
    return "?" in q.rstrip().rstrip("?") or bool(_TEMPLATE_AROUND_QUESTION.match(q.strip()))


def _key(q: str) -> frozenset[str]:
    return frozenset(stem(t) for t in query_terms(q))


def patient_title_matches(
    store: Store, terms: list[str], *, by: str = "title", title_weight: float = 4.0, text_weight: float = 1.0,
    pool: int = 200, limit: int = 40,
) -> list[tuple[str, str, float]]:
    """Patient pages whose title (their own question) matches any of ``terms``, best first.

    Returns ``(key, title, bm25)`` rows grouped ``by`` "title" (key = the title) or "doc" (key = the
    doc_id), from the ``pool`` best-ranked passages.
    bm25() cannot sit inside an aggregate (SQLite refuses the plan), so passages are ranked first and
    grouped after; an FTS syntax error gives no rows.
    """
    if not terms:
        return []
    column = {"title": "p.title", "doc": "p.doc_id"}[by]
    match = "title : (" + " OR ".join(fts_quote(t) for t in terms) + ")"
    try:
        return [tuple(r) for r in store.conn.execute(
            f"""SELECT k, title, min(s) AS best FROM (
                   SELECT {column} AS k, p.title AS title,
                          bm25(passages_fts, ?, ?, ?) AS s FROM passages_fts
                   CROSS JOIN passages p ON p.id = passages_fts.rowid
                   CROSS JOIN documents d ON d.doc_id = p.doc_id
                   WHERE passages_fts MATCH ? AND d.kind = 'patient_info'
                   ORDER BY s LIMIT ?)
               GROUP BY k ORDER BY best, k LIMIT ?""",
            (title_weight, text_weight, text_weight, match, pool, limit))]
    except sqlite3.OperationalError:
        return []


#: a stem in more than this share of the patient-page questions (and more than TEMPLATE_MIN of them) is a word of
#: their templates, not a topic
TEMPLATE_SHARE = 0.03
TEMPLATE_MIN = 25


@dataclass
class PageQuestions:
    """The corpus's own patient-page questions (distinct patient-information titles that end in "?") with their
    word stems, indexed by stem: related questions are chosen among them in memory, not by a full-text query
    per answer (one query of all patient-page titles matching any word cost ~10 ms an answer)."""

    titles: list[str]
    keys: list[frozenset[str]]
    by_stem: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def load(cls, store: Store) -> "PageQuestions":
        return cls.of([t for (t,) in store.conn.execute(
            "SELECT DISTINCT title FROM documents WHERE kind = 'patient_info' AND title LIKE '%?' ORDER BY title")])

    @classmethod
    def of(cls, titles: list[str]) -> "PageQuestions":
        out = cls(titles, [_key(t) for t in titles])
        for i, key in enumerate(out.keys):
            for st in key:
                out.by_stem.setdefault(st, []).append(i)
        return out

    def matching(self, stems: set[str] | frozenset[str]) -> list[int]:
        """The questions that share a word stem with ``stems``, in title order — a word of the pages' question
        templates ("What causes …?", "How many people are affected by …?", "symptoms", "treatments": stems in
        more than ``TEMPLATE_SHARE`` of the titles) does not count: "Does buspar cause sleepiness?" is not
        followed by "What causes ARDS?"."""
        most = max(TEMPLATE_SHARE * len(self.titles), TEMPLATE_MIN)
        return sorted({i for st in stems if len(self.by_stem.get(st, ())) <= most for i in self.by_stem.get(st, ())})


_PAGE_QUESTIONS: dict[str, tuple[str, PageQuestions]] = {}
_PAGE_QUESTIONS_LOCK = threading.Lock()
#: bump when ``PageQuestions`` or the stems it keeps (``_key``) change: older blobs are then ignored
_BLOB_FORMAT = 1


def _blob_path(store: Store, fingerprint: str) -> Path | None:
    """The blob of this store's page questions at this corpus state (one family: only the last store's is kept)."""
    root = blobcache.cache_root()
    if root is None:
        return None
    tag = hashlib.sha256(f"{Path(store.path).resolve()}|{fingerprint}".encode()).hexdigest()[:20]
    return root / "related" / blobcache.blob_name(f"page-questions-v{_BLOB_FORMAT}-{tag}")


def page_questions(store: Store) -> PageQuestions:
    """``PageQuestions`` of ``store``, loaded once per process and again whenever the corpus changes.

    Stemming every page question costs ~0.25 s (15k pages); the result is kept between processes as a blob
    (``medcite.blobcache``, ~15 ms to read), so a one-shot ``medcite ask`` does not pay it each time."""
    fingerprint = store.fingerprint()
    key = str(store.path)
    with _PAGE_QUESTIONS_LOCK:
        cached = _PAGE_QUESTIONS.get(key)
        if cached is None or cached[0] != fingerprint:
            path = _blob_path(store, fingerprint)
            blob = blobcache.load(path)
            if (isinstance(blob, tuple) and len(blob) == 3 and isinstance(blob[0], list)
                    and isinstance(blob[1], list) and isinstance(blob[2], dict) and len(blob[0]) == len(blob[1])):
                pages = PageQuestions(*blob)
            else:  # none yet, unreadable or of another layout: built from the store and kept
                pages = PageQuestions.load(store)
                blobcache.save(path, (pages.titles, pages.keys, pages.by_stem), "page-questions-")
            cached = _PAGE_QUESTIONS[key] = (fingerprint, pages)
    return cached[1]


def related_questions(store: Store, question: str, limit: int = 5, topic: Sequence[str] = ()) -> list[str]:
    """Up to ``limit`` questions near ``question``: patient pages' own questions and earlier asked ones.

    ``topic`` (the answer's topic words, when the composer found them) puts questions about that topic
    first: "Does smoking the meat protect us from trichinosis?" is followed by questions on trichinosis,
    not by "What is Smoking?".
    """
    terms = query_terms(question)
    if not terms:
        return []
    own = _key(question)
    about = {stem(t) for t in topic}
    bonus = lambda key: 1.0 if about & key else 0.0  # noqa: E731
    candidates: list[tuple[float, str]] = []
    pages = page_questions(store)
    # the topic's own pages first; all the question's words only when they are too few
    found = pages.matching(about) if about else []
    if len(found) < limit:
        found = sorted(set(found) | set(pages.matching(own)))
    for i in found:
        key = pages.keys[i]
        candidates.append((_jaccard(own, key) + bonus(key), tidy_question(pages.titles[i])))
    for (q,) in store.conn.execute(
        "SELECT question FROM asked_questions ORDER BY last_at DESC LIMIT 500"
    ).fetchall():
        key = _key(q)
        overlap = _jaccard(own, key)
        if overlap > 0:
            candidates.append((overlap + 0.05 + bonus(key), q))
    candidates.sort(key=lambda c: (-c[0], c[1]))
    out: list[str] = []
    seen = {own}
    for _score, q in candidates:
        k = _key(q)
        if not k or k in seen or q.strip().lower() == question.strip().lower() or garbled_question(q):
            continue
        seen.add(k)
        out.append(q)
        if len(out) >= limit:
            break
    return out


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def remember_question(store: Store, question: str, audience: str) -> None:
    """Record an asked question (already PHI-redacted by the caller) for later suggestions."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    store.conn.execute(
        """INSERT INTO asked_questions(question, audience, times, first_at, last_at) VALUES (?, ?, 1, ?, ?)
           ON CONFLICT(question, audience) DO UPDATE SET times = times + 1, last_at = excluded.last_at""",
        (question, audience, now, now),
    )
