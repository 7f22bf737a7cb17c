"""What a question asks: its concepts, their wordings and weights, its focus words.

A question's words become concepts with alternative wordings (expansions, abbreviations, the kind of answer a
question word asks for); helpers here weigh them (topic vs aspect words, everyday-English rarity) and test
whether a sentence mentions them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Callable, Iterable, Sequence

from medcite import regexcache
from medcite.domain import Hit
from medcite.index.terms import tokenize
from medcite.text import split_sentences, stem

#: words of how people ask, not of what they ask about; they never count towards relevance
CONVERSATIONAL = frozenset("""
    think thought i'm im i've ive i'd id coming come came see saw seen told tell said ask asked wonder wondering
    worried worry concerned know knew doctor doctors nurse son daughter father mother dad mom mum wife husband
    child's kid kids baby's friend friends family's ones one thing things stuff rid rest quickly quick soon usual
    usually go going gone give given get got better worse even report reported offered man woman men women boy
    girl guy lady checked check okay ok safe really much many lot lots able way ways happen happens happened
    grandmother grandfather grandma grandpa granny aunt uncle sister brother cousin niece nephew neighbor
    neighbour partner boyfriend girlfriend diagnosed scared afraid
    want wants like likely known per according feel feeling fine went ago started suggest suggests would could
    actually seems
    """.split())

#: what a question word asks for → words of a sentence (or its heading) that answer it. "What medicines
#: help?" is answered by "treatment with antiviral drugs"; "How often?" by "every 2 years" or "biennial";
#: "What signs?" by a section on symptoms. Only the answer's *type*, never a particular answer.
_ANSWER_TYPES: tuple[tuple[str, str], ...] = (
    ("often frequent frequency interval how-often",
     "every annual annually yearly biennial biennially interval intervals frequency monthly weekly"),
    ("age old ages", "age aged ages older younger"),
    ("dose dosage dosing doses",
     "dose dosage doses mg mcg microgram micrograms daily milligram milligrams"),
    ("medicine medicines medication medications drug drugs pill pills treat treated treatment treatments "
     "therapy therapies cure",
     "treatment treatments treated treat therapy therapies drug drugs medication medications medicine medicines "
     "prescribe prescribed"),
    ("sign signs symptom symptoms feature features",
     "symptom symptoms sign signs characterized features"),
    ("cause causes caused why",
     "cause causes caused mutations mutation due"),
    ("inherit inherited inheritance hereditary chance chances pass",
     "inherited inheritance autosomal dominant recessive pattern"),
    ("test tests testing screen screened screening",
     "screening screen screened test testing tests"),
    ("prognosis recover recovery",
     "prognosis outlook recover recovery recovered improve improvement weeks months permanent"),
)


#: the shape of an answer of each type: a sentence stating such a value answers "how often?", "what dose?"
_VALUE_CUES: dict[str, re.Pattern[str]] = {
    stem("often"): regexcache.compile(r"\b(?:every \d+|every (?:one|two|three|five|ten|year|month|week)|annual(?:ly)?|"
                              r"biennial(?:ly)?|yearly|once a (?:year|month|week|day)|\d+[- ](?:year|month)s? interval)",
                              re.I),
    stem("age"): regexcache.compile(r"\b(?:aged?|ages) \d+|\b\d+ (?:to|and|through|-|–) \d+ years|\b\d+ years (?:of age|or older|"
                            r"and older|or younger)|\bolder than \d+|\byounger than \d+", re.I),
    stem("dose"): regexcache.compile(r"\b\d+(?:\.\d+)?(?: (?:to|or|-|–) \d+(?:\.\d+)?)? ?(?:mg|mcg|µg|μg|g|mL|IU|units?|"
                             r"micrograms?|milligrams?)\b", re.I),
    stem("medicine"): regexcache.compile(r"\b(?:treated with|treatment (?:is|includes?|with|for)|therapy (?:is|includes?|with)|"
                                 r"drugs? (?:such as|include|called)|medicines? (?:such as|include|called)|"
                                 r"medications? (?:such as|include|called)|prescribe)", re.I),
    stem("sign"): regexcache.compile(r"\b(?:symptoms (?:include|are|may|can)|signs (?:include|and symptoms)|characterized by|"
                             r"features (?:include|may))", re.I),
    stem("cause"): regexcache.compile(r"\b(?:caused by|is due to|are due to|results? from|mutations? in|leads? to)\b", re.I),
    stem("prognosis"): regexcache.compile(r"\b(?:prognosis (?:is|for)|outlook (?:is|for)|recover(?:y|ed)? (?:completely|fully)|"
                                r"(?:within|after|in) (?:\d+|a few|several) (?:days|weeks|months)|"
                                r"\d+ (?:to|-|–) \d+ (?:days|weeks|months))", re.I),
    stem("inherit"): regexcache.compile(r"\b(?:autosomal (?:dominant|recessive)|inherited in|X-linked|pattern of inheritance|"
                                r"inheritance pattern|\d+ ?(?:%|percent) chance)", re.I),
}


@lru_cache(maxsize=1)
def _value_cue_map() -> dict[str, re.Pattern[str]]:
    """Question word stem → the value pattern of the answer type it asks for."""
    out: dict[str, re.Pattern[str]] = {}
    for asks, _answers in _ANSWER_TYPES:
        words = [stem(w) for w in asks.split()]
        cue = next((_VALUE_CUES[w] for w in words if w in _VALUE_CUES), None)
        if cue is not None:
            for w in words:
                out[w] = cue
    return out



def answer_type_words(terms: Sequence[str]) -> list[str]:
    """The words that name the kind of answer the question's words ask for, as written in titles.

    "Which pills …?" → treatment, treatments, therapy …: a patient page titled "What are the
    treatments for Hashimoto's disease?" answers it although it never says "pills".
    """
    asked = {stem(t) for t in terms}
    out: list[str] = []
    for asks, answers in _ANSWER_TYPES:
        if asked & {stem(w) for w in asks.split()}:
            out.extend(w for w in answers.split() if w not in out)
    return out


def answer_type_stems() -> frozenset[str]:
    """Stems of the words that name a kind of answer ("pills", "dosage", "symptoms"), not a topic."""
    return frozenset(_answer_type_map())


#: a word at least this common in everyday English (Zipf frequency) is how the asker talks ("fallback"), not a
#: thing the corpus lacks: for the model composer it never makes a question unanswerable on its own
EVERYDAY_ZIPF = 2.5


def missing_words(terms: Sequence[str], df: Callable[[str], int], expansions: Iterable[Any] = (),
                  everyday_zipf: float | None = None) -> list[str]:
    """Specific question words no document of the corpus uses (then the corpus cannot answer).

    A word counts as said when its rewording is fully known to the corpus ("seasick" → "motion
    sickness"); a brand whose combination the corpus only half knows ("Entresto" → sacubitril/valsartan, no
    "sacubitril") stays missing. Words that only name the kind of answer ("pills", "dosage") never count as
    missing, nor (with ``everyday_zipf``) everyday English words at least that common ("fallback").
    """
    types = answer_type_stems()
    reworded: set[str] = set()
    for ex in expansions:
        target = [t for t in tokenize(getattr(ex, "target", "") or "") if len(t) > 2]
        if target and all(df(t) > 0 for t in target):
            reworded |= {w.lower() for w in tokenize(getattr(ex, "source", "") or "")}
    out = [t for t in terms
           if len(t) >= 5 and t.isalpha() and t not in CONVERSATIONAL and stem(t) not in types
           and t.lower() not in reworded and df(t) == 0]
    if everyday_zipf is not None and out:
        from wordfreq import zipf_frequency

        out = [t for t in out if zipf_frequency(t, "en") < everyday_zipf]
    return out



@lru_cache(maxsize=1)
def _answer_type_map() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for asks, answers in _ANSWER_TYPES:
        ans = tuple(dict.fromkeys(stem(w) for w in answers.split()))
        for w in asks.split():
            out.setdefault(stem(w), ())
            out[stem(w)] = tuple(dict.fromkeys(out[stem(w)] + ans))
    return out


#: words at least this long also match their variants sharing the first ``_PREFIX`` letters
#: ("mammogram" ~ "mammography", "pregnancy" ~ "pregnant")
_PREFIX = 7
_PREFIX_MARK = "~"


@lru_cache(maxsize=65536)
def with_prefixes(tokens: frozenset[str]) -> frozenset[str]:
    return tokens | {_PREFIX_MARK + t[:_PREFIX] for t in tokens if len(t) > _PREFIX and t.isalpha()}



@dataclass(frozen=True)
class Concept:
    term: str
    alternatives: tuple[frozenset[str], ...]
    idf: float
    topic: bool = False     # named in most top-hit titles: what the question is about
    core: int = 0           # the first ``core`` alternatives are its own wordings (0: all of them)
    asks: bool = False      # a word that names the kind of answer ("dose", "how often", "signs")

    def own(self) -> "Concept":
        return Concept(self.term, self.alternatives[: self.core or None], self.idf, self.topic)


@lru_cache(maxsize=65536)
def sentence_tokens(text: str) -> frozenset[str]:
    """Stemmed word set of a sentence (cached: the same passages come back for related questions)."""
    return frozenset(stem(t) for t in tokenize(text))


def build_concepts(
    terms: Sequence[str], expansions: Iterable[Any], idf: Callable[[str], float]
) -> list[Concept]:
    """One concept per query term; an expansion adds alternative wordings to the term it expands.

    A hyphenated term ("average-risk") matches its parts written either way, and weighs what its
    parts weigh on average (the rare exact phrase would otherwise dominate the question).
    """
    alts: dict[str, list[frozenset[str]]] = {}
    weights: dict[str, float] = {}
    for t in terms:
        parts = [p for p in re.split(r"[-']", t) if len(p) > 1]
        if len(parts) > 1:
            alts[t] = [frozenset({stem(t)}), frozenset(stem(p) for p in parts)]
            weights[t] = sum(idf(p) for p in parts) / len(parts)
        else:
            alts[t] = [frozenset({stem(t)})]
            weights[t] = idf(t)
    for ex in expansions:
        src_tokens = [stem(t) for t in tokenize(getattr(ex, "source", "") or "")]
        tgt = frozenset(stem(t) for t in tokenize(getattr(ex, "target", "") or "") if len(t) > 2)
        if not tgt:
            continue
        for term in alts:
            if stem(term) in src_tokens:
                alts[term].append(tgt)
    # the reverse too: a question that spells out "abdominal aortic aneurysm" also matches "AAA"
    stems = {stem(t): t for t in alts}
    for abbr, full_words in _full_forms():
        if all(w in stems for w in full_words):
            for w in full_words:
                alts[stems[w]].append(frozenset({abbr}))
    types = _answer_type_map()
    core = {t: len(dict.fromkeys(a)) for t, a in alts.items()}
    for term, a in alts.items():
        st = stem(term)
        for ans in types.get(st, ()):
            a.append(frozenset({ans}))
        if len(st) > _PREFIX and st.isalpha():
            a.append(frozenset({_PREFIX_MARK + st[:_PREFIX]}))
    concepts = [Concept(t, tuple(dict.fromkeys(a)), weights[t], core=core[t], asks=stem(t) in types)
                for t, a in alts.items()]
    return concepts


@lru_cache(maxsize=1)
def _full_forms() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(abbreviation stem, stems of its full form) from the query analyzer's abbreviation table."""
    try:
        from medcite.retrieve.query import ABBREVIATIONS
    except ImportError:
        return ()
    out = []
    for abbr, (full, _mesh) in ABBREVIATIONS.items():
        words = tuple(stem(t) for t in tokenize(full) if len(t) > 2)
        if len(words) >= 2:
            out.append((stem(abbr.lower()), words))
    return tuple(out)


ASPECT_WEIGHT = 1.5
CONTEXT_WEIGHT = 0.4
CONTEXT_SHARE = 0.4
CTX_CREDIT = 0.35
IDF_CAP = 8.0
#: words within this many Zipf units of the rarest question word are all foci (no clear topic)
FOCUS_BAND = 1.5


@lru_cache(maxsize=8192)
def word_rarity(term: str) -> float:
    """How specialised a word is: 8 minus its Zipf frequency in everyday English (wordfreq).

    "back", "family", "common" ≈ 2–3; "asthma" ≈ 4.3; "pinworms", "dexamethasone" ≈ 5.7. Hyphenated
    terms take their rarest part. A word wordfreq does not know (a rare drug, a misspelling) is 8.
    """
    from medcite.zipf import zipf_en  # (wordfreq's values, without loading wordfreq for plain words)

    parts = [p for p in re.split(r"[-']", term) if p] or [term]
    return max(8.0 - zipf_en(p) for p in parts)


_INTERROGATIVE = frozenset("what which how when why who whom where is are can could does do did should will would "
                           "may might".split())


def _interrogative_head(question: str) -> set[str]:
    """Stems of the first words of the question sentence(s) that open with an interrogative word.

    "What is the treatment of colorectal cancer?" asks for a treatment; "For bad breath caused by
    tonsil stones, is laser better?" does not ask for a cause although it says "caused".
    """
    out: set[str] = set()
    for sentence in split_sentences(question):
        words = tokenize(sentence)
        if words and words[0] in _INTERROGATIVE:
            out.update(stem(w) for w in words[:6])
    return out


_PART_BREAK = regexcache.compile(r"(?:,\s*(?:and|or|but)?|\s+(?:and|or|but))\s+(?=(?:" + "|".join(sorted(_INTERROGATIVE)) + r")\b)",
                         re.I)


def question_parts(question: str) -> list[frozenset[str]]:
    """Stems of each part of a compound question, or [] for a simple one.

    "What regimen should I prescribe, and how often do I need to recheck HIV status?" asks two things;
    a sentence that answers one of them fully is an answer although it covers half of the words. Parts
    are the question sentences (ending in "?") and, within one, the clauses that open with an
    interrogative word after "and"/"or"/"but" or a comma. Words of sentences that ask nothing (context)
    belong to no part.
    """
    parts: list[frozenset[str]] = []
    for sentence in split_sentences(question):
        if not sentence.rstrip().endswith("?"):
            continue
        for piece in _PART_BREAK.split(sentence):
            stems = frozenset(stem(t) for t in tokenize(piece))
            if stems:
                parts.append(stems)
    return parts if len(parts) >= 2 else []


def aspect_weighted(concepts: list[Concept], top_hits: Sequence[Hit]) -> list[Concept]:
    """Double the weight of the question's *aspect* words.

    Words found in most titles of the top hits name the topic ("colorectal cancer screening"); the
    others say what is asked about it ("age", "start"). A sentence that only repeats the topic must
    not look like an answer, so aspect words count twice.
    """
    titles = [with_prefixes(sentence_tokens(h.title or "")) for h in top_hits if h.title]
    if len(titles) < 3:
        return concepts
    out = []
    for c in concepts:
        share = sum(1 for t in titles if concept_present(c.own(), t)) / len(titles)
        out.append(replace(c, topic=True) if share >= 0.4 and not c.asks
                   else replace(c, idf=c.idf * ASPECT_WEIGHT))
    return out


def concept_present(concept: Concept, tokens: frozenset[str]) -> bool:
    for alt in concept.alternatives:
        if len(alt) == 1:
            if alt <= tokens:
                return True
        elif len(alt & tokens) / len(alt) >= 0.66:
            return True
    return False

