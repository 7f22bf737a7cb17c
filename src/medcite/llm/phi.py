"""PHI guard: the 18 HIPAA Safe Harbor identifier classes in a question, before it leaves the machine.

Only questions sent to a *non-loopback* LLM endpoint are guarded (an endpoint whose host resolves only to
127.0.0.0/8 or ::1 never sees data leave the machine). ``MEDCITE_LLM_PHI`` picks the mode:

* ``refuse`` (default) — :class:`~medcite.errors.PHIError` naming the kinds found and showing the question with
  each identifier replaced (never the values);
* ``redact`` — identifiers are replaced by ``[NAME]``, ``[DATE]``, ``[PHONE]`` … and the question goes out;
* ``off`` — the question goes out unchanged.

The web app and the service also store and log questions only in their redacted form (:func:`redact`).

Detection is rules over the text (regular expressions, context words, a census name list — see
:mod:`medcite.llm.phi_names` — and lists of US towns and world cities, ``phi_places.txt`` and
``phi_world_places.txt``), tuned for clinical questions: ages up
to 89 ("65-year-old"), doses ("5551 units", "5 mg/kg"), lab values, blood pressures ("120/80"), scores and
fractions ("grade 3/4", "1/2 tablet"), bare years ("2021"), eponyms ("Hodgkin", "Down syndrome") and MeSH headings
("Academic Medical Centers", "Child Health") are *not* PHI.

Dates: Safe Harbor removes every element of a date but the year when the date is *of the individual*; a month
with its year ("March 2021") is such an element and is reported, except where the words before it make it the
date of a publication or of the state of knowledge ("as of September 2018", "updated in May 2020", "the April
2019 guideline"). It is a guard rail, measured on a labelled
set (``benchmarks/bench_phi.py``), not a certified de-identification tool.

The 18 Safe Harbor classes and the kinds that stand for them (:data:`SAFE_HARBOR`):

==========================================  ==============================
names                                       NAME
geographic subdivisions below a state       ADDRESS, ZIP, FACILITY
dates (not the year); ages over 89          DATE, AGE
telephone / fax numbers                     PHONE / FAX
email addresses                             EMAIL
social security numbers                     SSN
medical record numbers                      MRN
health plan beneficiary numbers (MBI …)     PLAN
account numbers                             ACCOUNT
certificate / licence numbers               LICENSE
vehicle identifiers, licence plates         VEHICLE
device identifiers and serial numbers       DEVICE
URLs / IP addresses                         URL / IP
biometric identifiers                       BIOMETRIC
full-face photographs                       — (a question is text: nothing to find)
any other unique identifying number/code    ID
==========================================  ==============================
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from medcite.errors import ConfigError, PHIError
from medcite.llm.phi_names import EPONYMS, PLACES, find_names, vocabularies, zipf

log = logging.getLogger(__name__)

PHIMode = Literal["redact", "refuse", "off"]
MODES = ("redact", "refuse", "off")

#: Safe Harbor class → the kinds this module reports for it
SAFE_HARBOR: dict[str, tuple[str, ...]] = {
    "names": ("NAME",), "geographic": ("ADDRESS", "ZIP", "FACILITY"), "dates": ("DATE", "AGE"),
    "phone": ("PHONE",), "fax": ("FAX",), "email": ("EMAIL",), "ssn": ("SSN",), "mrn": ("MRN",),
    "health_plan": ("PLAN",), "account": ("ACCOUNT",), "license": ("LICENSE",), "vehicle": ("VEHICLE",),
    "device": ("DEVICE",), "url": ("URL",), "ip": ("IP",), "biometric": ("BIOMETRIC",), "photo": (),
    "other_id": ("ID",),
}


@dataclass(frozen=True)
class PHIMatch:
    kind: str
    start: int
    end: int
    text: str

    def __repr__(self) -> str:  # never print the raw value by accident
        return f"PHIMatch(kind={self.kind!r}, start={self.start}, end={self.end})"


# ------------------------------------------------------------------------------ vocabularies

_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
          r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_MONTH_ANY = rf"(?:(?i:{_MONTH})|May)"  # "may" in lower case is a verb
_WEEKDAY = r"(?i:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)"
_ORD = r"(?:st|nd|rd|th)?"
_STATES = ("AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC "
           "ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR").split()
_STATE_NAMES = (r"(?:Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|"
                r"Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|"
                r"Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|"
                r"New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|"
                r"South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|"
                r"Wisconsin|Wyoming|Ontario|Quebec|British Columbia|Alberta|Brooklyn|Queens|Manhattan|Bronx)")
_STATE = rf"(?:{'|'.join(_STATES)}|{_STATE_NAMES})"
_STREET = (r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|terrace|ter|"
           r"circle|cir|highway|hwy|parkway|pkwy|square|sq|crescent|cres|close|way|row|alley|trail|trl|"
           r"walk|grove|gardens|mews|hill|heights|pike|turnpike|expressway)\.?")
_CAP = r"[A-Z][\w'’.-]*"
#: a US town after a place cue: "from Dayton", "kids in Williamsburg", "PO Box 1182, Juneau" (checked against
#: phi_places.txt, so "in Wilson disease" and "from Pfizer" stay clean)
_TOWN = re.compile(r"(?:\b(?i:in|at|near|from|around|outside|of)\s+|,\s*)"
                   r"([A-ZÀ-ÖØ-ÞĀ-Ž][^\W\d_A-Z]+(?:[ -](?:(?:de|la|del|do|da|dos|das|sur|on|upon|am|an|der|el)[ -])?"
                   r"[A-ZÀ-ÖØ-ÞĀ-Ž][^\W\d_A-Z'’]+){0,3})")
#: a town in lower case: "my mom in hackensack" (rare words only)
_TOWN_LOWER = re.compile(r"\b(?:in|from|near|outside)\s+([a-z]{5,}(?:[ -][a-z]{4,})?)\b")
#: what follows a street address: its flat and its town ("23 Elm Court, Apt 2", "17 Herbert Macaulay Way, Yaba")
_AFTER_ADDRESS = re.compile(r",\s*(?:(?i:apt|apartment|suite|ste|unit|flat)\.?\s*#?\d+[a-z]?\b"
                            r"|[A-ZÀ-ÖØ-ÞĀ-Ž][^\W\d_]+(?:[ -](?:(?:de|la|del|do|da|sur|on|upon|the)[ -])*"
                            r"[A-ZÀ-ÖØ-ÞĀ-Ž][^\W\d_]+)*)")
_NOT_TOWN_AFTER = re.compile(r"(?i)(?:['’]s)?\s+(?:disease|syndrome|study|cohort|trial|heart|criteria|score|scale|"
                             r"classification|model|equation|formula|risk|method|protocol|guidelines?|sign|test)\b")
#: a named document or body before "of": "the Declaration of Helsinki", "University of Toronto"
_NOT_TOWN_BEFORE = re.compile(r"(?i)\b(?:declaration|convention|treaty|university|college|institute|school|accord|"
                              r"protocol|charter|consensus|criteria|classification|statement|society|academy)\s+of\s+$")
#: words that make a month and year the date of a publication or of knowledge, not of a person
_PUBLICATION_DATE_BEFORE = re.compile(r"(?i)\b(?:as of|published|updated|released|issued|revised|approved|"
                                      r"announced|last reviewed)(?:\s+(?:in|on))?\s*$")
_PUBLICATION_DATE_AFTER = re.compile(r"(?i)\s+(?:guidelines?|update|recommendations?|statement|edition|issue|"
                                     r"version|report|consensus)\b")
#: a value after an identifier's cue word: letters and digits with at least two digits ("A0092213", "1EG4-TE5-MK73",
#: "KX19 BZT", "4403 9921 0076", "(01)00643169007222(17)160128")
_VALUE = (r"(?P<v>#?(?=[\w(.:-]*\d[\w(.:-]*\d|[A-Z]{2,4} \d{2,})[A-Za-z0-9(][\w().:/-]*[A-Za-z0-9)]"
          r"(?:[ ](?=[A-Z0-9]{2,8}\b)(?=[A-Z]*\d|[A-Z]{2,4}\b)[A-Z0-9]{2,8}\b)*)")
_SEP = r"(?:\s*(?:number|numbers|num\.?|no\.?|nos\.?|#|id|ids|code|is|was|are|reads|of|on file|:|=|-)\s*)*\s*"

_CUED: list[tuple[str, str]] = [
    ("SSN", r"ssn|ss#|social security(?: card)?"),
    ("PLAN", r"medicare(?: beneficiary)?(?: card)?|medicaid|mbi|hicn|member(?:ship)?|policy|subscriber|bic|"
             r"beneficiary|insurance(?: card)?|insurer|health plan|plan|group|bcbs|cigna|aetna|humana|kaiser"),
    ("MRN", r"mrn|mr|medical record|prontu[aá]rio|expediente|dossier|historia cl[ií]nica|"
            r"health record|record|chart|hospital|unit|patient|nhs|emr|ehr|hospital record"),
    ("ACCOUNT", r"account|acct\.?|a/c|billing(?: ref(?:erence)?| account)?|invoice|card|credit card|debit card|"
                r"iban|bank account|routing"),
    ("LICENSE", r"(?:driver'?s?|driving|nursing|medical|rn|professional|state)?\s*licen[cs]e|dl|dea|npi|"
                r"certificate|cert\.?|passport|permit|registration(?! plate)"),
    ("VEHICLE", r"(?:licen[cs]e |number |registration )?plates?|(?:car|vehicle|truck|van|motorbike) "
                r"(?:registration|reg\.?|plate|id|number|tag)|reg\.?|vin|vehicle id|truck|tag"),
    ("DEVICE", r"serial|s/n|sn|device(?: id| serial)?|udi|imei|mac address|transmitter(?: id| serial)?|"
               r"implant(?: id| card)?|pump(?: serial)?|model/serial"),
    ("BIOMETRIC", r"fingerprint(?: template| hash)?|thumbprint|voiceprint|voice print|retina(?:l)? scan(?: signature)?|"
                  r"iris scan|face ?print|palm ?print|biometric(?: id| template| hash)?|gait signature|"
                  r"dna profile|(?:facial|face|hand|iris|voice|vein)(?: geometry| recognition)? (?:template|signature)|"
                  r"(?:biometric |enrol(?:l?ment) )?(?:template|signature) (?:id|hash)"),
    ("ID", r"(?:subject|study|participant|research|trial subject|employee|staff|student|case|claim|reference|"
           r"ref|confirmation|ticket|order|accession|specimen|sample|barcode|prescription|rx|lab|visit|encounter|"
           r"booking|tracking|customer|client|badge|id|identifier|inmate|prisoner|detainee|offender)"),
]
_CUED_RE = [(kind, re.compile(rf"(?i:\b(?:{cue}))(?![\w/]){_SEP}{_VALUE}")) for kind, cue in _CUED]

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("EMAIL", re.compile(r"\b[A-Za-z0-9._%+-]+[@＠][A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")),
    # john dot smith at gmail dot com / maria_g [at] yahoo [dot] com / t.oconnor(at)hospital.org
    ("EMAIL", re.compile(
        r"(?i)\b[a-z0-9._%+-]+(?:\s*(?:\.|\[dot\]|\(dot\)|\{dot\}|\s+(?:dot|underscore|dash|hyphen)\s+)\s*"
        r"[a-z0-9_%+-]+)*(?:\s+[a-z](?=\s+at\s))?"
        r"(?:\s*(?:\[at\]|\(at\)|\{at\}|<at>)\s*|\s+at\s+)"
        r"[a-z0-9-]+(?:\s*(?:\.|\[dot\]|\(dot\)|\{dot\}|\s+dot\s+)\s*[a-z0-9-]+)*"
        r"\s*(?:\.|\[dot\]|\(dot\)|\{dot\}|\s+dot\s+)\s*"
        r"(?:com|org|net|edu|gov|mil|int|info|biz|io|co|me|uk|us|ca|de|fr|au|in|nl|ie|nz|za|es|it|ch|se|no|dk)\b")),
    ("URL", re.compile(r"(?i)\b(?:https?://|ftp://|www\.)[^\s<>\"')\]]+")),
    ("URL", re.compile(r"(?i)(?<![@\w.-])(?:[a-z0-9-]+\.)+(?:com|org|net|edu|gov|io|co|me|info|uk|us|ly|app|health)"
                       r"(?:/[^\s<>\"')\]]*)?(?![\w.-]*@)")),
    ("SSN", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    ("SSN", re.compile(r"(?i)\b(?:ssn|ss#|social)\b[^\d\n]{0,40}?(?<!\d)(\d{3}[ .]\d{2}[ .]\d{4})\b")),
    ("FAX", re.compile(r"(?i)\bfax(?:\s*(?:no\.?|number|#|on|to|:))*\s*[:#]?\s*"
                       r"(\+?\d[\d\s().-]{8,17}\d)\b")),
    ("PHONE", re.compile(r"(?<![\w/.-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}\b"
                         r"|(?<![\w/.-])\+\d{1,3}[\s.-]?(?:\(?\d{1,4}\)?[\s.-]?){1,4}\d{2,4}\b"
                         r"|(?<![\w/.,-])1?\d{10}(?![\w/.,-]\d|\d)"  # 5551234567
                         r"|(?<![\w/.-])0\d{3,4}[\s-]?\d{3}[\s-]?\d{3,4}\b"  # 07700 900461
                         r"|\(0\d{1,3}\)\s?\d{3,4}[\s-]?\d{4}\b")),  # (02) 9876 5432
    ("PHONE", re.compile(r"(?<![\w/.-])\d{3}[.-]\d{4}\b(?![./-]\d)")),  # 555-0143
    # Medicare Beneficiary Identifier: 1EG4-TE5-MK73
    ("PLAN", re.compile(r"\b[1-9][A-Z][A-Z0-9]\d-?[A-Z][A-Z0-9]\d-?[A-Z]{2}\d{2}\b")),
    # vehicle identification number: 17 characters, no I, O or Q
    ("VEHICLE", re.compile(r"\b(?=[A-HJ-NPR-Z0-9]*\d)(?=(?:[A-HJ-NPR-Z0-9]*[A-HJ-NPR-Z]){3})[A-HJ-NPR-Z0-9]{17}\b")),
    ("DEVICE", re.compile(r"\b(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\b")),  # a MAC address
    ("VEHICLE", re.compile(r"(?i:\bplates?)(?:\s*(?:number|no\.?|#|:|is|reads))*\s*"
                           r"((?=[A-Z]*\d)[A-Z0-9]{1,4}[ -]?[A-Z0-9]{2,4})\b")),  # plate EV4 LIFE
    # a DNA (STR) profile: loci and their alleles, "D8S1179 13,14 D21S11 29,30"
    ("BIOMETRIC", re.compile(r"(?:\b(?:D\d{1,2}S\d{2,4}|CSF1PO|TH01|TPOX|vWA|FGA|Amelogenin)\s+[\dXY]{1,2}(?:\.\d)?"
                             r"(?:,\s?[\dXY]{1,2}(?:\.\d)?)?(?:\s+|$)){2,}")),
    ("ACCOUNT", re.compile(r"\b\d{4}([ -]?)\d{4}\1\d{4}\1\d{1,7}\b"  # card numbers
                           r"|\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b")),  # IBAN
    ("ID", re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{16,}\b", re.I)),  # hashes, tokens
    ("ID", re.compile(r"(?<![\w.,/-])\d{3,5}(?:[ -]\d{3,5}){2,}(?![\w.,/-]*\d)")),  # grouped long numbers
    # (one pattern per shape: an alternation of them all is slower than the parts)
    # 01/02/2024, 1-2-24, 2024-01-02, 07.11.1954; 12-Dec-2023
    ("DATE", re.compile(r"(?<![/\d])\b(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}[/.-]\d{1,2}[/.-]\d{1,2})\b"
                        rf"(?![/.-]\d)|\b\d{{1,2}}[-/ ]{_MONTH_ANY}[-/ ](?:\d{{4}}|\d{{2}})\b")),
    # Monday 7/1, Thursday 3/13
    ("DATE", re.compile(rf"\b{_WEEKDAY}\d{{1,2}}/\d{{1,2}}\b(?![/.-]\d)")),
    ("DATE", re.compile(
        # (Tuesday) March 3(rd)(, 2021)
        rf"(?:{_WEEKDAY})?\b{_MONTH_ANY}\s+\d{{1,2}}{_ORD}\b(?!\s*(?:mg|g|ml|units|%|mm|cm|kg))(?:,?\s+\d{{4}}\b)?")),
    ("DATE", re.compile(
        # (on) (the) 3(rd) (of) March (2021)
        rf"(?:\bon\s+)?(?:{_WEEKDAY})?(?:\bthe\s+)?\b\d{{1,2}}{_ORD}\s+(?:of\s+)?{_MONTH_ANY}(?![a-z])"
        r"(?:,?\s+\d{4}\b)?")),
    ("DATE", re.compile(
        # March 2021: a month with its year is more precise than a year
        rf"\b(?i:january|february|march|april|june|july|august|september|october|november|december|"
        rf"jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?\s+(?:of\s+)?(?:19|20)\d\d\b|\bMay\s+(?:19|20)\d\d\b"
        # holidays
        r"|\b(?i:christmas(?: eve| day)?|new year'?s(?: eve| day)?|thanksgiving(?: day)?|easter(?: sunday)?|"
        r"halloween|independence day|boxing day|valentine'?s day)\s+(?:19|20)\d\d\b")),
    # the 14th, Tuesday the 9th (not "the 2nd dose", "the 3rd trimester")
    ("DATE", re.compile(r"\b(?:on|by|before|after|since|until|till|from)\s+"
                        r"(the\s+(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)\b)"
                        r"(?=\s*(?:[,.;:?!()—–]|-\s|$|(?:and|at|but|so|when|because|in|for|to|with)\b))"
                        rf"|\b{_WEEKDAY}the\s+(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)\b")),
    # in 3/2019: a month and year; on 22.05: day.month
    ("DATE", re.compile(r"\b(?:in|on|since|from|until|by|before|after|dated|placed|inserted)\s+"
                        r"((?:0?[1-9]|1[0-2])/(?:19|20)\d\d)\b(?![/\d]|\s*(?:births|patients|people|persons|live))"
                        r"|\bon\s+((?:[12]\d|3[01]|0?[1-9])\.(?:0[1-9]|1[0-2]))\b"
                        r"(?![.\d]|\s*(?:mg|g|ml|mcg|units?|%|mmol|kg))")),
    ("AGE", re.compile(
        r"(?<![\w.>≥+-])(?:9\d|1[0-2]\d)\s*-?\s*(?:years?|yrs?|y)(?:\s*-?\s*old|\s+of\s+age)\b(?!\s*(?:or|and)\s+"
        r"(?:older|over|above))"
        r"|(?<![\w.>≥+-])(?:9\d|1[0-2]\d)\s*-?\s*(?:yo|y/o|y\.o\.?|yr-old|yo[mf])(?![a-z])"
        r"|(?<![\w.>≥+-])(?:9\d|1[0-2]\d)(?:\s*-\s*|\s+)(?:year|yr)s?(?=\s*-?\s*(?:old|female|male|man|woman|"
        r"lady|gentleman|patient|boy|girl|with|w/)\b)"
        r"|\bninety[- ](?:one|two|three|four|five|six|seven|eight|nine)[- ]years?[- ]old\b"
        r"|\b(?:one hundred|a hundred)(?:[- ]and)?(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?"
        r"[- ]years?[- ]old\b", re.I)),
    # "is ninety-one", "age ninety", "turned one hundred and two"
    ("AGE", re.compile(
        r"\b(?:is|was|am|be|turned|turns|aged|age|now|turning)\s+(?=ninety|one hundred|a hundred)((?:ninety(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?"
        r"|(?:one|a) hundred(?:(?:[- ]and)?[- ]"
        r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|twenty))?))\b"
        r"(?!\s*(?:percent|%|mg|milligrams|minutes|seconds|days|beats|units|ml|degrees|pounds|or older|and older|"
        r"or over|and over|\+))", re.I)),
    ("ADDRESS", re.compile(
        rf"\b\d{{1,6}}[a-z]?,?\s+(?:(?:[nsew]\.?|north|south|east|west)\s+)?"
        rf"(?:(?!(?:the|a|an|of|by|per|to|in|on|at|for|mg|ml|times|tablets?|days?|weeks?|hours?|doses?|units?)\b)"
        rf"[a-z][\w'’.-]*\s+){{1,3}}{_STREET}(?![\w])"
        r"|\b\d{1,5},?\s+(?:rue|avenue|via|calle|avenida|strada|chemin|boulevard|plaza|piazza|platz|stra(?:ss|ß)e)"
        r"(?:\s+[\w'’-]+){1,4}"
        r"|\bp\.?\s?o\.?\s+box\s+\d+\b"
        r"|\b(?:rua|calle|carrer|avenida|av\.|via|viale|rue|strada|ul\.|ulica|aleja|al\.|plaza|praça|largo|travessa|"
        r"camino|paseo|straat|laan|gasse|platz)\s+(?:[\w'’.-]+\s+){1,4}?\d{1,5}[a-z]?\b(?![.,]?\d|\s*(?:mg|%))"
        r"|\b[\w-]+(?:straße|strasse|weg|gasse|allee|platz|gatan|vägen|vej|straat|laan)\s+\d{1,5}[a-z]?\b"
        r"|\b(?:apt|apartment|suite|ste|unit|flat|room|rm)\.?\s*#?\s*\d+[a-z]?\b(?=\s*(?:,|$|\s+(?:and|in|at)\b))", re.I)),
    ("ADDRESS", re.compile(r"[\u3400-\u9FFF]{1,8}(?:市|区|區|県|縣|省|町|村|路|街|道)[\u3400-\u9FFF]*"
                           r"[0-9０-９]+(?:[-－ー丁目番地号號の][0-9０-９]*)*")),
    ("ADDRESS", re.compile(r"\b[A-Z][a-z]+(?:-(?:on|upon|in|under|by|de|la|le|du|des|the|sur|en|am|an|der|les|lès|"
                           r"sous|super))+-[A-Z][a-z]+\b")),  # Stow-on-the-Wold, Ashby-de-la-Zouch
    ("ZIP", re.compile(r"(?<![\w-])\d{5}-\d{4}\b")),
    ("ZIP", re.compile(r"(?i)\b(?:zip code|zipcode|zip|postal code|postcode|post code)(?:\s+(?:is|was|of))?\s*[:#]?"
                       r"\s*((?=[A-Z]*\d)[A-Z0-9]{3,5}(?:[\s-](?=[A-Z]*\d)[A-Z0-9]{3,4})?)\b")),
    ("ZIP", re.compile(rf"(?:,\s*|\s){_STATE}\.?,?\s+(\d{{5}})\b")),
    ("ZIP", re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}\b")),  # UK postcodes
    ("IP", re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b"
                      r"|(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")),
    # geography below a state: "lives in Tulsa", "Eau Claire, WI", "Hillsborough County", "St. Mary's Hospital"
    ("ADDRESS", re.compile(
        r"(?i:\b(?:lives?|living|resides?|residing|resident|residents|moved|relocated|born|grew up|hometown|"
        r"located|based|stays?|staying|visiting|home|house|farm|address)\s+(?:is\s+)?(?:in|at|to|of|near|on|"
        r"outside|from)\s+(?:the\s+)?(?:(?:city|town|village|suburb|county)\s+of\s+)?)"
        r"((?:[A-Z][\w'’.-]*)(?:[ -](?:[A-Z][\w'’.-]*|de|du|la|le|of|on|upon|sur)\b)*)")),
    ("ADDRESS", re.compile(rf"\b(?:[A-Z][a-z'’.-]+\s){{0,2}}[A-Z][a-z'’.-]+,\s+{_STATE}\b(?!-)")),
    ("ADDRESS", re.compile(r"\b(?:[A-Z][\w'’.-]+\s){1,3}(?:County|Parish|Borough|Township|Municipality)\b")),
    ("FACILITY", re.compile(
        r"\b(?:(?:St\.?|Saint|Mount|Mt\.?)\s+)?(?:[A-Z][\w'’.-]*[ -]){1,4}"
        r"(?:Hospital|Medical Cent(?:er|re)|Health Cent(?:er|re)|Clinic|Infirmary|Hospice|Nursing Home|"
        r"Care Home|Care Cent(?:er|re)|Rehabilitation Cent(?:er|re)|Rehab|Surgery Cent(?:er|re)|Health System|"
        r"Medical Group|Nursing Facility|Retirement Home|Assisted Living|Memorial|Healthcare|Health|"
        r"Elementary(?: School)?|Middle School|High School|Primary School|Daycare|Day Care|Nursery|Preschool)\b")),
    # a branded site after "at": "dialysis at DaVita Riverside"
    ("FACILITY", re.compile(r"\bat\s+([A-Z][a-z]+[A-Z][a-z]+(?:\s+[A-Z][a-z]+){1,2})\b")),
]

#: words that make a capitalised place or facility generic, not a place: "a University Hospital", "Texas"
_GENERIC = frozenset("""
    the a an university teaching general community regional district county city state national public private
    academic rural urban tertiary children's childrens veterans va military psychiatric mental memorial
    hospital clinic outpatient inpatient primary secondary medical health care emergency department and of in
    at for new district royal central north south east west northern southern eastern western
    """.split())

#: month/day without a year: "3/4", "14/02" — not scores, fractions of a dose, pain or power grades
_SHORT_DATE = re.compile(r"(?<![\w/.,+-])(\d{1,2})/(\d{1,2})(?![\w/.,]*\d|\s*(?:mg|ml|mcg|g|%|mmhg)\b)")
_SHORT_DATE_CUE = re.compile(
    r"(?i)\b(?:on|since|from|until|till|by|before|after|dated?|admitted|discharged|seen|born|dob|d\.o\.b\.?|"
    r"visit(?:ed)?|appointment|appt|surgery|procedure|operated|delivered|died|last|next|due|started|stopped|"
    r"began|starting|effective|as of|lmp|edd|scheduled|booked|last seen|seen on|of)\W*$")
_NOT_DATE_BEFORE = re.compile(r"(?i)\b(?:grade|grades|stage|class|score|nyha|gcs|apgar|power|strength|murmur|pain|"
                              r"ratio|about|approximately|only|over|under|nearly|almost|acuity|vision|level|levels|"
                              r"dilution|titer|titre|take|takes|taking|give|given|of|to|or|and|vs|versus)\W*$")
_NOT_DATE_AFTER = re.compile(r"(?i)^\s*(?:of|tablets?|tabs?|pills?|caps?|capsules?|teaspoons?|tsp|cups?|doses?|"
                             r"strength|inch|inches|miles?|neutropenia|toxicit(?:y|ies)|adverse|events?|aes?|grade|"
                             r"murmur|power|pain|or|and|to|vs|respond|responded|patients|vision|acuity|"
                             r"monitoring|care|access|support|coverage|availability|ratio|split|rule|dilution)\b")
#: ages announced in words: "she is 101", "Amara Okafor, 94,"
_AGE_SAID = re.compile(r"(?i)\b(?:she|he|i|patient|pt|mother|father|grand\w*|mom|mum|dad|husband|wife|aunt|uncle|"
                       r"who)(?:'s|’s| is| was| turned| turns| will be| am|'m|’m| aged?)\s+(9\d|1[0-2]\d)\b"
                       r"(?![\d.,/%]|\s*(?:mg|kg|lbs?|bpm|%|mmhg|percent|beats|/|kilos|pounds|degrees|or older|"
                       r"and older|or over|\+))")
_AGE_CUE = re.compile(r"(?i)\b(?:aged?|age:|age is|age of)\s+(9\d|1[0-2]\d)\b(?!\s*(?:\+|or older|and older|or over|"
                      r"and over|or above|years? (?:and|or) (?:older|over)|-\d|to \d|and \d))")
#: a number that is an identifier: seven digits or more, not a PubMed, trial, DOI or SNP id, not a quantity
_LONG_NUMBER = re.compile(r"(?<![\w.,/-])(\d{7,})(?![\w.,/-]*\d)")
_NOT_ID_BEFORE = re.compile(r"(?i)(?:pmid|pmcid|nct|doi|isbn|issn|rs|gse|cid|pubmed|clinicaltrials\.gov|"
                            r"cas|pmc|ec)[\s:#]*$")
_UNITS_AFTER = re.compile(r"(?i)^\s*(?:iu|units?|u\b|cells|copies|cfu|mg|mcg|g\b|ml|/|per|people|patients|"
                          r"persons|cases|deaths|individuals|participants|years|dollars|usd|\$)")


def _valid_ip(candidate: str) -> bool:
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def _short_dates(text: str) -> list[tuple[int, int]]:
    out = []
    for m in _SHORT_DATE.finditer(text):
        a, b = int(m.group(1)), int(m.group(2))
        if not ((1 <= a <= 12 and 1 <= b <= 31) or (1 <= b <= 12 and 1 <= a <= 31)) or (a, b) == (24, 7):
            continue  # 120/80, 20/20, "24/7" (all the time)
        before, after = text[max(0, m.start() - 40):m.start()], text[m.end():m.end() + 40]
        if _NOT_DATE_AFTER.match(after):
            continue
        cued = _SHORT_DATE_CUE.search(before) is not None
        fraction = b in (2, 3, 4, 5, 6, 8, 10) and a < b or b == 10 or a == b
        if not cued and (fraction or _NOT_DATE_BEFORE.search(before)):
            continue
        if cued and _NOT_DATE_BEFORE.search(before) and not re.search(r"(?i)\b(?:on|since|dob|born|seen|admitted|"
                                                                      r"discharged|last|lmp)\W*$", before):
            continue
        out.append(m.span())
    return out


def _generic_place(span_text: str) -> bool:
    """A place or facility named only by generic words or by a MeSH heading ("Academic Medical Center")."""
    words = [w.lower().strip(".,'’") for w in re.split(r"[\s-]+", span_text) if w]
    if all(w in _GENERIC or w in PLACES or w in ("st", "saint", "mount", "mt") for w in words):
        return True
    labels = vocabularies()[0]
    lower = " ".join(words)
    return lower in labels or f"{lower}s" in labels


@lru_cache(maxsize=1)
def _towns() -> frozenset[str]:
    """US towns of 5,000 people or more and cities of 15,000 or more elsewhere, lower case (``phi_places.txt``,
    ``phi_world_places.txt``, made by ``tools/phi_places.py``)."""
    out: set[str] = set()
    for name in ("phi_places.txt", "phi_world_places.txt"):
        try:
            lines = Path(__file__).with_name(name).read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        out.update(ln.strip() for ln in lines if ln.strip() and not ln.startswith("#"))
    return frozenset(out)


def _find_towns(text: str) -> list[tuple[int, int]]:
    towns = _towns()
    out = []
    for m in _TOWN.finditer(text):
        words = m.group(1).split()
        for n in range(len(words), 0, -1):  # the longest run of words that is a town: "Eau Claire", "Dayton"
            name = " ".join(words[:n])
            if name.lower().rstrip(".") in towns:
                end = m.start(1) + len(name)
                if not (words[0].lower() in EPONYMS or name.lower() in PLACES or _NOT_TOWN_AFTER.match(text, end)
                        or _NOT_TOWN_BEFORE.search(text, 0, m.start(1))):
                    out.append((m.start(1), end))
                break
    for m in _TOWN_LOWER.finditer(text):
        if m.group(1) in towns and zipf(m.group(1)) < 3.0:
            out.append(m.span(1))
    return out


def find_phi(text: str) -> list[PHIMatch]:
    """Every Safe Harbor identifier found in ``text``, in order; overlapping finds are merged."""
    if not text:
        return []
    found: list[tuple[int, int, str]] = []
    for kind, pat in _PATTERNS:
        for m in pat.finditer(text):
            group = next((g for g in range(1, pat.groups + 1) if m.group(g) is not None), 0) if kind != "ACCOUNT" else 0
            start, end = m.span(group)
            if kind == "IP" and not _valid_ip(m.group(0)):
                continue
            if kind in ("ADDRESS", "FACILITY") and _generic_place(text[start:end]):
                continue
            if kind == "ADDRESS" and pat.groups and text[start:end].lower().strip(".") in _GENERIC:
                continue
            if kind == "URL" and "." not in m.group(0).strip("."):
                continue
            if kind == "DATE" and not re.search(r"\d.*\D\d|^\d{1,2}\D", m.group(0)) \
                    and (_PUBLICATION_DATE_BEFORE.search(text[max(0, start - 30):start])
                         or _PUBLICATION_DATE_AFTER.match(text, end)):
                continue  # "as of September 2018": a month and year, of knowledge rather than of a person
            if kind == "AGE" and re.search(r"(?i)(?:over|above|older than|beyond|>|≥|\+)\s*$", text[:start]):
                continue  # "over 90 years of age": Safe Harbor's own aggregate
            if kind == "FACILITY" and re.match(r"(?i)\s+(?:diet|protocol|guidelines?|criteria|study|trial|score|"
                                               r"classification|method|approach|model)\b", text[end:]):
                continue
            found.append((start, end, kind))
    for kind, pat in _CUED_RE:
        for m in pat.finditer(text):
            value = m.group("v")
            if len(re.sub(r"\W", "", value)) < 4 or re.fullmatch(r"\d{1,3}(?:\.\d+)?", value):
                continue
            if _UNITS_AFTER.match(text[m.end():]) and not re.search(r"[A-Za-z]", value):
                continue
            found.append((m.start("v"), m.end("v"), kind))
    for m in _LONG_NUMBER.finditer(text):
        if _NOT_ID_BEFORE.search(text[max(0, m.start() - 20):m.start()]) or _UNITS_AFTER.match(text[m.end():]):
            continue
        found.append((m.start(1), m.end(1), "ID"))
    for s, e in _short_dates(text):
        found.append((s, e, "DATE"))
    for s, e in _find_towns(text):
        found.append((s, e, "ADDRESS"))
    for i, (s, e, kind) in enumerate(found):
        if kind == "ADDRESS" and text[s:s + 1].isdigit() or kind == "ADDRESS" and text[e:e + 1] == ",":
            while (after := _AFTER_ADDRESS.match(text, e)) and not _generic_place(after.group(0).strip(", ")):
                e = after.end()
            found[i] = (s, e, kind)
    for pat in (_AGE_SAID, _AGE_CUE):
        for m in pat.finditer(text):
            found.append((m.start(1), m.end(1), "AGE"))
    names = find_names(text)
    for s, e in names:
        found.append((s, e, "NAME"))
        # an age right after a name: "Amara Okafor, 94, from …"
        a = re.match(r",?\s*\(?(9\d|1[0-2]\d)\b(?!\s*(?:mg|kg|%|/))", text[e:])
        if a:
            found.append((e + a.start(1), e + a.end(1), "AGE"))
    return _merge(text, found)


_PRIORITY = {k: i for i, k in enumerate(
    ["EMAIL", "URL", "SSN", "PLAN", "MRN", "ACCOUNT", "LICENSE", "VEHICLE", "DEVICE", "BIOMETRIC", "FAX", "PHONE",
     "IP", "DATE", "AGE", "ADDRESS", "FACILITY", "ZIP", "NAME", "ID"])}


def _merge(text: str, found: list[tuple[int, int, str]]) -> list[PHIMatch]:
    """Overlapping finds become one span, of the kind named by the more specific rule."""
    found.sort(key=lambda t: (t[0], -t[1]))
    out: list[tuple[int, int, str]] = []
    for s, e, kind in found:
        if out and s < out[-1][1]:
            ps, pe, pk = out[-1]
            better = pk if (_PRIORITY[pk], -(pe - ps)) <= (_PRIORITY[kind], -(e - s)) else kind
            out[-1] = (ps, max(pe, e), better)
            continue
        out.append((s, e, kind))
    return [PHIMatch(kind, s, e, text[s:e]) for s, e, kind in out]


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


def redacted(text: str) -> str:
    """``text`` with every identifier replaced: what medcite stores and logs of a question."""
    return redact(text)[0]


def scrub(value: Any, question: str) -> Any:
    """``value`` (an answer's JSON: dicts, lists, strings) with the identifiers of ``question`` taken out.

    Each identifier's text (four characters or more) is replaced by ``[KIND]`` wherever it appears; in the
    ``question`` and ``metadata`` fields (where query analysis keeps the question's words) the words of a name
    are replaced one by one too. What the web app and the service store of an answer goes through this.
    """
    matches = find_phi(question)
    if not matches:
        return value
    whole = [(re.compile(re.escape(m.text), re.I), f"[{m.kind}]") for m in matches if len(m.text.strip()) >= 4]
    words = [(re.compile(rf"(?<!\w){re.escape(w)}(?!\w)", re.I), f"[{m.kind}]") for m in matches
             for w in re.findall(r"\w{3,}", m.text) if m.kind == "NAME" or not w.isdigit() or len(w) >= 5]

    def walk(v: Any, deep: bool) -> Any:
        if isinstance(v, str):
            for pat, rep in whole + (words if deep else []):
                v = pat.sub(rep, v)
            return v
        if isinstance(v, dict):
            return {walk(k, deep) if isinstance(k, str) else k:
                    walk(x, deep or k in ("question", "metadata")) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [walk(x, deep) for x in v]
        return v

    out = walk(value, False)
    if isinstance(out, dict) and "question" in out:
        out["question"] = redacted(question)
    return out


def kinds(matches: list[PHIMatch]) -> list[str]:
    """The distinct kinds in ``matches``, in a stable order."""
    return sorted({m.kind for m in matches})


def guard(text: str, *, mode: PHIMode = "refuse", endpoint_is_loopback: bool) -> str:
    """What may be sent to the LLM endpoint.

    Loopback endpoint or ``mode="off"`` → ``text`` unchanged; ``"refuse"`` → :class:`PHIError` naming the kinds
    found and showing the redacted question; ``"redact"`` → the redacted text.
    """
    if mode not in MODES:
        raise ConfigError(f"unknown PHI mode {mode!r}", hint="set MEDCITE_LLM_PHI to refuse, redact or off")
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
            f"is not on this machine; without it the question reads: {new!r}",
            hint="ask that question instead, set MEDCITE_LLM_PHI=redact to send it so, "
                 "or use an LLM server on 127.0.0.1",
        )
    return new


__all__ = ["MODES", "SAFE_HARBOR", "PHIMatch", "PHIMode", "find_phi", "guard", "kinds", "redact", "redacted", "scrub"]
