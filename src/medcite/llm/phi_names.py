"""Names of people in a question: a census name list, context cues, initials and non-Latin script.

Used by :mod:`medcite.llm.phi`. Sources, most reliable first:

* **cues** — a title ("Mr", "Dr", "Mrs" …), "my name is", "named", "called", a relative ("my son", "wife"),
  "patient"/"pt", "I'm", a sign-off ("Thanks, …", "Regards, …"): the words after the cue are a name unless
  they are everyday words (wordfreq) — in any case, and in any script;
* **the name list** — first names and surnames of the US census (the ``names`` package ships them), less those
  that the medical corpus writes in lower case (``phi_name_words.txt``, made by ``tools/phi_name_words.py``), less
  eponyms, places and nationalities: a known first name, capitalised (or followed by a known surname in any
  case), is a name unless an eponym's disease word follows ("Down syndrome", "Gail model");
* **grammar** — a capitalised word where a person stands: a clause's subject before a verb of a person ("Mark
  has had a cough", "Is Rose allowed …"), a possessive ("on Summer's arms"), "for X" closing a request, "the X
  family", before an MRN, a DOB or an e-mail, "Surname, Given" at the start — unless it is a drug, a MeSH heading,
  an eponym, a place or a word with a drug or disease ending; never before the noun of a named system ("Milan
  criteria", "Ross River virus");
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


def _census_files() -> list[Path]:
    try:
        import importlib.util

        spec = importlib.util.find_spec("names")  # data only: dist.male.first, dist.female.first, dist.all.last
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(list(spec.submodule_search_locations)[0])
    return [root / "dist.male.first", root / "dist.female.first", root / "dist.all.last"]


def _read_census() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(first names, surnames, given names) from the census lists and ``phi_name_words.txt`` (see ``_lexicon``)."""
    words = {ln.strip() for ln in (_HERE / "phi_name_words.txt").read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.startswith("#")}
    drop = words | EPONYMS | PLACES | STOPWORDS
    first: set[str] = set(_EXTRA_FIRST)
    last: set[str] = set()
    files = _census_files()
    try:
        for path, into in zip(files, (first, first, last)):
            for line in path.read_text(encoding="ascii").splitlines():
                if line.strip():
                    into.add(line.split()[0].lower())
    except OSError:  # the guard still works from cues, shape and the built-in names
        pass
    given = frozenset(n for n in first if len(n) >= 3) - EPONYMS - PLACES - STOPWORDS - _MONTHS
    return (frozenset(n for n in first if len(n) >= 3 and n not in drop),
            frozenset(n for n in last if len(n) >= 3 and n not in drop), given)


@lru_cache(maxsize=1)
def _census() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """The name lists, read once and kept in medcite's cache folder as one ``marshal`` blob (plain frozensets of
    strings, no code): reading ~100,000 census lines costs ~0.3 s a process, the blob a few milliseconds. The
    blob's name carries the data files' stamps, a digest of the word lists above and the interpreter version."""
    import hashlib

    from medcite import blobcache
    from medcite.retrieve.query import vocabulary_cache_dir

    folder = vocabulary_cache_dir()
    sources = [*_census_files(), _HERE / "phi_name_words.txt"]
    stamps = "-".join(blobcache.stamp(p) for p in sources)
    lists = "\n".join(" ".join(sorted(x)) for x in (EPONYMS, PLACES, STOPWORDS, _MONTHS, _EXTRA_FIRST))
    key = hashlib.sha256(f"{stamps}\n{lists}".encode()).hexdigest()[:16]
    path = folder / blobcache.blob_name(f"phi-names-{key}") if folder else None
    cached = blobcache.load(path)
    if isinstance(cached, tuple) and len(cached) == 3 and all(isinstance(x, frozenset) for x in cached):
        return cached
    out = _read_census()
    blobcache.save(path, out, "phi-names-")
    return out


def _lexicon() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, surnames), lower case, from the census lists of the ``names`` package, less the words the
    corpus writes in lower case, eponyms, places and stop words."""
    first, last, _given = _census()
    return first, last


def _given_names() -> frozenset[str]:
    """Census first names, words included ("Mark", "Hope", "Rose"): names only where the grammar says so."""
    return _census()[2]


def _fold(word: str) -> str:
    """Lower case without accents or a possessive: "Zoë's" → "zoe"."""
    w = re.sub(r"['’]s$", "", word.lower())
    if w.isascii():
        return w
    return "".join(c for c in unicodedata.normalize("NFKD", w) if not unicodedata.combining(c))


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
            ok = _name_like(word, strong=strong, capital_only=capital_only) or strong and word.lower() in _PARTICLES \
                and re.match(rf"[ \t]+(?:[a-z]+[ \t]+)?[{_UP}]", text[m.end():]) is not None
        else:  # a later word continues the name unless it is an everyday word
            ok = bool(re.fullmatch(_INITIAL, word)) or _non_latin(word) or not _everyday(word) \
                or word.lower() in _PARTICLES and re.match(rf"[ \t]+[{_UP}]", text[m.end():]) is not None
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
        w = re.sub(r"['’]s$", "", m.group(1))
        lw = w.lower()
        if lw not in first or _already(spans, m.start()) or lw in _MONTHS and re.match(r"\s+\d", text[m.end():]) \
                or w != m.group(1) and re.search(r"(?i)\b(?:the|st\.?|saint)\s+$",
                                                 text[max(0, m.start() - 7):m.start()]):
            continue  # "April 2019" is a date, "April Smith" a name
        nxt = _TOKEN.match(text, m.end() + 1) if text[m.end():m.end() + 1] == " " else None
        nxt_w = nxt.group(0) if nxt else ""
        if w[0].isupper() and (w[1:].islower() or w.isupper() and re.sub(r"['’]s$", "", nxt_w).isupper()
                               and len(w) > 2):
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
    given = _given_names()
    for m in _TWO_CAPS.finditer(text):
        a, b = m.group(1), m.group(2)
        if any(_CAMEL.search(x) for x in (a, b)):
            continue  # "ResMed AirSense": a brand
        if (_fold(a) in given and not _sentence_start(text, m.start()) or _fold(a) in first) \
                and (_personal(a, given_only=True) or _known(_fold(b))) and _personal(b):
            # a given name and a surname: "Hope Daniels", "Frank Miller", "Precious Ndlovu"
            if not (_everyday(b) or b.lower() in _SPECIES or _EPONYM_USE.match(text, m.end())
                    or _already(spans, m.start())) and (_known(_fold(b)) or _zipf(_fold(b)) < 3.0):
                add(m.span())
                continue
        if any(_everyday(x) or x.lower() in EPONYMS or x.lower() in _SPECIES or _zipf(x) >= 2.5
               or not _known(_fold(x)) and _MEDICAL_WORD.search(_fold(x)) for x in (a, b)):
            continue
        if not any(_fold(x) in first or _fold(x) in last or _zipf(x) < 1.5 for x in (a, b)):
            continue
        if _EPONYM_USE.match(text, m.end()) or _already(spans, m.start()):
            continue
        add(m.span())
    # a run of letters in a non-Latin script inside a Latin-script question
    latin = other = 0
    if not text.isascii():
        latin = sum(1 for c in text if c.isalpha() and _is_latin(c))
        other = sum(1 for c in text if c.isalpha() and not _is_latin(c))
    if other and latin >= other:
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
    _grammar_names(text, spans)
    return [(s, e) for s, e in spans if not (_vocabulary_term(text, s, e) or _CLASSIFIER_AFTER.match(text, e)
                                             or _EPONYM_NOUN.match(text, e)
                                             or _NAMED_BODY_BEFORE.search(text, max(0, s - 20), s))]


#: a named document or body before "of": "the Declaration of Geneva", "University of Sydney"
_NAMED_BODY_BEFORE = re.compile(r"(?i)\b(?:declaration|convention|treaty|university|college|institute|accord|charter|"
                                r"statement|society|academy)\s+of\s+(?:the\s+)?$")
_UP = "A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĴĶĹĻĽĿŁŃŅŇŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽ"
#: a capitalised word of a name in any Latin spelling: "Zoë", "Yılmaz", "Ruiz-Peña", "O'Connell", "D'ANGELO"
_CAP = rf"(?:[{_UP}]['’])?[{_UP}][^\W\d_]*(?:['’-][^\W\d_]+)*"
_CAMEL = re.compile(r"^(?!(?:Mc|Mac|De|Da|Di|Du|La|Le|Van|Von|O['’]|D['’])[A-Z])[A-Z]?[a-z]+[A-Z]")
_TWO_CAPS = re.compile(rf"(?<![\w'’-])({_CAP})[ \t]+({_CAP})(?![\w'’-])")
_PARTICLES = frozenset("van von der den de del della la le da di du dos das ní nic mac bin ibn al el ter ten".split())
#: a place or a person before the noun of a named system is part of that name ("the Milan criteria", "Ross River
#: virus", "the San Francisco syncope rule", "Ann Arbor staging", "the Geneva Convention")
_CLASSIFIER_AFTER = re.compile(r"(?:['’]s?)?(?:\s+[\w'’-]+)?\s+(?i:classifications?|criteria|criterion|score|scores|"
                               r"rules?|system|staging|stage|virus|convention|declaration|consensus|scale|nomogram|"
                               r"algorithm|equation|formula|syndrome|disease)\b")
#: what a person does at the start of a clause: "Mark has had a cough", "Is Rose allowed to …", "Carmen works …"
_PERSON_VERB = (r"(?:in|has|had|have|is|was|got|gets|gave|gives|works|worked|lives|lived|asks|asked|needs|takes|took|"
                r"started|starts|wants|reacted|developed|fell|says|said|keeps|uses|went|allowed|drinks|eats|"
                r"weighs|complains|reports|denies|received|underwent|tested|turned|woke|feels|felt|missed|stopped|"
                r"still|also|just|recently|at|from|came|comes|broke|vomited|ran|refuses|refused|began|cannot|can't|"
                r"isn't|wasn't|doesn't|hasn't|did|does)")
_CLAUSE_BEFORE = re.compile(r"(?:^|[.!?;:—–]\s*|(?i:\b(?:is|can|should|does|did|could|would|has|was|do|whether|if|"
                            r"that|and|but|so|because|when|while)\s+))$")
_SUBJECT = re.compile(rf"(?<![\w'’-])(?!(?i:is|can|should|does|did|could|would|has|was|do|whether|if|that|and|but|so|"
                      rf"because|when|while|what|how|why|which|who|where|are|will|may|my|our|the)\b)({_CAP})"
                      rf"((?:[ \t]+{_CAP}){{0,2}})(?=(?:['’]s)?\s+{_PERSON_VERB}\b|['’]s\s+\S)")
_TITLE = rf"[{_UP}][^\W\d_{_UP}][^\W\d_]*(?:['’-][^\W\d_]+)*"
#: a double-barrelled surname beside another name word: "Le'Shawn Jackson-Bey", "Karimi-Nejad", "Dubois-Laurent"
_BARRELLED = re.compile(rf"(?<![\w'’-])({_CAP}[ \t]+)?([{_UP}][^\W\d_]+-[{_UP}][^\W\d_]+)([ \t]+{_CAP})?"
                        r"(?![\w'’-])")
_SHORT_GIVEN = re.compile(rf"(?<![\w'’-])([{_UP}][a-z]{{1,2}}[ \t]+{_TITLE})(?=\s*[,(]?\s*(?:\(|(?i:mrn|dob)\b))")
_POSSESSIVE = re.compile(rf"(?<![\w'’-])(?<!\bthe )(?<!\bThe )(?<!\bSt\. )(?<!\bSt )({_CAP})['’]s\s+(?=\S)")
#: a name closing a request about a device or an identifier: "SN NB7720193 for Poppy —", "safe for Will to drink"
_FOR_NAME = re.compile(rf"\bfor\s+({_TITLE})(?=\s*(?:[—–?!;:,.]|-\s|$)|\s+to\s+[a-z])")
_IDENTIFIER_BEFORE = re.compile(r"\b(?=[A-Za-z-]*\d)(?=\w*[A-Za-z])[A-Za-z0-9-]{5,}\b|\b\d{5,}\b")
_FAMILY = re.compile(rf"\bthe\s+({_TITLE})\s+(?:family|household|twins|kids|children|boys|girls)\b")
#: names before an identifier: "Li Na (MRN A1937745)", "Tariq, MRN 12-88-4403", "HELGA SCHNEIDER-WOLFF pacemaker S/N",
#: "Marta (marta.kowalska@wp.pl)"
_ID_CUE = re.compile(r"(?i:\b(?:mrn|dob|d\.o\.b|ssn|nhs|prontu\w*|s/n|hospital number|medical record|date of birth)\b)"
                     r"|[\w.+-]+[@＠]")
_BEFORE_ID = re.compile(rf"((?:{_CAP}[ \t]+){{0,2}}{_CAP})\s*[,(:]?\s*$")
_CAPS_HEAD = re.compile(r"^([A-Z][A-Z'’-]{2,}(?:\s+[A-Z][A-Z'’-]{2,})?)\s*:")
_SURNAME_GIVEN = re.compile(rf"^({_CAP}),\s+({_CAP})(?![\w'’-])")
_LOWER_PREFIXED = re.compile(r"(?<![\w'’-])([a-z]{3,})\s+((?:o|d|mc|mac|al|el|abu|bin|ben|van|von|de|di|da)['’-]"
                             r"[a-z]{2,}(?:-[a-z]+)?)(?![\w'’-])")
_RELATIVE_LOWER = re.compile(rf"(?i:\b(?:my|our|his|her|their)\s+{_RELATIVES})\s+([a-z]{{3,}})(?=\s+{_PERSON_VERB}\b)")
_GREEK_NAME = re.compile(r"(?<!\w)[\u0386-\u038F\u0391-\u03A9][\u03AC-\u03CE]{2,}"
                         r"(?:\s+[\u0386-\u038F\u0391-\u03A9][\u03AC-\u03CE]{2,})+")
_OTHER_SCRIPT = r"[\u0400-\u04FF\u0590-\u06FF\u0900-\u0DFF\u0E00-\u0EFF\u3040-\u30FF\u3400-\u9FFF\uAC00-\uD7AF]"
_LATIN_BESIDE = re.compile(rf"((?:{_CAP}[ \t]+){{0,2}}{_CAP})\s*\(\s*(?={_OTHER_SCRIPT})"
                           rf"|{_OTHER_SCRIPT}\s*\(\s*((?:{_CAP}[ \t]+){{0,2}}{_CAP})\s*\)")
_OPENERS = frozenset("""what which who how why when where is are was can could should would does do did will
    may might must please hi hello dear also however yes no any every each some most many much several few this
    that these those there here it its the a an if whether after before during since until while because so
    patient patients pt doctor nurse mother father mom mum dad son daughter baby child husband wife""".split())


def _personal(word: str, *, given_only: bool = False) -> bool:
    """May ``word`` be a person's name where the grammar says it is one?"""
    f = _fold(word)
    if len(f) < 3 or f in _OPENERS or f in STOPWORDS or f in EPONYMS or f in PLACES or f in _MONTHS:
        return False
    labels, drugs, drug_words = vocabularies()
    if f in drugs or f in drug_words or f in labels or f"{f}s" in labels:
        return False
    if f in _given_names() or f in _lexicon()[0]:
        return True
    return not given_only and not _everyday(word) and not _MEDICAL_WORD.search(f)


#: endings of drug, chemical and disease words ("Corticosteroid", "Metastasis", "Lactone")
_MEDICAL_WORD = re.compile(r"(?:oid|ine|ide|ate|one|ol|ase|itis|osis|sis|emia|aemia|oma|pathy|ectomy|plasty|scopy|"
                           r"gram|cillin|mycin|azole|statin|pril|sartan|mab|nib|vir|parin|cycline|floxacin|dipine|"
                           r"olol|tide|gene|virus|ics?|orsen|siran|cib|tib|lisib|ciclib|gliflozin|gliptin|lukast|setron|prazole|dronate|"
                           r"tinib|zumab|ximab|umab)s?$")


def _extend(text: str, end: int) -> int:
    """Carry a name over its surname words: "Zoë Hartmann", "Van der Berg", "Ruiz-Peña"."""
    for _ in range(3):
        m = re.match(rf"[ \t]+((?:{'|'.join(_PARTICLES)})[ \t]+)*({_CAP})(?![\w'’-])", text[end:])
        if not m or (_everyday(m.group(2)) and not _known(_fold(m.group(2)))) or m.group(2).lower() in STOPWORDS:
            break
        end += m.end()
    return end


def _grammar_names(text: str, spans: list[tuple[int, int]]) -> None:
    """Names placed by the sentence rather than by a list: subjects, possessives, requests, headers."""
    add = spans.append
    for m in _SUBJECT.finditer(text):
        if not _CLAUSE_BEFORE.search(text, max(0, m.start() - 10), m.start()):
            continue
        # after "Is …", "Can …" a census given name only: "Is Rose allowed", not "Is Zika still"
        inverted = not _sentence_start(text, m.start(1))
        more = m.group(2).split()
        if text[m.end():m.end() + 4] == " in " and not more:
            continue  # "Takotsubo in women": one word before "in" is too weak
        # or, at a sentence start, a run whose later words are name words: "Siobhán Ní Bhriain had"
        run = bool(more) and not inverted and not _everyday(m.group(1).split("-")[0]) \
            and all(_personal(w) or w.lower() in _PARTICLES for w in more)
        if any(_EPONYM_USE.match(f" {w}") for w in more):
            continue  # "Rachmilewitz Index is used", "Lucio's Phenomenon is"
        if (_personal(m.group(1), given_only=inverted) or run) \
                and not _EPONYM_USE.match(text, m.end(2)) and not _EPONYM_NOUN.match(text, m.end(2)):
            add((m.start(1), _extend(text, m.end(2))))
    for m in _BARRELLED.finditer(text):
        if _EPONYM_USE.match(text, m.end()) or _CLASSIFIER_AFTER.match(text, m.end()):
            continue
        others = [g.strip() for g in (m.group(1), m.group(3)) if g]
        parts = m.group(2).lower().split("-")
        if any(_known(_fold(w)) or any(p in _given_names() for p in _fold(w).split("-")) for w in others) \
                and not any(_MEDICAL_WORD.search(p) or _zipf(p) >= 3.4 and not _known(p) for p in parts):
            add(m.span())
    for m in _SHORT_GIVEN.finditer(text):
        if not any(w.lower() in STOPWORDS or w.lower() in _OPENERS for w in m.group(1).split()):
            add(m.span(1))
    for m in _POSSESSIVE.finditer(text):
        if _personal(m.group(1), given_only=True) and not _EPONYM_USE.match(text, m.end(1)) \
                and not _EPONYM_NOUN.match(text, m.end(1)):
            add(m.span(1))
    for m in _FAMILY.finditer(text):
        if _personal(m.group(1)):
            add(m.span(1))
    for m in _FOR_NAME.finditer(text):
        # a given name, or any name word closing a sentence about an identifier ("SN NB7720193 for Poppy")
        if m.group(1).lower() in _given_names() and _personal(m.group(1), given_only=True) \
                or _personal(m.group(1)) and _IDENTIFIER_BEFORE.search(text, 0, m.start()):
            add(m.span(1))
    for cue in _ID_CUE.finditer(text):
        m = _BEFORE_ID.search(text, max(0, cue.start() - 60), cue.start())
        if not m:
            continue
        words = list(re.finditer(r"\S+", m.group(1)))
        while words and not _personal(words[0].group(0).rstrip(",")) and not _known(_fold(words[0].group(0))):
            words.pop(0)
        if words and (m.group(1).isupper() or any(_known(_fold(w.group(0))) or _fold(w.group(0)) in _given_names()
                                                  for w in words)):
            add((m.start(1) + words[0].start(), m.end(1)))
    m = _CAPS_HEAD.match(text)
    if m and any(_personal(p) for p in re.split(r"[\s-]+", m.group(1))):
        add(m.span(1))
    m = _SURNAME_GIVEN.match(text)
    if m and (_fold(m.group(2)) in _given_names() or m.group(0).isupper()) and m.group(1).lower() not in _OPENERS \
            and m.group(1).lower() not in STOPWORDS:
        add(m.span())
    for m in _LOWER_PREFIXED.finditer(text):
        if m.group(1) not in STOPWORDS and (_fold(m.group(1)) in _given_names() or _zipf(m.group(1)) < 4.0):
            add(m.span())
    for m in _RELATIVE_LOWER.finditer(text):
        if m.group(1) in _given_names() and m.group(1) not in ("will", "may", "can", "must", "just", "still"):
            add(m.span(1))
    for pat in (_GREEK_NAME,):
        for m in pat.finditer(text):
            add(m.span())
    for m in _LATIN_BESIDE.finditer(text) if not text.isascii() else ():
        g = 1 if m.group(1) else 2
        if any(not _everyday(w) or _known(_fold(w)) for w in m.group(g).split()):
            add(m.span(g))


#: nouns that make a possessive an eponym ("Ludwig's angina", "Meckel's diverticulum")
_EPONYM_NOUN = re.compile(r"(?:['’]s?)?\s+(?i:angina|aphasia|glands?|cysts?|ducts?|diverticulum|esophagus|oesophagus|"
                          r"thyroiditis|pouch|space|area|membrane|fascia|ligament|canal|capsule|tubes?|triangle|"
                          r"lines?|spots?|nodes?|nodules?|dermatitis|arthritis|neuralgia|paralysis|phenomenon|"
                          r"signs?|ulcers?|disease|syndrome|sarcoma|lymphoma|palsy|law|criteria|score|"
                          r"classification|knot|operation|procedure|test)\b")


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


def zipf(word: str) -> float:
    """How common ``word`` is in English (wordfreq's Zipf scale: 0 unknown, 3 uncommon, 6 "the"), cached."""
    return _zipf(word)


__all__ = ["EPONYMS", "PLACES", "find_names", "vocabularies", "zipf"]
