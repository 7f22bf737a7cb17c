"""PHI guard: HIPAA Safe Harbor identifiers in a question, before it leaves the machine.

Only questions sent to a *non-loopback* LLM endpoint are guarded (a server on 127.0.0.1 / ::1 /
localhost never sees data leave the machine). ``MEDCITE_LLM_PHI`` picks the mode:

* ``redact`` (default) — identifiers are replaced by ``[NAME]``, ``[DATE]``, ``[PHONE]`` …;
* ``refuse`` — :class:`~medcite.errors.PHIError` naming the *kinds* found (never the values);
* ``off`` — the question goes out unchanged.

Detection is pragmatic (regular expressions, a small first-name list, a few context words), tuned for
clinical questions: ages ("65-year-old"), doses ("5 mg/kg"), lab values, blood pressures ("120/80") and
bare years ("2021") are *not* PHI; dates more precise than a year are. It is a guard rail, not a
certified de-identification tool. Raw PHI is never logged: logs get kinds and counts only.

Kinds: NAME, DATE, PHONE, FAX, EMAIL, SSN, MRN (medical record / account / member / plan numbers),
ADDRESS, ZIP, URL, IP.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import Literal

from medcite.errors import ConfigError, PHIError

log = logging.getLogger(__name__)

PHIMode = Literal["redact", "refuse", "off"]
MODES = ("redact", "refuse", "off")


@dataclass(frozen=True)
class PHIMatch:
    kind: str
    start: int
    end: int
    text: str

    def __repr__(self) -> str:  # never print the raw value by accident
        return f"PHIMatch(kind={self.kind!r}, start={self.start}, end={self.end})"


# ------------------------------------------------------------------------------ vocabularies

_FIRST_NAMES = frozenset("""
    james john robert michael william david richard joseph thomas charles christopher daniel matthew anthony
    mark donald steven paul andrew joshua kenneth kevin brian george timothy ronald edward jason jeffrey ryan
    jacob gary nicholas eric jonathan stephen larry justin scott brandon benjamin samuel gregory alexander
    frank patrick raymond jack dennis jerry tyler aaron jose adam nathan henry douglas zachary peter kyle
    ethan walter noah jeremy christian keith roger terry gerald harold sean austin carl arthur lawrence
    dylan jesse jordan bryan billy joe bruce gabriel logan albert alan juan wayne elijah randy roy vincent
    ralph eugene russell bobby mason philip louis mary patricia jennifer linda elizabeth barbara susan jessica
    sarah karen lisa nancy betty margaret sandra ashley kimberly emily donna michelle carol amanda dorothy
    melissa deborah stephanie rebecca sharon laura cynthia kathleen amy angela shirley anna brenda pamela
    emma nicole helen samantha katherine christine debra rachel carolyn janet catherine maria heather diane
    ruth julie olivia joyce virginia victoria kelly lauren christina joan evelyn judith megan andrea cheryl
    hannah jacqueline martha gloria teresa ann sara madison frances kathryn janice jean abigail alice judy
    sophia denise marilyn danielle beverly isabella theresa diana natalie brittany charlotte marie kayla
    alexis lori jane john jim bob tom mike bill dave steve liz kate sue beth meg jen ahmed mohammed
    muhammad fatima aisha omar ali hassan priya raj rahul anil sunil wei li ming chen yuki hiroshi kenji
    carlos luis miguel pedro sofia lucia elena ana javier diego pablo ivan olga dmitri sergei natasha
    pierre jean-pierre francois marco giulia luca hans klaus ingrid lars sven erik anders oluwaseun chidi
    kwame amara thandiwe nia jamal darnell keisha latoya tyrone
    """.split())

#: capitalised words that look like names but are diseases, scores, places or drugs in clinical text
_EPONYMS = frozenset("""
    parkinson parkinson's alzheimer alzheimer's crohn crohn's hodgkin hodgkin's cushing cushing's addison
    addison's graves hashimoto kawasaki down marfan turner wilson wilson's bell bell's guillain barre
    barré huntington huntington's raynaud raynaud's sjogren sjögren tourette asperger lyme apgar glasgow
    wells child pugh gleason breslow cockcroft gault framingham medicare medicaid kaposi kaposi's burkitt
    ewing wernicke korsakoff reiter whipple meniere ménière paget paget's bowen barrett barrett's
    stevens johnson mallory weiss zollinger ellison dubin peutz jeghers osler weber rendu fallot epstein
    barr hirschsprung tay sachs gaucher fabry pompe duchenne becker klinefelter noonan prader willi
    angelman rett still's still behcet behçet takayasu horner brown sequard babinski romberg murphy
    mcburney kernig brudzinski trendelenburg valsalva heimlich foley swan ganz holter doppler gram
    fahrenheit celsius kaplan meier cox fisher student bonferroni pearson spearman likert
    """.split())

_CAP_WORD = r"(?:[A-Z]['’])?[A-Z][a-z]+(?:[A-Z][a-z]+)?(?:[-'’][A-Za-z]+)?"
_TITLE = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sr|Sra|Mme|Herr|Frau)\.?"
_MONTHS = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
           r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_STATES = ("AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC "
           "ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR").split()
_STREET = (r"(?:Street|St\.|Avenue|Ave\.?|Road|Rd\.?|Boulevard|Blvd\.?|Lane|Ln\.?|Drive|Court|Ct\.?|Place|"
           r"Pl\.?|Terrace|Circle|Highway|Hwy\.?|Parkway|Pkwy\.?|Square|Sq\.?|Crescent|Close|Way|"
           r"street|avenue|road|boulevard|lane|drive|court|place|terrace|circle|highway|parkway)")

# ------------------------------------------------------------------------------ patterns

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("EMAIL", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")),
    ("URL", re.compile(r"\b(?:https?://|ftp://|www\.)[^\s<>\"')\]]+", re.I)),
    ("SSN", re.compile(r"\b\d{3}-\d{2}-\d{4}\b|\b(?:SSN|social security(?: number| no\.?)?)[\s:#]*\d{9}\b", re.I)),
    ("FAX", re.compile(r"\bfax(?:\s*(?:no\.?|number|#))?\s*[:#]?\s*(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}\b",
                       re.I)),
    ("PHONE", re.compile(r"(?<![\w/.-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}\b"
                         r"|\+\d{1,3}[\s.-]?\d{2,4}[\s.-]?\d{3,4}[\s.-]?\d{3,4}\b", re.I)),
    ("MRN", re.compile(r"\b(?:MRN|MR#|medical record(?: number| no\.?| #)?|record (?:number|no\.?|#)|"
                       r"acct\.?|account(?: number| no\.?| #)?|patient (?:id|number|no\.?)|chart(?: number| no\.?| #)|"
                       r"member (?:id|number)|policy (?:number|no\.?|#)|health plan (?:id|number|no\.?)|"
                       r"beneficiary (?:id|number)|medicare (?:id|number)|NHS (?:number|no\.?)|"
                       r"(?:license|licence|certificate|serial|device) (?:number|no\.?|#))"
                       r"\s*(?:is|was)?\s*[:#.]?\s*#?\s*[A-Z]{0,3}-?\d[\d-]{3,}[A-Z]?\b", re.I)),
    ("DATE", re.compile(
        # 01/02/2024, 1-2-24, 2024-01-02, 2024/01/02
        r"\b(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}[/-]\d{1,2}[/-]\d{1,2})\b(?![/.-]\d)"
        # March 3, 2021 / Mar. 3rd / March 3
        rf"|\b{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}}\b)?"
        # 3 March 2021 / 3rd of March
        rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}(?:,?\s+\d{{4}}\b)?"
        # March 2021 (month + year is more precise than a year)
        r"|\b(?:January|February|March|April|May|June|July|August|September|October|November|December)"
        r"\s+(?:of\s+)?\d{4}\b")),
    ("ADDRESS", re.compile(rf"\b\d{{1,6}}[A-Za-z]?\s+(?:(?:[NSEW]\.?|North|South|East|West)\s+)?"
                           rf"(?:[A-Za-z][a-z]+\.?\s+){{1,3}}{_STREET}(?![A-Za-z])"
                           r"(?:,?\s*(?:Apt|Apartment|Suite|Unit|#)\.?\s*[A-Za-z0-9-]+)?"
                           r"|\bP\.?\s?O\.?\s+Box\s+\d+\b")),
    ("ZIP", re.compile(rf"(?<=[,\s](?:{'|'.join(_STATES)})\s)\d{{5}}(?:-\d{{4}})?\b"
                       r"|\b(?:zip|zip code|postal code|zipcode)\s*[:#]?\s*\d{5}(?:-\d{4})?\b")),
    ("IP", re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b"
                      r"|(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")),
]

#: month/day without a year, only after a date context word: "DOB 4/12", "admitted on 3/14"
_DATE_CONTEXT = re.compile(r"\b(?:DOB|D\.O\.B\.?|born(?: on)?|(?:admitted|discharged|seen|operated|"
                           r"died|delivered) on)[:\s]+(\d{1,2}/\d{1,2})\b(?![/.-]\d)", re.I)
#: a phone number announced by a context word: "phone 555 1234 567", "cell: 0412 345 678"
_PHONE_CONTEXT = re.compile(r"\b(?:phone|tel|telephone|cell|mobile|call(?: me)?(?: at)?|text me(?: on| at)?)\s*"
                            r"(?:no\.?|number|#)?\s*[:#]?\s*(?:on\s+|at\s+)?(\+?\d[\d\s().-]{6,15}\d)\b", re.I)
_ZIP_CI = re.compile(r"\b(?:zip|zip code|postal code|zipcode)\s*[:#]?\s*\d{5}(?:-\d{4})?\b", re.I)
_ZIP_AFTER_ADDRESS = re.compile(r"^,?\s*(?:[A-Z][a-z]+(?:\s[A-Z][a-z]+)?,?\s+)?(?:[A-Z]{2}\s+)?(\d{5}(?:-\d{4})?)\b")

_NAME_PATTERNS = [
    # Mr. John Smith, Dr Jones, Mrs. O'Brien
    re.compile(rf"\b{_TITLE}\s+(?:{_CAP_WORD}\s+){{0,2}}{_CAP_WORD}"),
    # patient Jane Doe, pt John, my mother Mary Jones, named Alex Kim
    re.compile(rf"(?i:\b(?:patient|pt\.?|client|named|called|my (?:mother|father|mom|dad|son|daughter|wife|"
               rf"husband|brother|sister|grandmother|grandfather|partner|friend|child|baby|patient)))"
               rf"\s+,?\s*({_CAP_WORD}(?:\s+{_CAP_WORD}){{0,2}})"),
    # my name is John Smith / I am Maria / I'm Sarah Lee / this is Tom
    re.compile(rf"(?i:\b(?:my name is|name\s*:|i am|i'm|this is|signed|sincerely,?))\s+"
               rf"({_CAP_WORD}(?:\s+{_CAP_WORD}){{0,2}})"),
    re.compile(r"(?i:\bmy name is)\s+([a-z][a-z'-]+(?:\s+[a-z][a-z'-]+)?)(?=[\s,.;]|$)"),
    # Any Two-Capitalised-Words directly followed by DOB / MRN / age
    re.compile(rf"\b({_CAP_WORD}\s+{_CAP_WORD}(?:\s+{_CAP_WORD})?)(?=,?\s*\(?(?:DOB|D\.O\.B|MRN|born|aged?\s+\d|"
               r"\d{1,3}\s*(?:yo|y/o|y\.o\.|years? old|-year-old)))"),
]
_EPONYM_USE = re.compile(r"(?:['’]s)?\s+(?:disease|syndrome|score|sign|palsy|criteria|classification|"
                         r"test|scale|formula|equation|tear|sarcoma|lymphoma|triad|phenomenon)\b", re.I)
_FIRST_LAST = re.compile(rf"\b({_CAP_WORD})(\s+[A-Z]\.)?(\s+{_CAP_WORD})?")
_NOT_A_NAME_AFTER_CONTEXT = frozenset(
    "with has had is was who presents presenting presented and but the a an on in of for to at from has "
    "reports denies complains on taking".split())


def _names(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    words_all = re.findall(r"[A-Za-z][A-Za-z']+", text)
    # Title Case Text (article titles, headings): capitals carry no signal, keep only strong patterns
    headline = len(words_all) >= 6 and sum(w[0].isupper() for w in words_all) >= 0.6 * len(words_all)
    for i, pat in enumerate(_NAME_PATTERNS):
        if headline and i == 1:
            continue
        for m in pat.finditer(text):
            if headline and i == 0 and "." not in m.group(0).split()[0]:
                continue  # "Miss Cancers" in a title; "Mr. Smith" still counts
            if pat.groups:
                start, end = m.span(1)
                words = m.group(1).split()
            else:
                start, end = m.span()
                words = m.group(0).split()[1:]
            # trim trailing words that are not names ("Jane Doe Has", "John Presents")
            while words and (words[-1].lower() in _NOT_A_NAME_AFTER_CONTEXT or words[-1].lower() in _EPONYMS):
                end = start + text[start:end].rfind(words[-1]) - 1
                words = words[:-1]
            if not words or any(w.lower().rstrip("'s") in _EPONYMS or w.lower() in _EPONYMS for w in words):
                continue
            if i == 2 and len(words) == 1 and words[0].lower() not in _FIRST_NAMES and "name" not in m.group(0).lower():
                continue  # "I am Diabetic" / "this is Metformin": only known first names after "I am"
            spans.append((start, max(start, end)))
    # a known first name, optionally followed by an initial and a capitalised surname
    for m in ([] if headline else _FIRST_LAST.finditer(text)):
        first = m.group(1)
        if first.lower() not in _FIRST_NAMES:
            continue
        surname = m.group(3)
        if surname and surname.strip().lower() in _EPONYMS and _EPONYM_USE.match(text[m.end():]):
            surname = None  # "Down syndrome", "Bell's palsy"
        at_sentence_start = m.start() == 0 or re.search(r"[.!?:]\s*$", text[: m.start()]) is not None
        if surname:
            spans.append((m.start(), m.end()))
        elif not at_sentence_start or re.match(r"\s*[,(]\s*(?:DOB|MRN|\d{1,3}\s*(?:yo|y/o|years?))", text[m.end():]):
            # a lone known first name mid-sentence ("my son Jacob is 4") is still an identifier
            spans.append((m.start(), m.end(1)))
    return [(s, e) for s, e in spans if e > s]


def _valid_ip(candidate: str) -> bool:
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def find_phi(text: str) -> list[PHIMatch]:
    """Every Safe Harbor identifier found in ``text``, in order, without overlaps (longest wins)."""
    if not text:
        return []
    found: list[tuple[int, int, str]] = []
    for kind, pat in _PATTERNS:
        for m in pat.finditer(text):
            if kind == "IP" and not _valid_ip(m.group(0)):
                continue
            found.append((m.start(), m.end(), kind))
    for m in _ZIP_CI.finditer(text):
        found.append((m.start(), m.end(), "ZIP"))
    for m in _PHONE_CONTEXT.finditer(text):
        found.append((m.start(1), m.end(1), "PHONE"))
    for m in _DATE_CONTEXT.finditer(text):
        found.append((m.start(1), m.end(1), "DATE"))
    # a ZIP code right after a street address ("12 Main Street, Springfield, IL 62704")
    for s, e, kind in list(found):
        if kind == "ADDRESS":
            z = _ZIP_AFTER_ADDRESS.match(text[e:])
            if z:
                found.append((e + z.start(1), e + z.end(1), "ZIP"))
    for s, e in _names(text):
        found.append((s, e, "NAME"))
    priority = {"EMAIL": 0, "URL": 1, "SSN": 2, "MRN": 3, "FAX": 4, "PHONE": 5, "IP": 6, "DATE": 7,
                "ADDRESS": 8, "ZIP": 9, "NAME": 10}
    found.sort(key=lambda t: (t[0], -(t[1] - t[0]), priority[t[2]]))
    out: list[PHIMatch] = []
    for s, e, kind in found:
        if out and s < out[-1].end:
            prev = out[-1]
            if e - s > prev.end - prev.start and priority[kind] <= priority[prev.kind]:
                out[-1] = PHIMatch(kind, prev.start, max(e, prev.end), text[prev.start:max(e, prev.end)])
            continue
        out.append(PHIMatch(kind, s, e, text[s:e]))
    return out


def redact(text: str) -> tuple[str, list[PHIMatch]]:
    """Replace each identifier by ``[KIND]``; return the new text and what was replaced."""
    matches = find_phi(text)
    if not matches:
        return text, []
    parts: list[str] = []
    pos = 0
    for m in matches:
        parts.append(text[pos:m.start])
        parts.append(f"[{m.kind}]")
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts), matches


def kinds(matches: list[PHIMatch]) -> list[str]:
    """The distinct kinds in ``matches``, in a stable order."""
    return sorted({m.kind for m in matches})


def guard(text: str, *, mode: PHIMode = "redact", endpoint_is_loopback: bool) -> str:
    """What may be sent to the LLM endpoint.

    Loopback endpoint or ``mode="off"`` → ``text`` unchanged; ``"refuse"`` → :class:`PHIError` naming
    the kinds found; ``"redact"`` → the redacted text.
    """
    if mode not in MODES:
        raise ConfigError(f"unknown PHI mode {mode!r}", hint="set MEDCITE_LLM_PHI to redact, refuse or off")
    if endpoint_is_loopback or mode == "off":
        return text
    new, matches = redact(text)
    if not matches:
        return text
    found = kinds(matches)
    log.info("PHI guard (%s): %d identifier(s) of kind %s", mode, len(matches), ", ".join(found))
    if mode == "refuse":
        raise PHIError(
            f"the question contains protected health information ({', '.join(found)}) and the LLM endpoint "
            "is not on this machine",
            hint="remove the identifiers, set MEDCITE_LLM_PHI=redact, or use an LLM server on 127.0.0.1",
        )
    return new


__all__ = ["MODES", "PHIMatch", "PHIMode", "find_phi", "guard", "kinds", "redact"]
