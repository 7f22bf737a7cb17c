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


def uncovered_by_doc(named: Mapping[str, str], doc_ids: Iterable[str], store: Any,
                     variants: Mapping[str, Sequence[str]] | None = None) -> dict[str, list[str]]:
    """Per document of ``doc_ids``: the question's drugs (as asked) it does not name — by the question's word, the
    generic name or another of its names in the dictionary (``variants``: generic → brand and other names) —
    in its title or passages. Each document's text is read once."""
    patterns = [(asked, _pattern([asked, generic, *((variants or {}).get(generic, ()))]))
                for asked, generic in named.items()]
    out: dict[str, list[str]] = {}
    for doc in dict.fromkeys(doc_ids):
        texts = _doc_texts(store, [doc])
        out[doc] = [asked for asked, pat in patterns if not any(pat.search(t) for t in texts)]
    return out


def _none_names(per_doc: Mapping[str, list[str]], named: Mapping[str, str]) -> list[str]:
    """The drugs no document of ``per_doc`` names (each is missing from every one)."""
    return [asked for asked in named if per_doc and all(asked in missing for missing in per_doc.values())]


def uncovered_drugs(named: Mapping[str, str], doc_ids: Iterable[str], store: Any,
                    variants: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """The question's drugs (as asked) that no document in ``doc_ids`` names (``uncovered_by_doc``)."""
    return _none_names(uncovered_by_doc(named, doc_ids, store, variants), named) if named else []


def bottom_line_drugs(named: Mapping[str, str], doc_ids: Iterable[str], store: Any,
                      variants: Mapping[str, Sequence[str]] | None = None) -> tuple[set[str], list[str]]:
    """For the documents behind a bottom line: those to leave out, and the drugs the rest never name.

    A document that names none of the question's drugs gives a sentence about something else ("When opioids are
    started, clinicians should prescribe the lowest effective dosage." for a sildenafil dose with erythromycin):
    it is left out when another document remains. A drug none of the remaining documents names makes the answer
    "insufficient evidence" for it."""
    if not named:
        return set(), []
    per_doc = uncovered_by_doc(named, doc_ids, store, variants)
    off_topic = {d for d, missing in per_doc.items() if len(missing) == len(named)}
    if len(off_topic) == len(per_doc):
        off_topic = set()
    kept = {d: missing for d, missing in per_doc.items() if d not in off_topic}
    return off_topic, _none_names(kept, named)


def _doc_texts(store: Any, doc_ids: Sequence[str]) -> list[str]:
    marks = ",".join("?" * len(doc_ids))
    conn = store.conn
    rows = conn.execute(f"SELECT title FROM documents WHERE doc_id IN ({marks})", list(doc_ids)).fetchall()
    texts = [r[0] or "" for r in rows]
    rows = conn.execute(f"SELECT text FROM passages WHERE doc_id IN ({marks})", list(doc_ids)).fetchall()
    texts += [r[0] or "" for r in rows]
    return texts
