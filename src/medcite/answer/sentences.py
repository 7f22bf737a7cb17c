"""Sentence rules of the extractive composer: which sentences can be quoted, and what they say.

Cue patterns (recommendations, conclusions, cautions, findings), the rules that reject sentences that cannot
stand alone (fragments, table rows, glossaries, markup, headings), and the abbreviations a document defines.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import islice

from medcite import regexcache
from medcite.answer.safety import flagged_spans, is_instruction
from medcite.index.terms import tokenize
from medcite.text import sentence_spans, stem

# --- cues --------------------------------------------------------------------------------------

_RECOMMEND = regexcache.compile(
    r"\b(recommends?|recommended|recommendation|should (?:be|not|receive|start|begin|undergo|consider)|"
    r"is indicated|are indicated|grade [ABCDI]\b|[ABCD] recommendation|I statement|suggests? (?:that )?(?:clinicians|offering))"
    r"|^(?:offer|consider|do not (?:offer|use|give|start)|start|stop|give|avoid)\b",  # guideline imperatives (NICE style)
    re.I,
)
_CONCLUDE = regexcache.compile(
    r"\b(conclusions?|in conclusion|we conclude|our (?:results|findings) (?:suggest|show|indicate)|"
    r"(?:was|were|is|are) (?:associated|effective|safe|superior|non-inferior|inferior)|reduced?s?|increased?s?|"
    r"improved?s?|lowered|significantly)\b",
    re.I,
)
_CAUTION = regexcache.compile(
    r"\b(harms?|adverse|side effects?|contraindicat\w*|bleeding|risk of|toxicity|caution|avoid|warning|"
    r"should not|not recommended|recommends against|insufficient evidence|uncertain\w*|limited evidence|"
    r"overdiagnosis|false[- ]positive|complications?|death|fatal|hypersensitivity|pregnan\w*)\b",
    re.I,
)
_DANGLING = regexcache.compile(r"^(?:this|these|that|those|it|they|such|both|he|she|their|its|here|there|thus|hence|"
                       r"in this|in these|the (?:present|current) study)\b", re.I)
#: a connective at the start ("However, …") links to the sentence before but the claim still stands alone
_CONNECTIVE = regexcache.compile(r"^(?:however|moreover|furthermore|additionally|therefore|in addition|overall|in summary)\b",
                         re.I)
#: what a study set out to do is not what it found
_AIM = regexcache.compile(r"\b(?:(?:aim|objective|purpose|goal)s? (?:of|for) (?:this|the present|the current|our) (?:[\w-]+ )?"
                  r"(?:study|trial|review|protocol)|(?:we|the authors|authors) (?:tested|hypothesi[sz]ed|aimed|sought)|"
                  r"(?:this|the present) (?:study|trial) (?:aimed|was designed|sought)|"
                  r"was to (?:compare|evaluate|assess|determine|investigate|examine|instigate))\b", re.I)
#: a sentence that reports measured results: a percentage, a p-value, a confidence interval or a ratio
_QUANT = regexcache.compile(r"(?:\d+(?:\.\d+)?\s?%|\bp\s?[<=>≤]\s?0?\.\d|\b95\s?% ?CI\b|"
                    r"\b(?:hazard|odds|risk) ratio\b|\b(?:HR|OR|RR)\s?[,=:]?\s?\d)", re.I)
_TABLE_ROW = regexcache.compile(r"^\d+[A-Z]|(?:\(\s*[\d.,–\- ]+\s*\).*){3,}")
_GRADED = regexcache.compile(r"\((?:grade )?[ABCDI] (?:recommendation|statement)\)|\bgrade [ABCDI] recommendation\b", re.I)
_WE = regexcache.compile(r"^(?:we|our)\b", re.I)
_ABBREV_DEF = regexcache.compile(r"^(?:[A-Z][A-Za-z0-9-]{1,9}, [a-z][a-z -]+[;.] ){2,}")
_MARKUP = regexcache.compile(r"<\s*/?\s*[A-Za-z!?][^<>]{0,300}>|<!--|-->|javascript:", re.I)
_LIT_REF = regexcache.compile(r"\[\d+(?:\s*[,–-]\s*\d+)*\]")
_SKIP_HEADINGS = regexcache.compile(r"trial registration|abbreviation|funding|competing|acknowledg|author|figure|table|"
                            r"supplementary|keywords|ethic|consent|data availability|registration|rating scheme|"
                            r"definition|objective|methodolog|description of|bibliographic|availability|"
                            r"disclaimer|copyright|study selection|data sources|data extraction|search strateg|"
                            r"eligibility|inclusion criteria", re.I)
#: sentences that describe who was studied, not what was found
_BASELINE = regexcache.compile(r"\b(?:demographics?|baseline characteristics|at baseline|were (?:comparable|similar|"
                       r"well balanced|balanced) (?:between|across|among|in)|did not differ (?:at baseline|between the "
                       r"(?:two )?groups in (?:age|sex))|were (?:recruited|enrolled|screened for eligibility)|"
                       r"(?:met|meeting) (?:the|our) inclusion)\b", re.I)
#: a sentence reporting somebody else's study ("Tanyeri et al. evaluated …") is not this document's finding
_OTHERS = regexcache.compile(r"\bet al\b\.?", re.I)
#: kinds that report their own study (their accounts of other studies are second-hand)
_PRIMARY = frozenset({"randomized_trial", "observational", "case_report"})
#: what an organisation offers (brochures, forums, hotlines) is where to read more, not an answer
_RESOURCE = regexcache.compile(r"\b(?:brochures?|booklets?|fact sheets?|hotlines?|toll-free|web ?sites?|discussion forums?|"
                       r"newsletters?|nonprofit|non-profit|(?:foundation|organization|association|society|institute)"
                       r" (?:also )?(?:offers|sponsors|publishes|provides|funds|supports))\b", re.I)
#: a medication guide's standing instructions, the same in every label: never an answer to a question
_BOILERPLATE = regexcache.compile(r"^(?:do not (?:give \S+ to other people|use \S+ for a condition|keep medicine that is out of "
                          r"date)|keep \S+ and all medicines out of the reach|store \S+ at (?:room )?temperature|do not use if .*seal|"
                          r"medicines are sometimes prescribed for purposes other than|keep (?:for use with this product only|"
                          r"(?:this and all drugs )?out of (?:the )?reach of children|carton for full)|because clinical trials are "
                          r"conducted under widely varying conditions)", re.I)
_BULLET = regexcache.compile(r"^[•\-\*·]\s*")
#: a sentence that stops where its list or object should start ("Foods with folic acid in them include")
_OPEN_END = regexcache.compile(r"\b(?:include|includes|including|such as|are|is|were|was|the|a|an|of|and|or|with|for|to|"
                       r"in|by|from|as|like|following|between|than)$", re.I)
#: a grade written after the sentence it grades ("… born between 1945 and 1965. (B recommendation)")
_TRAILING_GRADE = regexcache.compile(r"\s*\((?:grade )?[ABCDI] (?:recommendation|statement)\)\.?", re.I)
_SYMBOLS = regexcache.compile(r"[0-9%=<>±×/;:|()\[\]]")

#: a sentence that reports what a study found (for the lead study: its results and conclusions)
_FINDING = regexcache.compile(
    r"\b(?:significant(?:ly)?|p ?[<=>≤]|\d+(?:\.\d+)?%|reduc\w*|lower|higher|fewer|less|more effective|better|"
    r"improv\w*|did not|no (?:significant )?differences?|not significant|effective|efficacy|superior|inferior|"
    r"increased|decreased|associated|relieve\w*|alternative|support)\b", re.I)
_RESULT_HEADING = regexcache.compile(r"result|conclusion|finding|discussion|summary|main outcome|interpretation", re.I)


#: words that open a sentence (after a heading that the source glued to it)
_STARTERS = frozenset("""the a an in if for most some many each your you people it there when once after before
    during about because although while this these treatment treatments symptoms signs doctors""".split())
_HEADING_WORD = regexcache.compile(r"^(?:[A-Z][\w'’-]*,?|[IVX]+[A-C]?|\d+[A-C]?|at|of|the|and|or|in|for|to|a|an|on|with|by|from|vs)$")
_NONSPACE = regexcache.compile(r"\S+")
#: a section word and a colon the source put before the sentence ("Summary : Folic acid is a B vitamin.")
_SECTION_PREFIX = regexcache.compile(r"^(?:Summary|Overview|Introduction|Background|Description|Key points)\s*:\s+(?=[A-Z])")


def strip_glued_heading(text: str, title: str = "") -> str:
    """The sentence without a heading its source glued to it, or ``text`` unchanged.

    Question-and-answer pages often lose the line break after a sub-heading: "Stage IV In stage IV, the
    tumor …", "Shingles Vaccine The shingles vaccine is NOT recommended …", "Attacks Usually Start at Night
    Gout is a form of arthritis …". A run of title-case words followed by a capitalised word that opens
    sentences (or names the page's topic) and then a lower-case word is such a heading; the quote starts
    after it (still a verbatim part of the passage).
    """
    prefix = _SECTION_PREFIX.match(text)
    if prefix:
        return text[prefix.end():]
    spans = [(m.start(), m.group(0)) for m in islice(_NONSPACE.finditer(text), 12)]
    words = [w for _, w in spans]
    if len(words) < 6:
        return text
    topic = {w.lower() for w in re.findall(r"[A-Za-z][\w'-]+", title)}
    start = 0
    for j in range(1, min(len(words) - 2, 9)):
        if not _HEADING_WORD.match(words[j - 1]):
            break
        w, nxt = words[j], words[j + 1]
        if (w[:1].isupper() and w.lower() in _STARTERS | topic and nxt[:1].islower()
                and any(c.isupper() for c in "".join(words[:j])) and not words[j - 1].endswith(",")):
            start = j
    return text[spans[start][0]:] if start else text


#: a clause after a semicolon that qualifies the one before it: the two are never quoted apart
_QUALIFIER = regexcache.compile(r"(?:however|but|although|though|yet|except|unless|whereas|while|only|not|nevertheless|"
                        r"nonetheless|still|instead|rather|otherwise|if|when|in (?:some|rare|most) cases|"
                        r"this|these|that|those|it|they|such)\b", re.I)


def leading_clauses(text: str) -> list[str]:
    """The independent clauses that open ``text`` and end at a semicolon, shortest first.

    "Curing, drying, smoking, or microwaving meat alone does not consistently kill infective worms;
    homemade jerky and sausage were the cause of many cases …" states two things; the first can be
    quoted on its own (a verbatim part of the sentence, easier to read). A clause is never cut from
    the one after it when that one qualifies it ("…; however, …", "…; it …", "…; only …"), and
    semicolon-separated lists (three or more short parts) are not clauses.
    """
    parts = text.split("; ")
    if len(parts) < 2 or len(parts) > 3:
        return []
    out = []
    for i in range(1, len(parts)):
        head, rest = "; ".join(parts[:i]), parts[i]
        if _QUALIFIER.match(rest) or len(head.split()) < 6 or len(rest.split()) < 4:
            break
        out.append(head)
    return out


#: populations a recommendation is scoped to; a sentence scoped to another one than the question's does not
#: answer it ("Start an ACE inhibitor … in adults with type 2 diabetes" under "… hypertension in pregnancy?")
_POPULATIONS = {
    "pregnancy": regexcache.compile(r"\b(?:pregnan\w*|breast-?feed\w*|lactat\w*|nursing mothers?)\b", re.I),
    "children": regexcache.compile(r"\b(?:child(?![-\s]pugh)|children|childhood|kids?|p(?:a)?ediatric\w*|infants?|newborns?|neonat\w*|"
                           r"toddlers?|adolescents?|teens?|teenagers?)\b", re.I),
    "adults": regexcache.compile(r"\badults?\b", re.I),
    "older adults": regexcache.compile(r"\b(?:elderly|older adults|older people|geriatric)\b", re.I),
}


def populations(text: str) -> frozenset[str]:
    """The populations ``text`` names (pregnancy, children, adults, older adults)."""
    return frozenset(name for name, rx in _POPULATIONS.items() if rx.search(text))


def other_population(question: frozenset[str], sentence: frozenset[str]) -> bool:
    """Is the sentence scoped to populations the question does not ask about, and to none it does?

    "Older adults" are adults, and a question about adults covers them; every other pair is distinct.
    """
    if not question or not sentence or question & sentence:
        return False
    if "adults" in question and sentence <= {"older adults"}:
        return False
    return True


@lru_cache(maxsize=65536)
def _standalone_penalty(text: str) -> float | None:
    """None = unusable sentence; else a penalty for sentences that need context to make sense."""
    words = text.split()
    if len(text) < 30 or len(words) < 5 or text.endswith((":", "?", ",", ";")):
        return None
    if _OPEN_END.search(text.rstrip(".")):
        return None  # the sentence stops where its list or object should begin
    if len(words) <= 14 and not text.endswith((".", "!", ")")) and not _has_verb(words):
        return None  # a heading or a list item ("Screening for thyroid cancer using neck palpation and ultrasound")
    if not text[0].isupper() and not text[0].isdigit():
        return None
    symbols = len(_SYMBOLS.findall(text)) / max(1, len(text))
    if symbols > 0.12 or sum(w[:1].isdigit() for w in words) > 8:
        return None  # table fragments, statistics dumps
    if text.count(";") >= 2 and len(text) / (text.count(";") + 1) < 45:
        return None  # abbreviation glossaries ("CI, confidence interval; OR, odds ratio; …")
    if _ABBREV_DEF.search(text) or _LIT_REF.search(text):
        return None  # glossaries; sentences carrying the source's own [n] literature markers
    if _BOILERPLATE.search(text):
        return None  # a medication guide's standing instruction, the same in every label
    if _MARKUP.search(text) or is_instruction(text):
        return None  # markup or an instruction hidden in a document is never quoted as evidence
    if _TABLE_ROW.search(text):
        return None  # table rows ("Pain at rest (NRS) 4 (3–7) 4 (3–6) …") and footnote-marked cells
    penalty = 0.0
    if _DANGLING.match(text):
        penalty += 0.3
    elif _WE.match(text) or _CONNECTIVE.match(text):
        penalty += 0.1
    if _AIM.search(text):
        penalty += 0.2
    if _BASELINE.search(text):
        penalty += 0.2
    if _OTHERS.search(text):
        penalty += 0.15
    if _RESOURCE.search(text):
        penalty += 0.3
    if len(text) > 450:
        penalty += 0.1
    return penalty


_DEFINED = regexcache.compile(r"\(([A-Za-z][A-Za-z0-9-]{1,9})\)")


def _long_form(before: str, abbr: str) -> str | None:
    """The words before "(ABBR)" that ABBR abbreviates, or None (Schwartz & Hearst, PSB 2003).

    Every letter of the abbreviation must appear, in order, in the candidate long form, its first
    letter at the start of a word; the long form is at most ``min(len + 5, 2 × len)`` words.
    """
    letters = [c.lower() for c in abbr if c.isalnum()]
    if len(letters) < 2 or not abbr[0].isalpha() or sum(c.isupper() for c in abbr) < 2:
        return None
    words = before.split()
    window = words[-min(len(letters) + 5, 2 * len(letters)):]
    text = " ".join(window).lower()
    i, j = len(text) - 1, len(letters) - 1
    while j >= 0:
        c = letters[j]
        while i >= 0 and (text[i] != c or (j == 0 and i > 0 and text[i - 1].isalnum())):
            i -= 1
        if i < 0:
            return None
        i -= 1
        j -= 1
    start = text.rfind(" ", 0, i + 1) + 1
    long = text[start:].strip(" ,;:-")
    if " " in long or "-" in long or len(long) >= 2 * len(abbr):
        return long
    return None


@lru_cache(maxsize=8192)
def defined_abbreviations(text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """(abbreviation as written, stems of its long form) for every "long form (ABBR)" that ``text`` defines.

    Trial reports name their arms once in full and then by letters ("CO2 laser cryptolysis (LC)",
    "pulsed electromagnetic field (PEMF)"); a result sentence that says "LC" speaks of the question's
    "laser cryptolysis".
    """
    out: dict[str, frozenset[str]] = {}
    for m in _DEFINED.finditer(text):
        abbr = m.group(1)
        long = _long_form(text[max(0, m.start() - 120):m.start()], abbr)
        if long:
            out.setdefault(abbr, frozenset(stem(t) for t in tokenize(long) if len(t) > 1))
    return tuple(out.items())


def _uses(text: str, abbr: str) -> bool:
    """Does ``text`` use the abbreviation as written (case-sensitive, as a word)?"""
    i = text.find(abbr)
    while i >= 0:
        end = i + len(abbr)
        if (i == 0 or not text[i - 1].isalnum()) and (end == len(text) or not text[end].isalnum()):
            return True
        i = text.find(abbr, end)
    return False


_AUX = frozenset("""is are was were be been being am has have had do does did can could may might must shall should
    will would cannot won't can't isn't aren't wasn't weren't doesn't don't didn't hasn't haven't""".split())
#: common verbs of medical prose in their present forms (past forms end in -ed and are found by suffix)
_VERBS = frozenset("""include includes cause causes reduce reduces occur occurs lead leads help helps need needs
    make makes take takes show shows appear appears affect affects suggest suggests recommend recommends
    increase increases decrease decreases lower lowers raise raises prevent prevents protect protects treat
    treats work works become becomes develop develops remain remains contain contains provide provides allow
    allows require requires improve improves get gets keep keeps go goes come comes tend tends seem seems
    depend depends vary varies last lasts mean means run runs begin begins start starts stop stops""".split())


def _has_verb(words: list[str]) -> bool:
    """Does the sentence (as split words) have a finite verb — is it a statement, not a heading or list item?"""
    for i, w in enumerate(words):
        w = w.strip(".,;:()\"'").lower()
        if w in _AUX or w in _VERBS or (i > 0 and len(w) > 4 and w.endswith("ed")):
            return True
    return False


def _acronym(source: str) -> str:
    """"U.S. Preventive Services Task Force" → "USPSTF", so "per the USPSTF" matches its own documents."""
    return "".join(w[0] for w in re.findall(r"[A-Z][A-Za-z]*", source.replace("U.S.", "U S")))


# --- text hygiene ------------------------------------------------------------------------------

#: a table or figure caption glued to its text ("Table 4Adverse events …")
_CAPTION = regexcache.compile(r"\b(?:Table|Figure|Fig\.)\s*[A-Z]?\d+[A-Z][a-z]")
#: attribute markup left by a converter (id="Par2">)
_ATTRIBUTE = regexcache.compile(r"\b(?:id|class|href|style|rid)\s*=\s*[\"'][^\"']*[\"']?\s*/?>?|\"\s*>")
#: a function word glued to the word before it ("pneumoniathe", "pneumoniaare")
_GLUE_TAILS = ("the", "are", "and", "is", "was", "were", "of", "in", "to", "with", "for")
_CONNECTORS = frozenset("of on with and for in to when from by".split())


@lru_cache(maxsize=65536)
def _glued(token: str) -> bool:
    from medcite.zipf import zipf_en  # (wordfreq's values, without loading wordfreq for plain words)

    for tail in _GLUE_TAILS:
        head = token[: -len(tail)]
        if token.endswith(tail) and len(head) >= 5 and zipf_en(token) == 0 \
                and zipf_en(head) >= 2.0:
            return True
    return False


def _heading_start(words: list[str]) -> bool:
    """A sentence that opens with the rest of a heading ("VIAGRA on Blood Pressure When Co-administered …")."""
    head = words[:7]
    caps = sum(1 for w in head if w[:1].isupper())
    return caps >= 5 and any(w in _CONNECTORS for w in head[1:5])


#: a table's title read as a sentence ("Clinical adverse reactions occurring in ≥ 2% … (% of patients).")
_TABLE_TITLE = regexcache.compile(r"\((?:%|n\b|N\b|mean\b|median\b)[^()]{0,30}\)\.?$|^Table\s+\d")


def clean_quote(text: str) -> bool:
    """Is ``text`` free of conversion damage: glued words, captions, markup, unbalanced brackets, a cut heading?"""
    if _CAPTION.search(text) or _ATTRIBUTE.search(text) or _TABLE_TITLE.search(text):
        return False
    if text.count("(") != text.count(")") or text.count("[") != text.count("]"):
        return False
    words = text.split()
    if _heading_start(words):
        return False
    return not any(len(w) >= 8 and w.isalpha() and w.islower() and _glued(w) for w in words)


def quotable_sentences(text: str, title: str = "") -> list[tuple[str, float]]:
    """(sentence, penalty) for the sentences of a passage that can be quoted alone, verbatim (bullets and
    glued headings cut off); the penalty is for a sentence that leans on context ("These include …").

    A recommendation grade written after its sentence ("… (B recommendation)") stays with it.
    """
    out = []
    spans = sentence_spans(text)
    # instructions to a model, hidden markup and what an AI-addressed note introduces are never quoted
    flagged = flagged_spans(text)
    skip_to = -1
    for i, (s, e) in enumerate(spans):
        if i <= skip_to:
            continue
        if any(a < e and s < b for a, b, _ in flagged):
            continue
        items = _list_items(text, spans, i)
        if items:
            # a sentence that introduces a list ("These are warning signs of a stroke: - sudden numbness …
            # • sudden confusion …") is quoted with the list, as the list it is
            end = _item_end(text, *spans[items[-1]])
            if any(a < end and s < b for a, b, _ in flagged):
                continue
            quoted = strip_glued_heading(text[s:end].strip(), title)
            if 30 <= len(quoted) <= _MAX_LIST_CHARS and quoted[:1].isupper() and clean_quote(quoted) \
                    and not _MARKUP.search(quoted) and not is_instruction(quoted):
                out.append((quoted, 0.0))
                skip_to = items[-1]
                continue
        if i + 1 < len(spans):
            nxt = _TRAILING_GRADE.match(text, spans[i + 1][0])
            if nxt is not None and text[e:spans[i + 1][0]].strip() == "":
                e = nxt.end()
        sentence = strip_glued_heading(_BULLET.sub("", text[s:e]).strip(), title)
        penalty = _standalone_penalty(sentence) if sentence else None
        if penalty is not None and clean_quote(sentence):
            out.append((sentence, penalty))
    return out


_ITEM = regexcache.compile(r"^\s*[•\-\*·]\s+\S")
_MAX_LIST_CHARS = 700


def _list_items(text: str, spans: list[tuple[int, int]], i: int) -> list[int]:
    """Indexes of the bullet items that follow span ``i`` when it introduces a list (it ends in, or holds, a colon)."""
    s, e = spans[i]
    if ":" not in text[s:e]:
        return []
    items = []
    for j in range(i + 1, min(len(spans), i + 10)):
        if not _ITEM.match(text[spans[j][0]:spans[j][1]]):
            break
        items.append(j)
    return items if len(items) >= 2 else []


def _item_end(text: str, s: int, e: int) -> int:
    """Where a list's last item ends (a run-on copy of the list after its full stop is not part of it)."""
    stop = text.find(". ", s, e)
    return stop + 1 if stop >= 0 else e
