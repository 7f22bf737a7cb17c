"""Related questions: the corpus's own questions (MedQuAD titles) and earlier asked questions, nearest first."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timezone
from typing import Sequence

from medcite import regexcache
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
    pool: int = 200, limit: int = 40, questions_only: bool = False,
) -> list[tuple[str, str, float]]:
    """Patient pages whose title (their own question) matches any of ``terms``, best first.

    Returns ``(key, title, bm25)`` rows grouped ``by`` "title" (key = the title) or "doc" (key = the
    doc_id), from the ``pool`` best-ranked passages. ``questions_only`` keeps titles that end in "?".
    bm25() cannot sit inside an aggregate (SQLite refuses the plan), so passages are ranked first and
    grouped after; an FTS syntax error gives no rows.
    """
    if not terms:
        return []
    column = {"title": "p.title", "doc": "p.doc_id"}[by]
    match = "title : (" + " OR ".join(fts_quote(t) for t in terms) + ")"
    only_questions = "AND p.title LIKE '%?'" if questions_only else ""
    try:
        return [tuple(r) for r in store.conn.execute(
            f"""SELECT k, title, min(s) AS best FROM (
                   SELECT {column} AS k, p.title AS title,
                          bm25(passages_fts, ?, ?, ?) AS s FROM passages_fts
                   CROSS JOIN passages p ON p.id = passages_fts.rowid
                   CROSS JOIN documents d ON d.doc_id = p.doc_id
                   WHERE passages_fts MATCH ? AND d.kind = 'patient_info' {only_questions}
                   ORDER BY s LIMIT ?)
               GROUP BY k ORDER BY best, k LIMIT ?""",
            (title_weight, text_weight, text_weight, match, pool, limit))]
    except sqlite3.OperationalError:
        return []


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
    # the topic's own pages first (one cheap query); all the question's words only when they are too few
    rows = patient_title_matches(store, list(topic), questions_only=True) if topic else []
    if len(rows) < limit:
        rows += patient_title_matches(store, terms, questions_only=True)
    for _title_key, title, _score in rows:
        key = _key(title)
        candidates.append((_jaccard(own, key) + bonus(key), tidy_question(title)))
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
