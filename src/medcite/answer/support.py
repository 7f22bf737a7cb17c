"""Does a cited passage support a statement? The checker behind LLM answers.

An LLM writes sentences with markers like ``[1]`` or ``[2, 3]``; every sentence is scored against the
passages it cites and sentences below :data:`SUPPORTED_AT` are flagged (or dropped) by the composer.

:class:`SupportChecker` is the interface (so an NLI model can replace the default later);
:class:`HeuristicSupportChecker` is a fast, dependency-free lexical entailment heuristic:

* verbatim: the statement (markers stripped, case and spacing folded) is a substring → 1.0;
* content-word coverage: stemmed, lower-cased words minus stop words, a few clinical-writing synonyms
  folded together, weighted by rarity (generic research words weigh less, long words more);
* content-bigram overlap (word order: "A better than B" vs "B better than A");
* number consistency: every number of the statement must appear in the best-matching sentences of the
  passage ("reduced mortality by 50%" vs "by 15%" is a strong negative);
* negation consistency: "not", "no", "without", "failed to"… scoping over shared content in one text
  but not in the other → strong negative;
* direction consistency: "increased" vs "decreased", "higher" vs "lower" on the same content.

The score of a statement is the maximum over its passages. See docs/support-checker.md for how the
threshold was chosen and the labelled set it was measured on (benchmarks/bench_support.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, runtime_checkable

from medcite.text import clean_text, split_sentences, stem

#: a statement scoring at least this is "supported" (chosen on tests/data/support_pairs.jsonl)
SUPPORTED_AT = 0.6


@runtime_checkable
class SupportChecker(Protocol):
    """Scores how well ``passages`` support ``statement``: a float in [0, 1], max over passages."""

    name: str

    def score(self, statement: str, passages: list[str]) -> float: ...


# --------------------------------------------------------------------------------- markers

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*[-–,]\s*\d{1,3})*)\]")
_MARKER_WITH_SPACE = re.compile(r"\s*\[\d{1,3}(?:\s*[-–,]\s*\d{1,3})*\]")
_LEADING_MARKERS = re.compile(r"^((?:\[\d{1,3}(?:\s*[-–,]\s*\d{1,3})*\]\s*)+)")
_MAX_RANGE = 50


def parse_citations(text: str) -> list[int]:
    """Citation numbers in ``text``, in order of first appearance, without repeats.

    ``[1]`` → 1; ``[1, 3]`` → 1, 3; ``[2-4]`` / ``[2–4]`` → 2, 3, 4. Zero and absurd ranges are ignored.
    """
    out: list[int] = []
    seen: set[int] = set()
    for m in _MARKER.finditer(text or ""):
        for part in m.group(1).split(","):
            part = part.strip()
            if not part:
                continue
            bounds = re.split(r"\s*[-–]\s*", part)
            try:
                lo, hi = int(bounds[0]), int(bounds[-1])
            except ValueError:
                continue
            if hi < lo or hi - lo > _MAX_RANGE:
                hi = lo
            for n in range(lo, hi + 1):
                if n > 0 and n not in seen:
                    seen.add(n)
                    out.append(n)
    return out


def strip_markers(text: str) -> str:
    """``"Aspirin helps [1, 2]."`` → ``"Aspirin helps."``"""
    out = _MARKER_WITH_SPACE.sub("", text or "")
    out = re.sub(r"\s+([.,;:!?])", r"\1", out)
    return clean_text(out)


def split_statements(text: str) -> list[str]:
    """Split an answer into sentences, keeping each sentence's citation markers.

    A marker written after the full stop (``"Aspirin helps. [1] Bleeding…"``) goes with the sentence
    before it.
    """
    out: list[str] = []
    for sent in split_sentences(text or ""):
        m = _LEADING_MARKERS.match(sent)
        if m and out:
            out[-1] = f"{out[-1]} {m.group(1).strip()}"
            sent = sent[m.end():].strip()
        if sent:
            out.append(sent)
    return out


# --------------------------------------------------------------------------------- words

_STOP = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me might must my
    myself of off on once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under until up
    upon very was we were what when where which while who whom why will with would you your yours yourself
    yourselves thus therefore hence whether within among amongst per via either et al i.e e.g respectively
    overall one's may
    """.split()
)

#: negation cues (``n't`` forms are caught by the tokenizer)
_NEGATIONS = frozenset("not no never without neither nor none cannot non nothing absence absent lack lacked "
                       "lacking fail failed fails unable insignificant".split())

#: research boilerplate: present everywhere, weak evidence of support
_GENERIC = frozenset(stem(w) for w in """
    study studies patient result results group groups significant significantly use used using data method
    methods conclusion conclusions analysis analyses effect effects compare compared comparison increase
    increased decrease decreased level levels year years total also include included including case cases
    report reported clinical treatment associate associated association show showed shown find found
    evaluate evaluated aim aimed difference differences rate rates outcome outcomes risk present presented
    observe observed higher lower high low time times number numbers among however well new two three first
    second respectively participant participants subject subjects finding findings
    """.split())

#: clinical-writing synonyms folded onto one form before stemming
_SYNONYM_GROUPS = (
    ("patient", "patients participants participant subjects subject individuals"),
    ("decrease", "decreased decreases decreasing reduce reduced reduces reducing reduction reductions lowered "
                 "lowering diminished lessened declined decline"),
    ("increase", "increased increases increasing raised elevated elevation augmented rose"),
    ("show", "showed shown shows demonstrate demonstrated demonstrates revealed reveal reveals"),
    ("associate", "associated association linked link correlated correlation related"),
    ("compare", "compared comparing comparison versus vs"),
    ("evaluate", "evaluated evaluating assess assessed assessing examine examined investigate investigated "
                 "investigating"),
    ("aim", "aimed aims objective objectives purpose goal"),
    ("therapy", "therapies treatment treatments"),
    ("child", "children paediatric pediatric"),
    ("higher", "greater larger"),
    ("lower", "smaller"),
    ("find", "found observed observe noted detected"),
    ("effect", "effects impact impacts influence"),
    ("elderly", "older"),
    ("approximately", "about around roughly nearly"),
    ("use", "used using utilize utilized utilization employed"),
    ("physician", "physicians doctors doctor clinicians clinician"),
)
_SYNONYMS = {w: canon for canon, words in _SYNONYM_GROUPS for w in words.split()}

#: direction words and their opposites (after synonym folding and stemming)
_OPPOSITES = {
    "increase": "decrease", "higher": "lower", "more": "less", "better": "worse", "improve": "worsen",
    "superior": "inferior", "gain": "loss", "longer": "shorter", "positive": "negative", "benefit": "harm",
    "prolong": "shorten", "above": "below", "maximum": "minimum", "improvement": "deterioration",
}
_OPPOSITES.update({v: k for k, v in list(_OPPOSITES.items())})
_OPPOSITES["fewer"] = "more"
_OPPOSITES = {stem(k): stem(v) for k, v in _OPPOSITES.items()}

#: general (non-domain) English and academic vocabulary: when such a word of the statement is absent
#: from the passage it is more likely a paraphrase than a new claim, so it is penalised less
_COMMON = frozenset(stem(w) for w in """
    ability able access account achieve acquire act action active actual add additional address adequate
    adjust affect agree allow alter alternative analyse analyze annual apparent apply approach appropriate
    area argue arise aspect assist assume attain attempt attend attribute available average aware basic
    basis become begin benefit best brief broad capable capacity careful carry category cause central
    certain challenge change chapter characteristic choice choose circumstance cite claim clear close
    collect combine commence comment common community complete complex component comprise concept
    concern conclude conduct confirm consequence consider considerable consist constant construct consult
    contain context continue contrast contribute convention core correspond create criteria crucial current
    decade decide define definite demand depend derive describe design despite detail determine develop
    device differ different dimension direct distinct distribute document domain dominant due during
    early economic effective efficient element eliminate emerge emphasis enable encounter end enhance
    enormous ensure entire environment equal equivalent error essential establish estimate evident exact
    exceed exclude exhibit exist expand expect experience explain explicit expose express extend extent
    external facilitate factor feature final focus follow form former formula framework frequent frequency
    function fundamental further general generate give global goal grant great guarantee help hence
    highlight identical identify ignore illustrate immediate imply important impose include indicate
    individual initial instance integrate intend interact internal interpret involve issue item job key
    kind large last lead least lesser level likelihood likely limit link locate long main maintain major
    make manner mark markedly maximize mean measure mechanism medium mere minimal minor mode modify
    monitor moreover motivate much necessary need negate network nevertheless notion novel numerous
    obtain obvious occur offer ongoing option order origin outcome output overall part partial particular
    pattern perceive perform period persist perspective phase place plan play point policy portion
    positive possible potential practice precede precise predict predominant preliminary previous primary
    principal principle prior procedure proceed process produce professional promote proportion prospect
    provide publish purchase pursue quote range rate rather ratio react receive recent reflect regard
    region register regular reinforce reject relevant rely remain remove render replace report represent
    require research reside resolve resource respond respective restrict retain reveal role routine
    scheme scope section secure seek select sequence series set several share shift similar simple
    simultaneous site situation size sole source specific specify stable stage standard state status
    strategy stress structure subsequent substantial substitute succeed sufficient suggest sum summary
    supplement support survey sustain take target task team technical technique tend term theory thereby
    topic total trace tradition transfer transform trend trigger type typical ultimately undergo
    underlie undertake uniform unique utilize valid value vary version view visible whereas widespread
    yield carried collected frequency enhanced approach key establish likelihood indicate markedly
    male female men women people person adult adults
    """.split())

_NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
                 "eight": "8", "nine": "9", "ten": "10", "twice": "2", "half": "0.5", "single": "1"}

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+(?:'[a-z]+)?")


def _norm_number(tok: str) -> str:
    if "," in tok:
        parts = tok.split(",")
        # thousands separators ("1,234") vs decimal commas ("0,5")
        tok = "".join(parts) if all(len(p) == 3 for p in parts[1:]) else tok.replace(",", ".")
    if "." in tok:
        tok = tok.rstrip("0").rstrip(".") or "0"
    tok = tok.lstrip("0") or "0"
    if tok.startswith("."):
        tok = "0" + tok
    return tok


@lru_cache(maxsize=65536)
def _norm_word(word: str) -> str:
    canon = _SYNONYMS.get(word)
    if canon:
        return canon
    s = stem(word)
    return _SYNONYMS.get(s, s)


# token kinds
_W, _S, _N, _NEG = 0, 1, 2, 3


@lru_cache(maxsize=65536)
def _classify(raw: str) -> tuple[int, str]:
    if raw[0].isdigit():
        return _N, _norm_number(raw)
    if raw in _NEGATIONS:
        return _NEG, raw
    if raw in _NUMBER_WORDS:
        return _N, _NUMBER_WORDS[raw]
    if raw in _STOP or len(raw) < 2:
        return _S, raw
    return _W, _norm_word(raw)


def _tokens(text: str) -> list[tuple[int, str]]:
    return [_classify(raw) for raw in _TOKEN.findall(text.lower().replace("n't", " not"))]


@lru_cache(maxsize=65536)
def _weight(word: str) -> float:
    if word in _GENERIC:
        return 0.4
    return 1.0 + min(len(word), 12) / 12.0


def _neg_scopes(toks: list[tuple[int, str]]) -> list[frozenset[str]]:
    """For each negation cue, the content words it scopes over (the next few content words)."""
    scopes = []
    for i, (kind, _) in enumerate(toks):
        if kind != _NEG:
            continue
        scope: set[str] = set()
        for k, v in toks[i + 1 : i + 8]:
            if k == _W:
                scope.add(v)
                if len(scope) >= 4:
                    break
        scopes.append(frozenset(scope))
    return scopes


@dataclass
class _Unit:
    """Pre-processed text: a statement, a passage sentence, or a window of two sentences."""

    wordset: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    numbers: frozenset[str]
    neg_scopes: list[frozenset[str]]


def _unit_from(toks: list[tuple[int, str]]) -> _Unit:
    words = [v for k, v in toks if k == _W]
    return _Unit(frozenset(words), frozenset(zip(words, words[1:])),
                 frozenset(v for k, v in toks if k == _N), _neg_scopes(toks))


@lru_cache(maxsize=4096)
def _statement(text: str) -> _Unit:
    return _unit_from(_tokens(strip_markers(text)))


@dataclass
class _Passage:
    folded: str
    whole: _Unit
    windows: list[_Unit]


def _fold(text: str) -> str:
    text = strip_markers(text).lower()
    text = re.sub(r"[^\w%<>=.]+", " ", text)
    return " " + re.sub(r"\s+", " ", text).strip(" .") + " "


@lru_cache(maxsize=2048)
def _passage(text: str) -> _Passage:
    clean = clean_text(text)
    sents = [_tokens(s) for s in (split_sentences(clean) or [clean])]
    windows = [_unit_from(t) for t in sents]
    windows += [_unit_from(a + b) for a, b in zip(sents, sents[1:])]
    whole = [t for sent in sents for t in sent]
    return _Passage(_fold(clean), _unit_from(whole), windows)


# --------------------------------------------------------------------------------- the checker


class HeuristicSupportChecker:
    """Fast lexical entailment heuristic (no model, no network); see the module docstring."""

    name = "heuristic-v1"

    def __init__(self, threshold: float = SUPPORTED_AT) -> None:
        self.threshold = threshold

    def supported(self, statement: str, passages: list[str]) -> bool:
        return self.score(statement, passages) >= self.threshold

    def score(self, statement: str, passages: list[str]) -> float:
        if not statement or not passages:
            return 0.0
        return max(self.explain(statement, p)["score"] for p in passages)

    def explain(self, statement: str, passage: str) -> dict:
        """Score one passage and say why: the features behind the number."""
        p = _passage(passage)
        folded = _fold(statement)
        if len(folded.strip()) >= 12 and folded in p.folded:
            return {"score": 1.0, "verbatim": True}
        s = _statement(statement)
        if not s.wordset:
            return {"score": 0.0, "verbatim": False, "reasons": ["no content words"]}
        weights = {w: _weight(w) for w in s.wordset}
        total = sum(weights.values())
        coverage = sum(wt for w, wt in weights.items() if w in p.whole.wordset) / total

        # the sentence (or pair of sentences) that matches the statement best
        best, local = p.windows[0], -1.0
        for u in p.windows:
            c = sum(weights[w] for w in s.wordset & u.wordset)
            if c > local:
                best, local = u, c
        local /= total
        bigram = len(s.bigrams & p.whole.bigrams) / len(s.bigrams) if s.bigrams else local
        score = 0.45 * coverage + 0.3 * local + 0.25 * bigram

        reasons = []
        # statement words the passage never uses: domain words are claims the passage does not make
        missing = sorted(w for w in s.wordset if w not in p.whole.wordset and w not in _GENERIC)
        domain_missing = [w for w in missing if w not in _COMMON and w not in _OPPOSITES]
        if domain_missing:
            score *= 0.6 * 0.8 ** (len(domain_missing) - 1)
            reasons.append(f"terms not in passage: {domain_missing}")
        elif len(missing) > 1:
            score *= 0.93 ** (len(missing) - 1)
        # numbers: all must appear near the matching content
        missing_numbers = sorted(n for n in s.numbers if n not in best.numbers)
        if missing_numbers:
            elsewhere = all(n in p.whole.numbers for n in missing_numbers)
            score *= 0.45 if elsewhere else 0.25
            reasons.append(f"numbers not in the matching sentence: {missing_numbers}")
        # negation: cues scoping over shared content must agree in number
        shared = s.wordset & best.wordset
        s_neg = sum(1 for scope in s.neg_scopes if scope & shared)
        p_neg = sum(1 for scope in best.neg_scopes if scope & shared)
        if s_neg != p_neg:
            score *= 0.3
            reasons.append("negation mismatch")
        # direction: the statement says "increase" where the passage says "decrease"
        flipped = [w for w in s.wordset & _OPPOSITES.keys()
                   if w not in best.wordset and _OPPOSITES[w] in best.wordset]
        if flipped:
            score *= 0.4
            reasons.append(f"direction mismatch: {flipped}")
        score = max(0.0, min(1.0, score))
        return {"score": round(score, 4), "verbatim": False, "coverage": round(coverage, 3),
                "local": round(local, 3), "bigram": round(bigram, 3), "missing": missing, "reasons": reasons}


__all__ = [
    "SUPPORTED_AT",
    "HeuristicSupportChecker",
    "SupportChecker",
    "parse_citations",
    "split_statements",
    "strip_markers",
]
