"""Names of people in a question: a census name list, context cues, initials and non-Latin script.

Used by :mod:`medcite.llm.phi`. Sources, most reliable first:

* **cues** — a title ("Mr", "Dr", "Mrs" …), "my name is", "named", "called", a relative ("my son", "wife"),
  "patient"/"pt", "I'm", a sign-off ("Thanks, …", "Regards, …"): the words after the cue are a name unless
  they are everyday words (wordfreq) — in any case, and in any script;
* **the name list** — first names and surnames of the US census (the ``names`` package ships them), less those
  that the medical corpus writes in lower case (``phi_name_words.txt``, made by ``tools/phi_name_words.py``), less
  eponyms, places and nationalities: a known first name, capitalised (or followed by a known surname in any
  case), is a name unless an eponym's disease word follows ("Down syndrome", "Gail model");
* **shape** — initials ("J.S.", "T. Abernathy", "patient m. o'donoghue"), two adjacent capitalised words that are
  neither everyday words nor in the list ("Xiomara Quispe"), a hyphenated given name of name parts or short
  syllables before a capitalised word ("Lars-Erik Johansson", "Ji-woo Park"), a run of letters in a non-Latin
  script inside a Latin-script question.

Apostrophes and hyphens are looked through ("o'leary" is the census "oleary"; "Lars-Erik" is two names). What
medcite's vocabularies know is not a name: a span with a drug or product word and no census name ("Fluzone
Intradermal"), or one that with the words after it makes a MeSH heading ("Cornelia de Lange's syndrome").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent

#: eponyms and other capitalised clinical words that are also census names
EPONYMS = frozenset("""
    parkinson alzheimer crohn hodgkin cushing addison graves hashimoto kawasaki down marfan turner wilson bell
    guillain barre barré huntington raynaud sjogren sjögren tourette asperger lyme apgar glasgow wells child pugh
    gleason breslow cockcroft gault framingham medicare medicaid kaposi burkitt ewing wernicke korsakoff reiter
    whipple meniere ménière paget bowen barrett stevens johnson mallory weiss zollinger ellison dubin peutz
    jeghers osler weber rendu fallot epstein barr hirschsprung tay sachs gaucher fabry pompe duchenne becker
    klinefelter noonan prader willi angelman rett still behcet behçet takayasu horner brown sequard séquard
    babinski romberg murphy mcburney kernig brudzinski trendelenburg valsalva heimlich foley swan ganz holter
    doppler gram fahrenheit celsius kaplan meier cox fisher student bonferroni pearson spearman likert mayo
    hopkins cochrane lynch alport goodpasture budd chiari hartmann nissen roux colles monteggia
    morton dupuytren osgood schlatter legg calvé perthes lambert eaton von willebrand leigh wagner gail
    sprague dawley wistar hartford vitus sydenham tanner apley adson allen phalen tinel finkelstein thompson
    lachman mcmurray simmonds spurling ortolani barlow kocher pfannenstiel bishop nagele naegele ballard
    dubowitz denver bayley wechsler beck hamilton montgomery asberg edinburgh mini folstein katz lawton barthel
    karnofsky ecog charlson elixhauser rockall blatchford forrest ranson glasgow marshall atlanta child
    ramsay richmond braden norton waterlow morse beers stopp start fried rockwood clinical salter harris
    weil schwartz mdrd wolff white christmas hunter hurler sanfilippo morquio fanconi diamond blackfan
    kasabach merritt sturge klippel trenaunay tuberous von hippel lindau li fraumeni cowden gardner
    zellweger menkes lesch nyhan kearns sayre leber stargardt coats usher waardenburg treacher collins
    pierre robin dandy walker arnold charcot marie tooth friedreich shy drager lewy pick creutzfeldt jakob
    """.split())

#: places and peoples above the size Safe Harbor protects (states, countries, continents, nationalities),
#: and capitalised words that begin other common phrases
PLACES = frozenset("""
    america american americans africa african asia asian europe european australia australian antarctica
    canada canadian mexico mexican brazil brazilian argentina chile china chinese japan japanese korea korean
    india indian pakistan bangladesh nepal israel israeli iran iraq egypt nigeria kenya ghana ethiopia uganda
    tanzania zambia zimbabwe botswana south north east west central latin middle england english britain british
    scotland scottish wales welsh ireland irish france french germany german italy italian spain spanish
    portugal portuguese greece greek netherlands dutch belgium sweden swedish norway norwegian denmark danish
    finland finnish russia russian poland polish ukraine turkey turkish arab arabic hispanic caucasian jewish
    ashkenazi sephardic han texas california florida georgia virginia carolina dakota washington oregon nevada
    arizona utah colorado montana idaho wyoming alaska hawaii maine vermont york jersey pennsylvania ohio
    michigan indiana illinois wisconsin minnesota iowa missouri kansas nebraska oklahoma arkansas louisiana
    mississippi alabama tennessee kentucky maryland delaware massachusetts connecticut rhode island
    hampshire mexico columbia puerto rico guam rocky mountain mountains valley atlantic pacific caribbean
    mediterranean nordic scandinavian saharan sahara amazon nile southeast southwest northeast northwest
    """.split())

#: words that end a run of name words ("Jane Doe has …", "patient John with …")
STOPWORDS = frozenset("""
    a an the and or but with without has had have is was were are be been being who whom whose which that this
    these those on in of for to at from by as into onto about after before since until while when where why how
    what presents presenting presented reports denies complains taking takes took on off not no yes he she his
    her hers him they them their i me my we our you your it its do does did can could should would will may
    might must shall also just very so than then there here all any some each every both either neither per
    via vs versus age aged year years old yo y/o month months week weeks day days male female man woman boy girl
    baby infant child kid son daughter wife husband mother father mom dad patient pt asks wants needs said says
    got get gets if please thanks thank hi hello dear re
    """.split())

_TITLES = r"(?:mr|mrs|ms|miss|mx|dr|prof|sr|sra|mme|herr|frau|mister|madam|señor|señora)"
_RELATIVES = (r"(?:son|daughter|wife|husband|mother|father|mom|mum|mommy|dad|daddy|brother|sister|grandson|"
              r"granddaughter|grandmother|grandfather|grandma|grandpa|granny|nan|nana|nephew|niece|aunt|auntie|"
              r"uncle|cousin|friend|neighbou?r|boyfriend|girlfriend|fianc[eé]e?|partner|spouse|baby|kid|child|"
              r"toddler|twin|stepson|stepdaughter|stepmother|stepfather|carer|caregiver|roommate|flatmate)")
#: a word of a name: letters in any script, inner apostrophes and hyphens ("O'Brien", "Al-Sayegh", "Guðmundsdóttir")
_WORD = r"[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))*"
_INITIAL = r"[A-Z]\."
#: a lower-case initial counts only before a space ("m. o'donoghue"), never in "e.g." or "i.e."
_TOKEN = re.compile(rf"{_INITIAL}|[a-z]\.(?=[ \t])|{_WORD}")

_CUE_TITLE = re.compile(rf"(?i:\b{_TITLES})(?:\.|\b)\s*")
_CUE_STRONG = re.compile(
    r"(?i:\b(?:my name is|my name's|name is|name\s*:|named|called|known as|goes by|signed|sincerely|regards|"
    r"best wishes|many thanks|thanks(?: in advance| a lot| again)?|thank you|cheers|love|yours(?: truly)?|"
    r"question from|message from|from\s*:|re\s*:|patient name\s*:?|initials)[,:!.]?)\s+")
_CUE_RELATIVE = re.compile(rf"(?i:\b(?:(?:my|our|his|her|their|the|a)\s+)?{_RELATIVES}(?:\s+(?:named|called|is))?,?)\s+")
_CUE_PATIENT = re.compile(r"(?i:\b(?:(?:our|my|the|this|a)\s+)?(?:patient|pt\.?|client|resident|referral for|"
                          r"re(?:garding)?|about|for|refer(?:red)? by|seen by|from|with)(?:'s name is)?,?)\s+")
_CUE_SELF = re.compile(r"(?i:\b(?:i am|i'm|im|this is)\s+)")
_EPONYM_USE = re.compile(r"(?i)(?:['’]s?)?\s+(?:disease|syndrome|score|sign|palsy|criteria|classification|test|scale|"
                         r"formula|equation|tear|sarcoma|lymphoma|triad|phenomenon|model|rats?|mice|fracture|cyst|"
                         r"neuroma|contracture|procedure|operation|maneuver|manoeuvre|position|catheter|monitor|"
                         r"diet|method|index|rule|nomogram|criterion|reflex|law|type|protocol|clinic|hospital|"
                         r"university|institute|foundation|spotted|wort|dance|chorea|encephalopathy|"
                         r"lesion|ulcer|node|cell|bodies|body|staining|stain|virus|disorder|anomaly|gangrene|palsy|fever|deformity|tumou?r|effect|principle|curve|plot|hypothesis|equation|distribution)s?\b")
_SPECIES = frozenset("coli aureus pylori difficile pneumoniae pyogenes agalactiae epidermidis faecalis faecium "
                     "albicans fumigatus jirovecii carinii gondii falciparum vivax trachomatis gonorrhoeae "
                     "meningitidis influenzae monocytogenes typhi tuberculosis aeruginosa baumannii cereus "
                     "botulinum tetani perfringens burgdorferi pallidum vulgaris mirabilis cloacae".split())
_MONTHS = frozenset("january february march april may june july august september october november december".split())
_INITIALS_OK = frozenset("U.S. U.K. E.U. U.N. A.M. P.M. B.C. A.D. D.C. M.D. D.O. R.N. N.P. P.A. L.A. N.Y. "
                         "E.R. I.V. I.M. P.O. Q.D. B.I.D. T.I.D. Q.I.D. P.R.N. H.S. O.D. O.S. O.U. N.B. "
                         "S.C. I.D. D.D.S. Ph.D. U.S.A.".split())


@lru_cache(maxsize=1)
def _lexicon() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, surnames), lower case, from the census lists of the ``names`` package."""
    words = {ln.strip() for ln in (_HERE / "phi_name_words.txt").read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.startswith("#")}
    drop = words | EPONYMS | PLACES | STOPWORDS
    first: set[str] = set(_EXTRA_FIRST)
    last: set[str] = set()
    try:
        import names  # data only: dist.male.first, dist.female.first, dist.all.last

        root = Path(names.__file__).parent
        for fname, into in (("dist.male.first", first), ("dist.female.first", first), ("dist.all.last", last)):
            for line in (root / fname).read_text(encoding="ascii").splitlines():
                if line.strip():
                    into.add(line.split()[0].lower())
    except (ImportError, OSError):  # the guard still works from cues, shape and the built-in names
        pass
    return (frozenset(n for n in first if len(n) >= 3 and n not in drop),
            frozenset(n for n in last if len(n) >= 3 and n not in drop))


_EXTRA_FIRST = """
    ahmed mohammed muhammad mohamed fatima aisha omar ali hassan hussein priya raj rahul anil sunil arjun aditi
    wei ming chen yuki hiroshi kenji keiko sakura jing xiao li lan mei ngozi chidi kwame kofi amara thandiwe
    thandeka nia jamal darnell keisha latoya tyrone olufemi oluwaseun segun wanjiru kwabena zeynep fatemeh
    oleksandr dariusz zdzisław bjørn siobhan ruairí ezequiel giuseppina hélène björk xiomara dmitri sergei
    natasha olga ivan svetlana agnieszka tomasz ewa yusuf zainab nkechi leilani siddharth
    """.split()


@lru_cache(maxsize=65536)
def _zipf(word: str) -> float:
    from wordfreq import zipf_frequency

    return zipf_frequency(word.lower(), "en")


def _is_latin(ch: str) -> bool:
    return ch.isascii() or "LATIN" in unicodedata.name(ch, "")


def _non_latin(word: str) -> bool:
    """A word in a script other than Latin and Greek (Greek letters are units and gene names: TNF-α)."""
    letters = [c for c in word if c.isalpha()]
    return bool(letters) and not any(_is_latin(c) or "GREEK" in unicodedata.name(c, "") for c in letters)


def _known(word: str) -> bool:
    """A census first name or surname, looking through apostrophes and hyphens: "o'leary", "Lars-Erik"."""
    first, last = _lexicon()
    w = word.lower().replace("'", "").replace("’", "")
    return w in first or w in last or ("-" in w and all(p in first or p in last for p in w.split("-")))


def _everyday(word: str) -> bool:
    """An ordinary English word rather than a name ("recommended", "Google", "has", "Rh-negative")."""
    w = word.lower().strip("'’")
    if w in STOPWORDS or w in EPONYMS or w in PLACES:
        return True
    if _known(w):
        return False
    if "-" in w:  # "Rh-negative", "Follow-up": a part is a word; "Al-Sayegh": none is
        return any(_everyday(p) for p in w.split("-") if len(p) > 2)
    return _zipf(w) >= 3.4


def _name_like(word: str, *, strong: bool, capital_only: bool) -> bool:
    """May ``word`` be part of a name after a cue?"""
    if re.fullmatch(r"[A-Za-z]\.", word):
        return True
    if _non_latin(word):
        return True
    w = word.lower()
    if w in STOPWORDS or (_everyday(word) and not (word[0].isupper() and _known(w))):
        return False
    if word[0].isupper() or strong:
        return True
    if capital_only:
        return _known(w) or _zipf(w) < 1.5
    return _known(w) or _zipf(w) < 2.0


def _take(text: str, pos: int, *, strong: bool, capital_only: bool, limit: int = 3) -> tuple[int, int] | None:
    """The span of up to ``limit`` name words starting at ``pos`` (spaces and one comma-free run)."""
    end = pos
    count = 0
    i = pos
    while count < limit:
        m = _TOKEN.match(text, i)
        if not m:
            break
        word = m.group(0)
        if count == 0:
            ok = _name_like(word, strong=strong, capital_only=capital_only)
        else:  # a later word continues the name unless it is an everyday word
            ok = bool(re.fullmatch(_INITIAL, word)) or _non_latin(word) or not _everyday(word)
        if ok and word[0].islower() and word.endswith(".") and count == 0:  # "m." only before a name word
            after = _TOKEN.match(text, m.end() + 1)
            ok = after is not None and not after.group(0).endswith(".") and not _everyday(after.group(0))
        if not ok:
            break
        end = m.end()
        count += 1
        sp = re.match(r"[ \t]+", text[end:])
        if not sp:
            break
        i = end + sp.end()
    if not count:
        return None
    if _EPONYM_USE.match(text, end) and all(_everyday(w) or w.lower() in EPONYMS
                                            for w in _TOKEN.findall(text[pos:end])):
        return None
    return (pos, end)


def _sentence_start(text: str, pos: int) -> bool:
    return re.search(r"(?:^|[.!?:;\n]\s*|[\"“(]\s*)$", text[:pos]) is not None


def find_names(text: str) -> list[tuple[int, int]]:
    """Spans of people's names in ``text``."""
    spans: list[tuple[int, int]] = []
    add = spans.append
    first, last = _lexicon()
    for cue, strong, capital_only in ((_CUE_TITLE, True, False), (_CUE_STRONG, True, False),
                                      (_CUE_RELATIVE, False, False), (_CUE_PATIENT, False, True),
                                      (_CUE_SELF, False, False)):
        for m in cue.finditer(text):
            if cue is _CUE_SELF:
                word = _TOKEN.match(text, m.end())
                if not word or (word.group(0)[0].islower() and not (word.group(0).lower() in first
                                                                    or _zipf(word.group(0)) < 2.0)):
                    continue
                if word.group(0)[0].isupper() and _everyday(word.group(0)):
                    continue
            if cue is _CUE_PATIENT and m.group(0).split()[0].lower() in ("from", "with", "about", "for", "re",
                                                                         "regarding"):
                # weak cues: a capitalised name that the list knows, or a non-Latin run
                word = _TOKEN.match(text, m.end())
                if not word or not (_non_latin(word.group(0)) or
                                    (word.group(0)[0].isupper() and word.group(0).lower() in first)):
                    continue
            span = _take(text, m.end(), strong=strong, capital_only=capital_only)
            if span:
                add((m.start(), span[1]) if cue is _CUE_TITLE else span)
    # sign-off at the end: "… Thanks, Priya" / "- Bob"
    m = re.search(rf"(?:(?<=\s)[-–—]\s*|\n\s*)((?:{_WORD})(?:\s+{_WORD})?)\s*[.!]?\s*$", text)
    if m and all(not _everyday(w) for w in m.group(1).split()):
        add(m.span(1))
    # initials: "J.S.", "K. L.", "T. Abernathy"
    for m in re.finditer(r"(?<![\w.])([A-Z]\.\s?[A-Z]\.(?:\s?[A-Z]\.)?)(?![\w])", text):
        if m.group(1).replace(" ", "") not in _INITIALS_OK:
            add(m.span(1))
    for m in re.finditer(rf"(?<![\w.])[A-Z]\.\s+({_WORD})", text):
        w = m.group(1)
        if w[0].isupper() and w.lower() not in _SPECIES and not _everyday(w):
            add((m.start(), m.end()))
    # the census list: a known first name, capitalised, with what follows it
    for m in re.finditer(rf"(?<![\w'’-])({_WORD})", text):
        w = m.group(1)
        lw = w.lower()
        if lw not in first or _already(spans, m.start()) or lw in _MONTHS and re.match(r"\s+\d", text[m.end():]):
            continue  # "April 2019" is a date, "April Smith" a name
        nxt = _TOKEN.match(text, m.end() + 1) if text[m.end():m.end() + 1] == " " else None
        nxt_w = nxt.group(0) if nxt else ""
        if w[0].isupper() and (w[1:].islower() or w.isupper() and nxt_w.isupper() and len(w) > 2):
            if _sentence_start(text, m.start()) and not (nxt_w and (nxt_w[0].isupper() or nxt_w.lower() in
                                                                    ("has", "is", "was", "asks", "wants", "needs",
                                                                     "had", "and", "with", "who", "takes"))
                                                         or text[m.end():m.end() + 1] in (",", "'", "’")):
                continue
            span = _take(text, m.start(), strong=False, capital_only=False)
            if span:
                add(span)
        elif w.islower() and nxt_w.islower() and nxt_w.replace("'", "").replace("’", "") in last \
                and not _everyday(nxt_w):
            add((m.start(), nxt.end()))
    # a hyphenated given name and a capitalised surname: "Lars-Erik Johansson", "Ji-woo Park"
    for m in re.finditer(r"(?<![\w'’-])([A-Z][a-z]+(?:-[A-Za-z][a-z]+)+)[ \t]+([A-Z][a-z'’-]+)(?![\w'’-])", text):
        parts = m.group(1).lower().split("-")
        if all(p in first or p in last or (len(p) <= 4 and _zipf(p) < 4.3) for p in parts) \
                and not _already(spans, m.start()) and not _EPONYM_USE.match(text, m.end()) \
                and (_known(m.group(2)) or not _everyday(m.group(2))):
            add(m.span())
    # two adjacent capitalised words that are neither everyday words nor known names nor eponyms
    for m in re.finditer(rf"(?<![\w'’-])([A-Z][a-zà-ÿ'’-]+)[ \t]+([A-Z][a-zà-ÿ'’-]+)(?![\w'’-])", text):
        a, b = m.group(1), m.group(2)
        if any(_everyday(x) or x.lower() in EPONYMS or x.lower() in _SPECIES or _zipf(x) >= 2.5 for x in (a, b)):
            continue
        if not any(x.lower() in first or x.lower() in last or _zipf(x) < 1.5 for x in (a, b)):
            continue
        if _EPONYM_USE.match(text, m.end()) or _already(spans, m.start()):
            continue
        add(m.span())
    # a run of letters in a non-Latin script inside a Latin-script question
    latin = sum(1 for c in text if c.isalpha() and _is_latin(c))
    other = sum(1 for c in text if c.isalpha() and not _is_latin(c))
    if latin >= other:
        run: tuple[int, int] | None = None
        for m in _TOKEN.finditer(text):
            if not _non_latin(m.group(0)):
                continue
            if run and not text[run[1]:m.start()].strip(" \t"):
                run = (run[0], m.end())
            else:
                if run:
                    add(run)
                run = m.span()
        if run:
            add(run)
    return [(s, e) for s, e in spans if not _vocabulary_term(text, s, e)]


#: words between a name and the noun of an eponym ("Cornelia de Lange's syndrome")
_EPONYM_TAIL = re.compile(r"(?:['’]s)?((?:\s+(?:de|di|da|von|van|la|le|du|del|[A-Z][\w'’-]*?)(?:['’]s)?){0,2})\s+"
                          r"(syndrome|disease|disorder|sign|test|score|scale|criteria|classification|index)\b", re.I)


@lru_cache(maxsize=1)
def vocabularies() -> tuple[dict[str, str], dict[str, str], frozenset[str]]:
    """(MeSH labels, drug names, drug words) of medcite's query analysis; empty where not installed."""
    try:
        from medcite.retrieve.query import QueryAnalyzer

        vocab = QueryAnalyzer().vocab
        return vocab.mesh_labels, vocab.drugs, vocab.drug_words
    except Exception:  # noqa: BLE001 - the guard works without them, with more false blocks
        return {}, {}, frozenset()


def _vocabulary_term(text: str, start: int, end: int) -> bool:
    """Is the span a product or an eponym rather than a person: a drug word and no census name ("Fluzone
    Intradermal"), or the start of a MeSH heading with the words after it ("Cornelia de Lange's syndrome")?"""
    labels, drugs, drug_words = vocabularies()
    words = [w.lower() for w in _TOKEN.findall(text[start:end])]
    if any(w in drugs or w in drug_words for w in words) and not any(_known(w) for w in words):
        return True
    tail = _EPONYM_TAIL.match(text, end)
    if not tail:
        return False
    phrase = words + [w.lower() for w in re.findall(r"[\w-]+(?<!['’]s)", tail.group(1))] + [tail.group(2).lower()]
    return any(" ".join(phrase[i:]) in labels for i in range(len(phrase) - 1))


def _already(spans: list[tuple[int, int]], pos: int) -> bool:
    return any(s <= pos < e for s, e in spans)


__all__ = ["EPONYMS", "PLACES", "find_names", "vocabularies"]
