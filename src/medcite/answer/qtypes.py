"""What a question asks for, and which sections of a document answer that kind of question.

The corpus carries its own structure: drug labels have LOINC-coded sections (4 Contraindications,
6 Adverse Reactions, 2 Dosage and Administration, 7 Drug Interactions, 8.1 Pregnancy), guideline
summaries a "Major Recommendations" field, patient pages the question they answer ("What are the symptoms
of …?"), trials their results and conclusions. ``question_types`` reads the kind of question from its
wording; ``section_answers`` says whether a passage's section (heading, or a patient page's own
question) is one that answers that kind. The composer prefers such sentences and fetches such sections
of the top documents (``typed_passages``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from medcite import regexcache


@dataclass(frozen=True)
class QuestionType:
    name: str
    asks: re.Pattern[str]       # the question's wording
    answers: re.Pattern[str]    # a heading (or a patient page's own question) that answers it
    label_sections: tuple[str, ...] = ()  # drug-label section headings to fetch (SQL LIKE, upper case)


def _re(pattern: str) -> re.Pattern[str]:
    return regexcache.compile(pattern, re.I)


TYPES: tuple[QuestionType, ...] = (
    QuestionType("contraindication",
                 _re(r"\bcontraindicat|\bwho should (?:not|never)\b|\bshould(?:n't| not) (?:take|use|be given|get)\b|"
                     r"\b(?:can|could|may|is it (?:safe|ok|okay) to)\b.{0,80}\b(?:takes?|taking|use|uses|using|have|"
                     r"get|be given|start|keep)\b|\bsafe (?:to|for|with)\b|\bokay to\b"),
                 _re(r"contraindicat|warnings? and precautions|boxed warning|who should not|should not (?:take|use)"),
                 ("%CONTRAINDICATION%", "%WARNING%")),
    QuestionType("adverse_effects",
                 _re(r"\bside[- ]effects?\b|\badverse\b|\breactions?\b|\bharms?\b|\btoxicit|\bcomplications? of\b"),
                 _re(r"adverse reactions?|side effects?|warnings|undesirable|complications"),
                 ("%ADVERSE REACTION%", "%WARNING%")),
    QuestionType("dose",
                 _re(r"\bdos(?:e|es|age|ing)\b|\bhow (?:much|many|often)\b|\bmg\b|\bregimen\b|\bstarting dose\b"),
                 _re(r"dosage|dosing|administration|directions|how (?:much|often)|dose"),
                 ("%DOSAGE%", "%DIRECTIONS%")),
    QuestionType("interaction",
                 _re(r"\binteract|\btogether with\b|\balong with\b|\bcombin(?:e|ed|ing)\b|\bat the same time\b|"
                     r"\bmix(?:ed|ing)?\b"),
                 _re(r"interactions?|concomitant|co-?administration"),
                 ("%INTERACTION%",)),
    QuestionType("pregnancy_lactation",
                 _re(r"\bpregnan|\bbreast ?feed|\bbreast-?feeding\b|\blactat|\bnursing\b|\bexpecting a baby\b"),
                 _re(r"pregnan|lactation|nursing|breast|specific populations|women of reproductive"),
                 ("%PREGNANCY%", "%LACTATION%", "%NURSING%", "%SPECIFIC POPULATIONS%")),
    QuestionType("screening",
                 _re(r"\bscreen|\bget (?:checked|tested)\b|\bbe (?:checked|tested)\b|\bhow often should\b.{0,40}"
                     r"\b(?:test|check|scan|mammogra|colonoscop)|\bstart (?:getting )?(?:mammogra|colonoscop|pap)"),
                 _re(r"recommendation|screening|who should be (?:screened|tested)|major recommendations"),
                 ()),
    QuestionType("treatment",
                 _re(r"\btreat|\btherap|\bmanage|\bcure\b|\bwhat (?:can|should) (?:i|we|be) (?:do|done|take|given)\b|"
                     r"\bmedicin|\bmedication|\bdrugs? (?:for|to)\b|\bfirst[- ]line\b|\beffective\b|\bhelp\b"),
                 _re(r"treatments?|therapy|management|managed|what (?:can|should) be done|recommendation|"
                     r"indications? and usage|results?|conclusions?|findings"),
                 ("%INDICATIONS%",)),
    QuestionType("symptoms",
                 _re(r"\bsymptoms?\b|\bsigns?\b|\bwarning signs?\b|\bwhat does .{0,40}feel like\b|\bhow do i know\b"),
                 _re(r"symptoms?|signs?|clinical (?:features|presentation)|warning"),
                 ()),
    QuestionType("cause",
                 _re(r"\bcause[sd]?\b|\bwhy do(?:es)?\b|\brisk factors?\b|\bwho is at risk\b|\bwhat leads to\b"),
                 _re(r"causes?|risk|etiology|who gets|genetic changes"),
                 ()),
    QuestionType("inheritance",
                 _re(r"\binherit|\bpass(?:ed)? (?:it )?(?:on|down)\b|\bgenetic\b|\brun in (?:the )?famil|\bhereditary\b"),
                 _re(r"inherit|genetic|hereditary"),
                 ()),
    QuestionType("prevention",
                 _re(r"\bprevent|\bavoid (?:getting|catching)\b|\blower (?:my|the|his|her) (?:risk|chance)\b|"
                     r"\breduce (?:my|the|his|her) (?:risk|chance)\b|\bprophyla"),
                 _re(r"prevent|prophyla|recommendation|risk reduction"),
                 ()),
    QuestionType("diagnosis",
                 _re(r"\bdiagnos|\bwhat tests?\b|\bhow (?:is|are) .{0,40} (?:detected|confirmed|found)\b|\bwork-?up\b"),
                 _re(r"diagnos|tests?|exams?|detect"),
                 ()),
    QuestionType("prognosis",
                 _re(r"\boutlook\b|\bprognos|\bsurviv|\blife expectancy\b|\bgo away\b|\brecover|\bhow long\b|"
                     r"\bchances?\b"),
                 _re(r"outlook|prognos|surviv|recover"),
                 ()),
)

BY_NAME = {t.name: t for t in TYPES}


def question_types(question: str) -> tuple[str, ...]:
    """The kinds of answer the question asks for, most specific first (may be empty)."""
    return tuple(t.name for t in TYPES if t.asks.search(question or ""))


def section_answers(types: tuple[str, ...], heading: str, title: str = "", kind: str = "") -> bool:
    """Whether a passage's section answers one of ``types``.

    The section is its heading; for a patient page it is also the page's own question (its title), and for
    a guideline summary the "Major Recommendations" field answers every kind of question it covers.
    """
    where = f"{heading or ''} \u2016 {title if kind == 'patient_info' else ''}"
    for name in types:
        if BY_NAME[name].answers.search(where):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# answer shapes: what the asked-for fact looks like in a sentence
# ---------------------------------------------------------------------------------------------
# A question that asks "what dose", "at what age", "how often", "which drugs" or "how much risk" is answered by
# a sentence that holds a dose, an age, an interval, a drug name or a rate. ``answer_shapes`` reads which shapes
# the question asks for; ``shape_feature`` says whether a candidate sentence has one (the model composer's
# "shape" feature, weighed by the fitted combiner like every other feature).
_UNIT = r"(?:mg|mcg|µg|μg|g|mL|ml|units?|IU|mEq|mmol|mg/kg|mcg/kg|mg/m2|mg/day|puffs?|tablets?|capsules?|drops?)"
_TIME = r"(?:hours?|hrs?|days?|weeks?|wks?|months?|years?|yrs?)"
SHAPES: dict[str, tuple[re.Pattern[str], re.Pattern[str] | None]] = {
    # name: (the question asks for it, a sentence has it)
    "dose": (_re(r"\bdos(?:e|es|age|ing)\b|\bhow much\b.{0,40}\b(?:give|take|prescribe|should)\b|\bstarting dose\b|"
                 r"\bregimen\b|\bhow many (?:mg|milligrams|units|tablets|pills)\b"),
             _re(r"\b\d+(?:[.,]\d+)?\s?(?:(?:to|-|–)\s?\d+(?:[.,]\d+)?\s?)?" + _UNIT + r"\b")),
    "age": (_re(r"\bat what age\b|\bwhat age\b|\bhow old\b|\bage (?:to|at which|should|when)\b|"
                r"\b(?:start|stop|begin|end)\b.{0,40}\bscreen|\bscreen.{0,40}\b(?:start|stop|begin|until)\b"),
            _re(r"\b(?:age[sd]?|aged)\s+(?:of\s+)?\d+|\b\d+\s*(?:years?|yrs?|months?)(?:[- ]old|\s+of age|"
                r"\s+(?:and|or) (?:older|over|younger)|\s+through|\s+to\s+\d+)|\b(?:older|younger) than\s+\d+")),
    "timing": (_re(r"\bhow long\b|\bwhen (?:should|to|can|do|does|is)\b|\bhow soon\b|\btiming\b|\bduration\b|"
                   r"\b(?:started|start|stopped|stop|deferred|delayed|continued)\b.{0,40}\b(?:during|after|before|until)\b"),
               _re(r"\b(?:within|for|after|before|until|at least|up to|over|by)\s+(?:the first\s+)?\d+"
                   r"(?:\s*(?:to|-|–)\s*\d+)?\s*" + _TIME + r"\b|\buntil (?:the )?age\b|\b\d+\s*" + _TIME + r"\b")),
    "frequency": (_re(r"\bhow often\b|\bhow frequently\b|\bfrequency\b|\binterval\b|\bhow many times\b"),
                  _re(r"\b(?:every|each|once|twice|three times|four times)\b.{0,12}\b(?:day|daily|week|weekly|month|"
                      r"year|hours?|\d+)\b|\b(?:annual(?:ly)?|biennial(?:ly)?|daily|weekly|monthly|yearly)\b")),
    "drug": (_re(r"\bwhich (?:drugs?|medications?|medicines?|antibiotics?|agents?|pills?|treatments?)\b|"
                 r"\bwhat (?:drugs?|medications?|medicines?|antibiotics?|agents?|pills?)\b|\bfirst[- ]line\b|"
                 r"\bdrug of choice\b|\bwhat (?:should|can) (?:i|we|he|she|they) (?:take|use|prescribe|give|offer)\b"),
             None),  # a drug name of the corpus's drug dictionary (``drug_words``)
    "rate": (_re(r"\bhow (?:much|many|likely|common)\b.{0,60}\b(?:risk|chance|extra|more|fewer|less|cause|reduce|"
                 r"increase|lower|benefit|patients|people)\b|\bwhat (?:percentage|proportion|rate|share)\b|"
                 r"\bhow (?:effective|accurate|sensitive|specific)\b|\b(?:incidence|prevalence|mortality|survival) rate\b"),
             _re(r"\d(?:\.\d+)?\s?%|\b\d+ (?:of|in|out of) (?:every )?\d+\b|\bNN[TH]\b|\bnumber needed to\b|"
                 r"\b(?:odds|risk|hazard|rate) ratio\b|\b(?:RR|OR|HR)\s*[=:]?\s*\d|\bper \d[\d,]* (?:patients|people|"
                 r"women|men|person-years|births)\b")),
    # "what are the side effects / warning signs / symptoms": the answer enumerates them — a bulleted list, or
    # three or more items joined by semicolons or commas ("sudden numbness …; sudden confusion …; …")
    "list": (_re(r"\bwhat (?:are|were) (?:the |some |its |their )?(?:most )?(?:common |main |usual |early |possible |"
                 r"serious )?(?:side[- ]effects|adverse (?:effects|reactions|events)|symptoms|(?:warning )?signs|"
                 r"complications|risk factors)\b|\bwhat (?:side[- ]effects|symptoms|(?:warning )?signs|complications)\b"),
             _re(r"(?:^|\n)\s*[•\-\*]\s*\S.*\n\s*[•\-\*]\s*\S|(?:[^;]{3,120};){2,}|"
                 r"\b(?:[\w\-() ]{3,60},\s*){2,}(?:and|or)\s+[\w\-]")),
}


def answer_shapes(question: str) -> tuple[str, ...]:
    """The shapes the asked-for fact takes (a dose, an age, a time, an interval, a drug, a rate, a list); may be
    empty."""
    return tuple(name for name, (asks, _has) in SHAPES.items() if asks.search(question or ""))


_WORD = regexcache.compile(r"[a-z][a-z0-9-]+")


def shape_feature(shapes: tuple[str, ...], text: str, drug_words: frozenset[str] = frozenset()) -> float:
    """1.0 when ``text`` has one of the asked ``shapes``, -1.0 when the question asks for shapes and it has none,
    0.0 when the question asks for none."""
    if not shapes:
        return 0.0
    for name in shapes:
        has = SHAPES[name][1]
        if has is not None:
            if has.search(text):
                return 1.0
        elif drug_words and any(w in drug_words for w in _WORD.findall(text.lower())):
            return 1.0
    return -1.0


__all__ = ["SHAPES", "TYPES", "QuestionType", "answer_shapes", "question_types", "section_answers", "shape_feature"]
