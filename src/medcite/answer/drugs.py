"""Named-drug coverage: a bottom line about a drug the question names comes from documents that name it.

"I take Plavix since my stent — can I use Viagra too?" names two drugs. The Viagra label's cautions answer a
question about Viagra, not about Viagra with clopidogrel, and quoting them as the bottom line reads as an
answer to the interaction the reader asked about. Which words are drugs is data, not a rule list: the drug
dictionary the query analyser already loads (brand and generic names, ``retrieve.query``). A drug named in the
question counts as covered when a document behind the bottom line names it — by the question's word, its generic
name or another of its names in the dictionary — in its title or any passage; otherwise the answer is
"insufficient evidence" for that drug. The service checks questions that name two or more drugs
(``drug_coverage``; docs/composer.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from medcite import regexcache

_WORD = regexcache.compile(r"[a-z0-9][a-z0-9'\-]*", re.I)


def named_drugs(question: str, drugs: Mapping[str, str], generics: frozenset[str]) -> dict[str, str]:
    """The drugs a question names: ``{word as asked: generic}`` ("plavix" → "clopidogrel"), from 1–3 word
    names in the drug dictionary (``drugs``: lower variant → generic) or its generic names."""
    words = [w.lower() for w in _WORD.findall(question)]
    found: dict[str, str] = {}
    taken: set[int] = set()
    for n in (3, 2, 1):
        for i in range(len(words) - n + 1):
            if taken & set(range(i, i + n)):
                continue
            name = " ".join(words[i:i + n])
            generic = drugs.get(name) or (name if name in generics else None)
            if generic:
                found[name] = generic
                taken.update(range(i, i + n))
    return found


def _pattern(names: Iterable[str]) -> re.Pattern[str]:
    alts = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
    return re.compile(r"(?<![a-z0-9])(?:" + alts + r")(?![a-z0-9])", re.I)


def uncovered_drugs(named: Mapping[str, str], doc_ids: Iterable[str], store: Any,
                    variants: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """The question's drugs (as asked) that no document in ``doc_ids`` names — by the question's word, the
    generic name or another of its names in the dictionary (``variants``: generic → brand and other names) —
    in its title or passages."""
    ids = list(dict.fromkeys(doc_ids))
    if not named or not ids:
        return []
    texts = _doc_texts(store, ids)
    missing = []
    for asked, generic in named.items():
        pat = _pattern([asked, generic, *((variants or {}).get(generic, ()))])
        if not any(pat.search(t) for t in texts):
            missing.append(asked)
    return missing


def naming_none(named: Mapping[str, str], doc_ids: Iterable[str], store: Any,
                variants: Mapping[str, Sequence[str]] | None = None) -> set[str]:
    """The documents among ``doc_ids`` that name none of the question's drugs (by any of their names): a sentence
    of theirs is about something else ("When opioids are started, clinicians should prescribe the lowest
    effective dosage." for a sildenafil dose with erythromycin) and never opens an answer about those drugs."""
    if not named:
        return set()
    return {d for d in dict.fromkeys(doc_ids) if len(uncovered_drugs(named, [d], store, variants)) == len(named)}


def _doc_texts(store: Any, doc_ids: Sequence[str]) -> list[str]:
    marks = ",".join("?" * len(doc_ids))
    conn = store.conn
    rows = conn.execute(f"SELECT title FROM documents WHERE doc_id IN ({marks})", list(doc_ids)).fetchall()
    texts = [r[0] or "" for r in rows]
    rows = conn.execute(f"SELECT text FROM passages WHERE doc_id IN ({marks})", list(doc_ids)).fetchall()
    texts += [r[0] or "" for r in rows]
    return texts
