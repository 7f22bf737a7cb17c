"""Turning user text into safe lexical query terms.

User text never reaches FTS5 ``MATCH`` as syntax: it is tokenised into plain word terms, each
quoted, so ``NOT``, ``"``, ``*``, ``:`` or parentheses in a question can neither break nor alter a
search. Question words and clinical boilerplate ("what", "should", "patient") are dropped so they
cannot dominate the ranking.
"""

from __future__ import annotations

import re
import unicodedata

from medcite import regexcache

_TOKEN = regexcache.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)

STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are aren't as at be because been before being below
    between both but by can cannot could couldn't did didn't do does doesn't doing don't down during each few
    for from further had hadn't has hasn't have haven't having he her here hers herself him himself his how i
    if in into is isn't it it's its itself just let's me more most mustn't my myself no nor not of off on once
    only or other ought our ours ourselves out over own same shan't she should shouldn't so some such than that
    the their theirs them themselves then there these they this those through to too under until up very was
    wasn't we were weren't what when where which while who whom why will with won't would wouldn't you your
    yours yourself yourselves
    also may might must shall whether within without via per versus vs etc eg ie
    does anyone someone something anything really actually currently usually generally typically
    tell know explain describe define mean means please help
    patient patients person people someone individual individuals adult adults
    recommended recommend recommendation recommendations indicated appropriate best
    get gets getting take taking use using used good bad need needs
    """.split()
)

#: words kept even though short or common, because they carry clinical meaning
_KEEP = frozenset({"no2", "hiv", "t2", "t1", "ct", "mri", "b12", "d3"})


_CONTROL_CHARS = regexcache.compile("[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff\ufff9-\ufffb]")


def normalise(text: str) -> str:
    """NFKC-normalise (non-ASCII only) and blank out control and invisible format characters."""
    if not text.isascii():
        text = _CONTROL_CHARS.sub(" ", unicodedata.normalize("NFKC", text))
        if text.isprintable():
            return text  # the common case: nothing else to blank out (checked in C, not per character)
        return "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") else ch for ch in text)
    return _CONTROL_CHARS.sub(" ", text)


_POSSESSIVE = regexcache.compile(r"['’]s$")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens; a possessive "'s" is dropped ("Huntington's" → "huntington")."""
    return [_POSSESSIVE.sub("", m.group(0).lower()) for m in _TOKEN.finditer(normalise(text).replace("’", "'"))]


def query_terms(text: str, *, max_terms: int = 64) -> list[str]:
    """Content terms of ``text`` in order, deduplicated, stop words removed.

    If *every* word is a stop word (e.g. "what should I do?"), the stop words themselves are kept so
    the user still gets results. At most ``max_terms`` terms (a pasted 10,000-word text is cut).
    """
    tokens = tokenize(text)
    terms: list[str] = []
    seen: set[str] = set()
    for tok in tokens:
        tok = tok.strip("'-")
        if not tok or tok in seen:
            continue
        if tok in STOP_WORDS and tok not in _KEEP:
            continue
        if len(tok) == 1 and not tok.isdigit():
            continue
        seen.add(tok)
        terms.append(tok)
        if len(terms) >= max_terms:
            break
    if not terms:
        for tok in tokens:
            if tok not in seen and len(tok) > 1:
                seen.add(tok)
                terms.append(tok)
            if len(terms) >= max_terms:
                break
    return terms


def fts_quote(term: str) -> str:
    """Quote one term for FTS5 (double quotes doubled), so it is always a plain string."""
    return '"' + term.replace('"', '""') + '"'


def fts_or_query(terms: list[str]) -> str:
    return " OR ".join(fts_quote(t) for t in terms)
