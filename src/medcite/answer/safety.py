"""Treating corpus text as data: hidden-markup removal and detection of instruction-like sentences.

Used by both composers: the LLM composer never shows the model an instruction hidden in a passage,
and the extractive composer never quotes one (nor a sentence carrying markup) in an answer.
"""

from __future__ import annotations

import html
import re

from medcite.text import clean_text, html_to_text, split_sentences


#: zero-width, bidi-override, invisible-operator and Unicode "tag" characters (ASCII smuggling)
_HIDDEN = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_LT_NUM = re.compile(r"<\s*=\s*(?=[\d.])")
_GT_NUM = re.compile(r"(?:(?<=^)|(?<=[\s(\[]))>\s*=\s*(?=[\d.])")
_LT = re.compile(r"<\s*(?=[\d.]\d*)")
_GT = re.compile(r"(?:(?<=^)|(?<=[\s(\[]))>\s*(?=[\d.])")
_TAGLIKE = re.compile(r"<\s*/?\s*[A-Za-z!?][^<>]{0,300}>")
_ANGLE = re.compile(r"[<>\u2039\u203a\uff1c\uff1e\u3008\u3009\u27e8\u27e9]")
#: bibliography markers inside a passage ("[4-6]") would read as evidence ids: removed
_REF_MARKER = re.compile(r"[ \t]*\[\s*\d{1,4}(?:\s*[-–,;]\s*\d{1,4})*\s*\]")


def _numeric_angles(text: str) -> str:
    text = _LT_NUM.sub("at most ", text)
    text = _GT_NUM.sub("at least ", text)
    text = _LT.sub("less than ", text)
    return _GT.sub("more than ", text)


def defang(text: str) -> tuple[str, int]:
    """Text a passage may safely show a model, and how many hidden segments were removed.

    HTML comments, scripts/styles and ``display:none`` elements are removed with their content (a reader
    never sees them); other tags are removed; numeric comparisons become words ("< 140" → "less than 140")
    and every remaining ``<``/``>`` is dropped, so a passage can never open or close an evidence fence.
    """
    if not text:
        return "", 0
    hidden = 0
    text = _HIDDEN.sub("", text)
    text = _CONTROL.sub(" ", text)
    text, n = _COMMENT.subn(" ", text)
    hidden += n
    text = _numeric_angles(text)
    if _TAGLIKE.search(text):
        before = len(re.findall(r"display\s*:\s*none|<\s*(?:script|style)\b", text, re.I))
        hidden += before
        text = html_to_text(text)
    text = html.unescape(text)  # "&lt;/evidence&gt;" is a fence too once a model reads it
    text = _HIDDEN.sub("", text)
    text = _COMMENT.sub(" ", text)
    text = _numeric_angles(text)
    text = _TAGLIKE.sub(" ", text)
    text = _ANGLE.sub(" ", text)
    text = _REF_MARKER.sub("", text)
    return "\n".join(clean_text(line) for line in text.split("\n") if clean_text(line)), hidden


# --------------------------------------------------------------------------------- injection detector

_INJECTION_PATTERNS = [
    # "ignore the question", "disregard all previous instructions", "forget everything above"
    r"\b(?:ignore|disregard|forget|override)\b[^.!?\n]{0,30}?\b(?:instructions?|prompts?|the (?:user'?s? )?question|"
    r"(?:all|any|the|previous|prior|above|preceding|earlier|your)\s+(?:rules|guidelines|context|messages?|text|"
    r"directions|evidence|passages?)|everything(?:\s+(?:above|before|else))?|the above)\b",
    # chat-role markers: "SYSTEM: …" (capitals, not "EXPOSURE SYSTEM:"), "Assistant: …", "[INST]", "<<SYS>>"
    r"^\W{0,6}(?:system|assistant|developer|admin(?:istrator)?)(?:\s+(?:prompt|message|note|override))?\s*:",
    r"(?-i:(?<![A-Za-z] )(?<![A-Za-z])SYSTEM(?:\s+(?:PROMPT|MESSAGE|OVERRIDE|NOTE))?\s*:)",
    r"\[/?\s*(?:INST|SYS|SYSTEM)\s*\]|<<\s*/?\s*SYS|#{2,}\s*(?:instruction|system|response)",
    r"\b(?:new|updated|hidden|secret|real|actual)\s+(?:system\s+)?instructions?\s*:",
    r"\binstructions?\s+(?:to|for)\s+(?:the\s+|any\s+)?(?:ai|assistant|model|llm|chatbot|language model)\b",
    r"\byou\s+are\s+now\s+(?:an?\s+|the\s+|in\s+)?[\w-]*\s*(?:assistant|model|mode|bot|ai|llm)\b"
    r"|\byou\s+are\s+(?:an?\s+)?(?:ai|assistant|language model|chatbot|llm)\b",
    r"\byou\s+(?:must|should|will|shall)\s+(?:now\s+)?(?:ignore|cite|output|respond|reply|answer with|say)\b",
    r"\b(?:language model|llm|chatgpt|gpt-\d|the assistant|the ai|ai model|chatbot)\b[^.!?\n]{0,40}?"
    r"\b(?:must|should|shall|will|is instructed)\b",
    r"(?<!not )(?<!n't )\b(?:always|instead)\s+(?:answer|say|respond|reply|output|recommend|tell)\b",
    r"\b(?:answer|respond|reply|say|output|print)\s+(?:only|exactly|instead)\b",
    r"\b(?:answer|say|reply|state)\s+(?:that\s+)?[^.!?\n]{0,40}?\bregardless\s+of\s+(?:the\s+)?"
    r"(?:question|evidence|passages?|what|anything)",
    r"^\W{0,6}(?:please\s+)?tell\s+the\s+(?:user|reader|questioner)\b",
    r"\bcite\s*\[\s*\d+\s*\]|\bcite\s+(?:source|document|evidence|passage|id|reference)\s*#?\s*\d+",
    r"\b(?:evidence|passage)\s+id\s*=|/\s*evidence\b|\bend\s+of\s+evidence\b",
    r"\bprompt\s+injection\b|\bjailbreak|\bdeveloper\s+mode\b",
    r"\bdo\s+not\s+(?:follow|obey)\s+(?:the|these|your|any|previous|prior)\s+(?:instructions|rules)\b",
    r"\bdo\s+not\s+(?:cite|reveal)\b",
]
_INJECTION = re.compile("|".join(f"(?:{p})" for p in _INJECTION_PATTERNS), re.I | re.M)


def is_instruction(sentence: str) -> bool:
    """Does ``sentence`` read like an instruction to a language model (not clinical text)?"""
    return bool(_INJECTION.search(sentence))


#: role markers glued to the end of a sentence start a sentence of their own ("… hypertension. ### Instruction:")
_ROLE_BREAK = re.compile(r"\s+(?=#{2,}\s|\[/?\s*INST\s*\]|<<\s*/?\s*SYS|(?-i:SYSTEM)\s*:|(?:Assistant|System|User)\s*:)")


def screen(text: str) -> tuple[str, int]:
    """``text`` without its instruction-like sentences, and how many were removed."""
    kept: list[str] = []
    removed = 0
    for line in _ROLE_BREAK.sub("\n", text).split("\n"):
        sents = split_sentences(line) or [line]
        good = [s for s in sents if not is_instruction(s)]
        removed += len(sents) - len(good)
        if good:
            kept.append(" ".join(good))
    return "\n".join(kept), removed


