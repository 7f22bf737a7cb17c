"""Treating corpus text as data: hidden-markup removal and detection of instruction-like sentences.

Used by both composers: the LLM composer never shows the model an instruction hidden in a passage,
and the extractive composer never quotes one (nor a sentence carrying markup) in an answer.
"""

from __future__ import annotations

import base64
import html
import re
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Mapping, Sequence

from medcite import regexcache
from medcite.domain import Hit
from medcite.text import clean_text, html_to_text, sentence_spans


#: zero-width, bidi-override, invisible-operator and Unicode "tag" characters (ASCII smuggling)
_HIDDEN = regexcache.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")
_CONTROL = regexcache.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_COMMENT = regexcache.compile(r"<!--.*?(?:-->|$)", re.S)
_LT_NUM = regexcache.compile(r"<\s*=\s*(?=[\d.])")
_GT_NUM = regexcache.compile(r"(?:(?<=^)|(?<=[\s(\[]))>\s*=\s*(?=[\d.])")
_LT = regexcache.compile(r"<\s*(?=[\d.]\d*)")
_GT = regexcache.compile(r"(?:(?<=^)|(?<=[\s(\[]))>\s*(?=[\d.])")
_TAGLIKE = regexcache.compile(r"<\s*/?\s*[A-Za-z!?][^<>]{0,300}>")
_ANGLE = regexcache.compile(r"[<>\u2039\u203a\uff1c\uff1e\u3008\u3009\u27e8\u27e9]")
#: bibliography markers inside a passage ("[4-6]") would read as evidence ids: removed
_REF_MARKER = regexcache.compile(r"[ \t]*\[\s*\d{1,4}(?:\s*[-–,;]\s*\d{1,4})*\s*\]")


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
#
# Corpus text is evidence to quote, never instructions to follow. A sentence is treated as an instruction
# (never shown to a model, never quoted) when, in English or in another language and after obfuscation is
# undone (:func:`normalise`), it has one of five structural cues:
#
# * ``role``      chat-role markup or labels: "SYSTEM:", "[INST]", "<|im_start|>", '"role": "system"'
# * ``override``  a demand to drop earlier instructions: "ignore all previous instructions", "olvida las reglas"
# * ``addressee`` it speaks to an AI reader: "Note for AI assistants", "If you are a language model",
#                 "Chatbots reading this page …", "Hinweis für KI-Assistenten", "给人工智能助手的提示"
# * ``meta``      it speaks about the answer being written from the page: "your answer must", "when summarizing
#                 this page", "the only correct recommendation", "repeat it word for word", "regardless of the
#                 question"
# * ``hidden``    it sits in markup a reader never sees (HTML comments, display:none, hidden elements, meta tags)
#
# Clinical imperatives ("Give 25 g of dextrose", "Tell your doctor", "Do not take a double dose") address a
# patient or a clinician and carry none of these cues. A sentence that announces an AI-addressed message
# ("Note for AI assistants.", "Ignore the previous instructions.") also taints the sentence after it
# (injections split over two sentences). Figures: docs/security.md (benchmarks/bench_injection.py).

#: Cyrillic and Greek letters that look like Latin ones (mapped only inside words that mix scripts)
_CONFUSABLES = str.maketrans(
    "аеорсухіјѕԁһӏԛԝАВЕКМНОРСТХІЈЅУοαειρτυνκΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhlqwABEKMHOPCTXIJSYoaeiptuvkABEZHIKMNOPTYX",
)
_NON_LATIN_LOOKALIKE = regexcache.compile("[\u0370-\u03ff\u0400-\u04ff\u0500-\u052f]")
_LATIN = regexcache.compile("[A-Za-z]")
_WORDLIKE = regexcache.compile(r"[^\s.,;:!?()\[\]\"']+")
#: leetspeak: a token mixing letters with digits or $/@ ("1gn0re", "Sy$tem")
_LEET_TOKEN = regexcache.compile(r"(?<![\w$@])(?=[\w$@]*[A-Za-z])(?=[\w$@]*[0-9$@])[\w$@]{3,}")
_LEET = str.maketrans("013457$@", "oieastsa")
#: letters spelled out one by one: "I g n o r e", "N.o.t.e", "N_o_t_e"
_SPACED = regexcache.compile(r"(?<!\w)(?:\w[ .·_\-]){1,}\w(?!\w)")
_SEPARATORS = regexcache.compile(r"[.·_\-]")
_INTRA_WORD = regexcache.compile(r"(?<=[^\W\d_])[-_](?=[^\W\d_])")
#: an assistant who is a person is not an AI ("physician assistant", "nursing assistant")
_HUMAN_ASSISTANT = regexcache.compile(r"\b(physician|nursing|medical|dental|research|clinical|pharmacy|surgical|teaching|"
                              r"laboratory|health ?care|home health|personal care|care|veterinary|anesthesia|"
                              r"occupational therapy|physical therapy|therapy) assistants?\b|\bassistant (surgeon|"
                              r"professor|director|physician|nurse|manager|secretary)\b")


def _unconfuse(text: str) -> str:
    if not _NON_LATIN_LOOKALIKE.search(text):
        return text

    def fix(m: re.Match) -> str:
        w = m.group(0)
        return w.translate(_CONFUSABLES) if _LATIN.search(w) and _NON_LATIN_LOOKALIKE.search(w) else w

    return _WORDLIKE.sub(fix, text)


def _join_spelled(m: re.Match) -> str:
    """"n o t e" → "note"; "n.o.t.e f.o.r" → "note for" (spaces part words when other separators join letters)."""
    run = m.group(0)
    if _SEPARATORS.search(run):
        return " ".join(_SEPARATORS.sub("", w) for w in run.split(" "))
    return run.replace(" ", "")


def normalise(text: str) -> tuple[str, ...]:
    """Lower-cased readings of ``text`` with obfuscation undone, for the cue patterns.

    The plain reading: compatibility forms (full-width, mathematical, circled letters) folded (NFKC),
    zero-width and other invisible characters removed, Cyrillic/Greek look-alikes inside Latin words
    mapped to Latin, hyphens and underscores read as spaces ("IGNORE-ALL-PREVIOUS"). Further readings
    only where the text has them: leetspeak decoded ("1gn0re"), letters spelled one by one joined
    ("I g n o r e", "N.o.t.e"), hyphens inside words removed ("Ig-nore").
    """
    return _readings(text)[0]


def _readings(text: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """(readings, words): :func:`normalise`'s readings and the words they contain."""
    if text.isascii():
        low = text.lower()
    else:
        low = _unconfuse(unicodedata.normalize("NFKC", _HIDDEN.sub("", text))).lower().replace("\u2019", "'")
    if "assistant" in low:
        low = _HUMAN_ASSISTANT.sub(lambda m: m.group(0).replace("assistant", "aide"), low)
    plain = " ".join(low.replace("-", " ").replace("_", " ").split())
    tokens = plain.translate(_PUNCT).split()
    words = set(tokens)
    readings = [plain]
    alt = low
    if any(not t.isalpha() and not t.isdigit() for t in tokens):
        decoded = {t.translate(_LEET) for t in tokens if not t.isalpha() and not t.isdigit()}
        if decoded & _KNOWN or any(t.startswith(_PREFIXES) for t in decoded):
            alt = _LEET_TOKEN.sub(lambda m: m.group(0).translate(_LEET), alt)
    run = longest = 0
    for t in tokens:
        run = run + 1 if len(t) == 1 else 0
        longest = max(longest, run)
    if longest >= 3:
        alt = _SPACED.sub(_join_spelled, alt)
    if alt != low:
        readings.append(" ".join(alt.replace("-", " ").replace("_", " ").split()))
    if "-" in low or "_" in low:
        glued = " ".join(low.replace("-", "").replace("_", "").split())
        if not set(glued.translate(_PUNCT).split()) <= words:
            readings.append(glued)
    if "a.i" in low:
        words.add("ai")
    for r in readings[1:]:
        words.update(r.translate(_PUNCT).split())
    return tuple(readings), frozenset(words)


# --- who the sentence speaks to ------------------------------------------------------------------

_AI = (r"(?:artificial[ -]intelligences?|(?:large |generative |ai )?language[ -]models?|llms?|chat ?bots?|chatgpt|"
       r"gpt(?:-?\d[\w.]*)?|claude|gemini|copilot|bard|"
       r"(?:(?:ai|automated|automatic) )?(?:ai|automated|automatic|virtual|digital|machine|rag|retrieval[- ]augmented|"
       r"machine[- ]learning|summari[sz]ation) ?(?:assistants?|systems?|tools?|models?|agents?|readers?|pipelines?|summari[sz]ers?|"
       r"crawlers?|engines?)|"
       r"(?:ai |automated )?summari[sz]ers?|assistants?|machine readers?|crawlers?|scrapers?|bots?|a\.i\.?|ais?)")
#: what may follow an addressee (a nounphrase like "AI research" or "AI-assisted" is a topic, not a reader)
_AFTER_AI = (r"(?=\s*(?:[,:;!?.)\]—–]|$)|\s+(?:\w+ing|that|which|who|only|and|or|if|here|out there|follows?|below|"
             r"please|must|should|shall|will|need|needs)\b)")
_NOTE_WORDS = (r"(?:notes?|messages?|instructions?|notices?|attention|reminders?|memos?|directives?|warnings?|"
               r"p\.?\s?s\.?|comments?|disclaimers?|descriptions?|corrections?|hints?|tips?|requests?|paragraph|"
               r"section|text|sentence|content|task|orders?|commands?|information|prompt)")
_ADDRESSEE_EN = [
    # "Note for AI assistants summarizing this page", "Message to summarizers", "… addressed to AI summarizers"
    rf"\b{_NOTE_WORDS}\b[^.!?:;]{{0,40}}?\b(?:for|to|addressed to|intended for|meant for|directed at|aimed at)\s+"
    rf"(?:the\s+|any\s+|all\s+|every\s+|each\s+|other\s+)?{_AI}{_AFTER_AI}",
    # "Attention language models:", "Dear assistant,", "Hello, summarizer.", "To any chatbot reading this text"
    rf"^\W{{0,6}}(?:attention|dear|hey|hello|hi|greetings|to|for|reminder for|message for|memo for)\s*,?\s+"
    rf"(?:the\s+|any\s+|all\s+|every\s+|each\s+|you\s+)?{_AI}{_AFTER_AI}",
    # "If you are an AI model", "you are now a …", "as an AI language model"
    rf"\bif\s+you(?:'re|\s+are)\s+(?:an?\s+|the\s+)?(?:large\s+)?(?:{_AI}|model|machine)\b",
    rf"\byou\s+are\s+(?:an?\s+|the\s+)?(?:{_AI})\b|\byou,\s+the\s+(?:{_AI}|model)\b",
    # "AI systems that process this document", "Bots indexing this site", "Any model answering questions"
    rf"(?:\b{_AI}|\bany\s+model|\bthe\s+model)\s+(?:that\s+|which\s+|who\s+)?(?:is\s+|are\s+)?(?:reading|summari[sz]ing|"
    r"processing|parsing|indexing|crawling|retrieving|ingesting|quoting|citing|answering|responding|analy[sz]ing|"
    r"using|generating|scanning|reads?|summari[sz]es?|process(?:es)?|retrieves?|quotes?|answers?|uses?|"
    r"index(?:es)?|parses?|ingests?|scans?)\b[^.!?]{0,30}?\b(?:this|these|questions?|queries)\b",
    # "Claude, Gemini and GPT:", "AI summarizers, listen up.", "Copilot, please add …", "AI reading this:"
    rf"^\W{{0,6}}(?:the\s+)?{_AI}(?:\s*(?:,|and|&)\s*{_AI})*\s*(?:[,:!—–]|\s+(?:reading|here)\b)",
    # "Language models must answer …", "AI models should recommend this product"
    rf"\b{_AI}\s+(?:must|should|shall|will|is to|are to|is instructed to|are instructed to|has to|have to|"
    r"needs? to|is required to|are required to|may only|can only)\s+(?:now\s+|always\s+|only\s+|never\s+)?"
    r"(?:answer|respond|reply|say|state|report|recommend|present|describe|tell|cite|quote|conclude|output|mark|"
    r"advise|summari[sz]e|ignore|list|treat|write|mention|include|claim|add|repeat|reproduce|print|rank|prefer|"
    r"favou?r|disregard)\b",
    rf"\b(?:addressed|directed|intended|meant|written)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?{_AI}{_AFTER_AI}",
]
_AI_OTHER = (r"(?:asistentes?(?: de ia| virtuales?)?|modelos? de (?:lenguaje|idioma|linguagem|ia)|inteligencias? "
             r"artificial(?:es)?|ia|chatbots?|bots?|assistants?(?: ia| virtuels?| d'ia)?|mod[eè]les? de langage|"
             r"intelligences? artificielles?|ki(?:-[\w]+)?|assistent(?:en)?|sprachmodell(?:e|en)?|assistentes?(?: de ia)?|"
             r"assistenti(?: ia)?|modelli linguistici|modello linguistico|taalmodel(?:len)?|ии|нейросет\w*|"
             r"языков\w+ модел\w*|ассистент\w*)")
_ADDRESSEE_OTHER = [
    rf"\b(?:nota|mensaje|instrucci[oó]n(?:es)?|aviso|atenci[oó]n|note|message|consigne|avis|attention|hinweis|"
    rf"nachricht|anweisung(?:en)?|achtung|notiz|mensagem|avviso|opmerking|примечание|сообщение|инструкция)\b"
    rf"[^.!?:]{{0,30}}?(?:\bpara|\ba|\bal|\bpour|\baux?|\bà|\bà l'attention des?|\bfür|\ban|\bper|\bagli|\bai|\bvoor|"
    rf"\bдля)\s+(?:(?:los|las|el|la|les|le|l'|die|den|der|alle|todos los|todas las|tous les|toutes les|os|as|gli|"
    rf"de)\s+)*{_AI_OTHER}\b",
    rf"^\W{{0,6}}(?:à l'attention des?|an alle|a todos los|a todas las|aux|atenci[oó]n|achtung)\s+(?:(?:los|las|les|"
    rf"die|alle)\s+)?{_AI_OTHER}\b",
    rf"\b(?:si eres|si es usted|si vous êtes|si tu es|wenn du|wenn sie|falls du|falls sie|se você (?:é|for)|"
    rf"se sei|als je|если ты|если вы)\s+(?:un|una|une|ein|eine|einem|um|uma|een)?\s*{_AI_OTHER}\b",
    r"(?:给|致|对|告诉|提示|注意)\s*(?:所有\s*|各位\s*|任何\s*)?(?:人工智能|ai|语言模型|大模型|助手|聊天机器人|机器人)",
    r"如果你是(?:一个|一名)?\s*(?:语言模型|人工智能|ai|助手|聊天机器人|模型)",
    r"(?:人工智能|ai|语言模型|助手|模型)\s*(?:在|于)?(?:总结|回答|阅读|处理|引用)(?:本|这|此)",
    r"(?:ai|人工知能|アシスタント|言語モデル)(?:へ|に対して|の皆さん)",
]

# --- demands to drop earlier instructions --------------------------------------------------------

_OVERRIDE = [
    r"\b(?:ignore|ignoring|disregard|forget|override|overrule|discard|bypass|circumvent|set aside|pay no attention to|"
    r"stop following|do not follow|don't follow|never follow|abandon)\b[^.!?\n]{0,40}?\b(?:(?:previous|prior|above|"
    r"preceding|earlier|former|original|initial|system|safety|your|all|any|the|these|those|my|its|given)\s+)+"
    r"(?:instructions?|prompts?|directives?|programming|system prompt|guardrails|commands)\b",
    r"\b(?:ignore|ignoring|disregard|forget|override|discard|bypass|set aside|pay no attention to|stop following|"
    r"do not follow|abandon)\b[^.!?\n]{0,30}?\b(?:(?:previous|prior|above|preceding|earlier|all|any|your|these|safety|system|original)\s+)+"
    r"(?:rules|guidelines|guidance|context|messages?|text|evidence|passages?|policy|policies|restrictions|training|"
    r"constraints|settings|sources?|data|information)\b",
    r"\b(?:ignore|disregard|forget|discard)\s+(?:the\s+)?(?:user'?s?\s+)?question\b|\b(?:ignore|disregard|forget)\s+"
    r"(?:everything|all of (?:that|this|the above)|the above|what (?:you were|i) (?:told|said)|(?:the\s+)?"
    r"(?:evidence|text|context|rules) (?:above|below|provided|given))|\b(?:ignore|disregard|forget)\s+the\s+(?:evidence|"
    r"text|context|passages?|sources?|data)\s+and\s+(?:say|state|answer|recommend|conclude|tell|write|reply|respond|"
    r"claim|output)\b",
    r"\b(?:previous|prior|above|preceding|earlier|original|old|former)\s+(?:instructions|directives|rules|prompts?|"
    r"commands|guidelines)\s+(?:are\s+|is\s+|were\s+)?(?:now\s+)?(?:void|null|cancell?ed|revoked|obsolete|invalid|"
    r"superseded|overridden|no longer (?:apply|valid|in effect)|do not apply|don't apply)",
    r"\b(?:rules|instructions|guidelines|restrictions)\s+(?:you were given\s+)?no longer apply",
    r"\b(?:new|updated|real|actual|true|hidden|secret|additional|revised)\s+(?:system\s+)?(?:instructions?|tasks?|"
    r"directives?|orders|prompt)\s*(?::|for\s+(?:the\s+|you)|(?:is|are)\s+(?:to|that|as follows))",
    r"\b(?:your|the assistant's|the model's)\s+(?:real|actual|true|new|only|primary)\s+(?:task|job|goal|purpose|role|"
    r"mission|objective|instructions?)\b",
    r"\b(?:update|change|amendment|addition)s?\s+to\s+your\s+(?:instructions|rules|prompt|guidelines|programming)",
    # Spanish, French, German, Italian, Portuguese, Dutch, Russian, Chinese / Japanese
    r"(?<!no )\b(?:ignora|ignore|ignoren|ignorad|olvida|olvide|olviden|olvidad|descarta|omite|no sigas)\b[^.!?]{0,30}?"
    r"\b(?:instrucciones|reglas|indicaciones|órdenes|normas|directrices|consignas)\b",
    r"(?<!n')\b(?:ignore[zs]?|ignorer|oublie[zs]?|oublier|ne (?:tiens|tenez) (?:pas )?compte)\b[^.!?]{0,30}?"
    r"\b(?:instructions|consignes|règles|directives|ordres)\b",
    r"\b(?:ignorier\w*|vergiss(?! nicht)|vergessen sie(?! nicht)|missacht\w*)\b[^.!?]{0,30}?"
    r"\b(?:anweisungen|regeln|instruktionen|vorgaben|befehle|richtlinien)\b",
    r"(?<!non )\b(?:ignora|ignorate|dimentica|dimenticate)\b[^.!?]{0,30}?\b(?:istruzioni|regole|indicazioni)\b",
    r"(?<!não )\b(?:ignore|ignora|ignorem|esqueça|esqueca|desconsidere)\b[^.!?]{0,30}?"
    r"\b(?:instruções|instrucoes|regras|orientações)\b",
    r"\b(?:negeer|vergeet(?! niet))\b[^.!?]{0,30}?\b(?:instructies|regels|opdrachten)\b",
    r"(?<!не )(?:игнорируй\w*|забудь\w*|проигнорируй\w*)[^.!?]{0,30}?(?:инструкци\w*|правил\w*|указани\w*)",
    r"(?<!不要)(?<!别)(?:忽略|无视|忽视|無視|忘记|忘掉|忘れ|不要理会|不理会|不要遵守)[^。！？]{0,12}?(?:指令|指示|说明|說明|"
    r"规则|規則|提示|命令|内容|要求)|(?:指令|指示|命令|规则|規則)[^。！？]{0,12}?(?:無視|忽略)",
]

# --- chat-role markup ----------------------------------------------------------------------------

_ROLE = [
    r"^\W{0,6}(?:system|assistant|developer|admin(?:istrator)?)(?:\s+(?:prompt|message|note|override|instruction))?"
    r"\s*:",
    r"\[/?\s*(?:inst|sys|system|assistant)\s*\]|<<\s*/?\s*sys|#{2,}\s*(?:instruction|system|response|assistant)|"
    r"<\|\s*(?:im[_ ]start|im[_ ]end|system|user|assistant|endoftext)\s*\|>",
    r"[\"']role[\"']\s*:\s*[\"'](?:system|assistant|developer)",
    r"\b(?:ai|llm|model|assistant|bot|chatbot|gpt)[-_ ]?(?:instructions?|directives?)\b",
    r"\bsystem\s+prompt\b|\bprompt\s+injection\b|\bjailbr[eo]ak|\bdeveloper\s+mode\b|\bdan\s+mode\b",
    r"\b(?:hidden|secret|invisible)\s+(?:text|instructions?|message|prompt)\s*:",
]
#: "SYSTEM:" in capitals (not "EXPOSURE SYSTEM:", not "the nervous system:"), matched before lower-casing
_ROLE_CASED = regexcache.compile(r"(?<![A-Za-z] )(?<![A-Za-z])SYSTEM(?:\s+(?:PROMPT|MESSAGE|OVERRIDE|NOTE))?\s*:")

# --- statements about the answer being written ---------------------------------------------------

_PAGE = r"(?:page|document|text|article|passage|source|content|site|website|record|entry|paper|guideline)"
_META = [
    r"\b(?:your|the final|the generated|any generated)\s+(?:answer|response|reply|summary|output|completion)\b"
    r"(?!\s+to\b)\s*(?:must|should|shall|has to|needs? to|is to|will|may only|can only)\b",
    r"\bin\s+your\s+(?:answer|response|reply|summary|output)\b(?!\s+to\b)",
    r"\b(?:answer|response|reply|summary|output)s?\s+(?:you|the assistant|the model)\s+(?:produce|generate|give|"
    r"write|provide|create|return|output)s?\b",
    rf"\b(?:summar(?:y|ies)|answers?|responses?|replies|outputs?)\s+(?:of|from|about|based on|generated from|"
    rf"produced from|derived from)\s+this\s+{_PAGE}\b[^.!?]{{0,20}}?\b(?:must|should|shall|has to|have to|needs? to|"
    r"is to|are to)\b",
    r"\b(?:answers?|responses?|replies|summar(?:y|ies)|outputs?)\s+(?:generated|produced|written|created|given)\s+"
    r"(?:for|to)\s+the\s+user",
    r"\bgenerat\w*\s+(?:an?\s+|the\s+|your\s+)?(?:answer|response|summary|reply|output)s?\s+(?:from|based on|using|"
    r"out of)\s+(?:this|these)\b",
    rf"\b(?:when|while|if|before|after)\s+(?:you\s+(?:are\s+)?|you're\s+)?(?:summari[sz]\w*|quoting|citing|"
    rf"paraphras\w+|answering|responding|replying|processing|indexing)\s+(?:from\s+|on\s+|to\s+|about\s+)?"
    rf"(?:this|these)\s+{_PAGE}s?\b",
    r"\bregardless\s+of\s+(?:the\s+|what\s+(?:the\s+)?|which\s+)?(?:question|query|user|prompt|input|"
    r"(?:is\s+|was\s+)?asked)",
    r"\bwhatever\s+(?:the\s+)?(?:user|question|reader)\s+(?:asks|says|types|wants)",
    r"\b(?:if|when|whenever)\s+(?:a|the|any)\s+user\s+(?:asks|queries|requests|types|mentions|writes)",
    r"\b(?:repeat|reproduce|output|print|copy|quote|return)\b[^.!?]{0,40}?\b(?:word\s+for\s+word|verbatim|"
    r"exactly as (?:written|follows))",
    r"\brepeat\s+after\s+me\b",
    r"\bthe\s+only\s+(?:correct|valid|acceptable|true|right|proper|permitted|allowed)\s+(?:answer|recommendation|"
    r"response|conclusion|reply|advice|output|interpretation|summary)\b",
    r"\bthe\s+correct\s+answer\s+(?:to\s+(?:any|every|all|this|each|the)\b|is\b)",
    rf"\b(?:this|the\s+present)\s+{_PAGE}\s+(?:overrides?|supersedes?|replaces?|takes\s+precedence\s+over|outranks?)"
    r"\s+(?:all|any|every)\b[^.!?]{0,20}?\b(?:sources?|evidence|documents?|information|instructions|passages?|"
    r"references?)",
    r"\b(?:evidence|instructions?|rules|context|sources?|passages?|documents?|information)\s+you\s+(?:have\s+been|"
    r"were|are\s+being)\s+(?:given|told|provided|shown|fed)",
    r"\b(?:cite|quote|reference)\s+(?:only\s+)?(?:this|it)\b(?:\s+(?:page|source|document|sentence|passage|article|"
    r"text|statement))?\s+(?:first|only|as|in\s+full|exclusively)",
    r"\bcite\s*\[\s*\d+\s*\]|\bcite\s+(?:source|document|evidence|passage|id|reference|ref\.?)\s*#?\s*\d+",
    r"\b(?:do\s+not|don't|never)\s+(?:cite|quote|mention)\b",
    r"\b(?:do\s+not|don't)\s+(?:summari[sz]e|paraphrase)\s+(?:this|the)\b",
    r"\b(?:treat|consider|regard|use)\s+(?:this|the\s+following|the\s+next|it)\s*(?:sentence|text|passage|"
    r"statement|paragraph|line)?\s+as\s+(?:the\s+|an?\s+|your\s+)?(?:(?:authoritative|correct|final|only|"
    r"definitive|official|true|new)\s+)*(?:answer|recommendation|instructions?|response|truth|source|command)",
    rf"\b(?:do\s+not|don't|never)\s+treat\s+(?:this|the)\s+(?:{_PAGE}|text)\b[^.!?]{{0,20}}?\bas\s+data",
    r"\b(?:the\s+)?(?:next|following)\s+(?:sentence|line|paragraph|text)\s+is\s+(?:the|your)\s+(?:answer|response|"
    r"instruction|recommendation)",
    r"\bthe\s+answer\s+you\s+(?:must|should|will|are\s+to|have\s+to)\s+(?:give|provide|write|return|output)",
    r"\b(?:begin|start|end|open|close|finish)\s+(?:your|the|each|every)\s+(?:reply|answer|response|summary|output)"
    r"\s+with\b",
    r"\b(?:from\s+now\s+on|henceforth|from\s+here\s+on|going\s+forward)\s*,?\s+(?:you\s+(?:will|must|should|shall|"
    r"are)|always|tell|answer|respond|reply|say|output)",
    r"\bpretend\s+(?:you\s+are|to\s+be|that\s+you)|\bact\s+as\s+(?:an?\s+|the\s+)?(?:unrestricted|uncensored|"
    r"unfiltered|jailbroken|evil|rogue)\b|\bact\s+as\s+(?:an?\s+)?(?:\w+\s+){0,2}(?:bot|chatbot|ai|assistant|llm)\b|"
    r"\brole[- ]?play\s+as\b|\byou\s+are\s+now\s+(?:an?\s+|the\s+|in\s+)?[\w-]*\s*(?:assistant|model|mode|bot|ai|llm)\b",
    r"(?<!not )(?<!n't )\balways\s+(?:answer|say|respond|reply|output|state|claim)\b|\binstead\s+(?:write|say|answer|"
    r"state|respond|output|reply|claim|report|conclude)\b",
    r"\b(?:answer|respond|reply|say|output|print)\s+(?:only|exactly)\b",
    r"^\W{0,6}(?:please\s+|then\s+|now\s+|and\s+)?(?:respond|reply)\s+(?:only\b|with\b|that\b|in\s+(?:json|english|"
    r"the\s+following))|^\W{0,6}(?:please\s+|then\s+|now\s+)?(?:output|print)\s+(?:only\b|the\s+following|this\b|"
    r"exactly\b|[\"“':])",
    r"^\W{0,6}(?:please\s+|then\s+|now\s+|and\s+|also\s+)?(?:say|state|claim|conclude)\s+(?:that\b|[\"“'])|"
    r"\b(?:and|then)\s+(?:say|state|claim|answer|reply|respond)\s+that\b",
    r"\btell(?:s|ing)?\s+(?:the\s+)?(?:users?|readers?|questioners?|everyone)\b",
    r"\b(?:answer|respond\s+to|reply\s+to)\s+(?:every|each|all|any)\s+(?:questions?|queries|prompts?)\s+(?:with|by)\b",
    r"\bdecode\s+(?:and|then)\s+(?:follow|execute|obey|run|apply)\b",
    r"\bend\s+of\s+(?:the\s+)?(?:document|evidence|context|prompt|input)\b|\b(?:evidence|passage)\s+id\s*=",
    # other languages
    r"\b(?:la\s+única|el\s+único)\s+(?:recomendación|respuesta|conclusión)\s+(?:correcta|válida|verdadera)|"
    r"\bla\s+seule\s+(?:réponse|recommandation|conclusion)\s+(?:correcte|valable|vraie)|\bdie\s+einzig\s+(?:richtige|"
    r"korrekte|wahre)\s+(?:empfehlung|antwort)|唯一正确的(?:建议|答案|回答|推荐)|\bl'unica\s+(?:risposta|"
    r"raccomandazione)\s+corretta|\ba\s+única\s+(?:resposta|recomendação)\s+correta",
    r"\b(?:al\s+resumir|cuando\s+resumas|en\s+tu\s+respuesta|tu\s+respuesta\s+debe|en\s+su\s+respuesta)\b|"
    r"\b(?:en\s+résumant|dans\s+ta\s+réponse|dans\s+votre\s+réponse|votre\s+réponse\s+doit|résumez\s+cette\s+page)\b|"
    r"\b(?:deine|ihre)\s+antwort\s+(?:muss|soll)|\bfass\w*\s+(?:diesen|den)\s+text\b|在总结本页|总结本页时|你的回答必须",
]


_ANCHORS: dict[str, list[str]] = {
    '_ADDRESSEE_EN': [
        'artificial intelligence intelligences language llm llms chat chatbot chatbots chatgpt gpt* claude gemini copilot bard ai ais automated automatic virtual digital machine rag retrieval summariz* summaris* assistant assistants crawler* scraper* bot bots',
        'artificial intelligence intelligences language llm llms chat chatbot chatbots chatgpt gpt* claude gemini copilot bard ai ais automated automatic virtual digital machine rag retrieval summariz* summaris* assistant assistants crawler* scraper* bot bots',
        'artificial intelligence intelligences language llm llms chat chatbot chatbots chatgpt gpt* claude gemini copilot bard ai ais automated automatic virtual digital machine rag retrieval summariz* summaris* assistant assistants crawler* scraper* bot bots model machine',
        'artificial intelligence intelligences language llm llms chat chatbot chatbots chatgpt gpt* claude gemini copilot bard ai ais automated automatic virtual digital machine rag retrieval summariz* summaris* assistant assistants crawler* scraper* bot bots model',
        'artificial intelligence intelligences language llm llms chat chatbot chatbots chatgpt gpt* claude gemini copilot bard ai ais automated automatic virtual digital machine rag retrieval summariz* summaris* assistant assistants crawler* scraper* bot bots model',
        'artificial intelligence intelligences language llm llms chat chatbot chatbots chatgpt gpt* claude gemini copilot bard ai ais automated automatic virtual digital machine rag retrieval summariz* summaris* assistant assistants crawler* scraper* bot bots',
        'artificial intelligence intelligences language llm llms chat chatbot chatbots chatgpt gpt* claude gemini copilot bard ai ais automated automatic virtual digital machine rag retrieval summariz* summaris* assistant assistants crawler* scraper* bot bots',
        'artificial intelligence intelligences language llm llms chat chatbot chatbots chatgpt gpt* claude gemini copilot bard ai ais automated automatic virtual digital machine rag retrieval summariz* summaris* assistant assistants crawler* scraper* bot bots',
    ],
    '_ADDRESSEE_OTHER': [
        'asistente asistentes modelo modelos inteligencia inteligencias ia chatbot chatbots bot bots assistant assistants modèle modèles modele modeles intelligence intelligences ki assistent* sprachmodell* assistente assistentes assistenti modelli modello taalmodel* ~cyr',
        'asistente asistentes modelo modelos inteligencia inteligencias ia chatbot chatbots bot bots assistant assistants modèle modèles modele modeles intelligence intelligences ki assistent* sprachmodell* assistente assistentes assistenti modelli modello taalmodel* ~cyr',
        'asistente asistentes modelo modelos inteligencia inteligencias ia chatbot chatbots bot bots assistant assistants modèle modèles modele modeles intelligence intelligences ki assistent* sprachmodell* assistente assistentes assistenti modelli modello taalmodel* ~cyr',
        '~cjk',
        '~cjk',
        '~cjk',
        '~cjk',
    ],
    '_OVERRIDE': [
        'instruction instructions prompt prompts directive directives programming guardrails commands',
        'ignor* disregard* forget* overrid* discard* bypass* aside attention abandon*',
        'ignor* disregard* forget* discard*',
        'void null cancelled canceled revoked obsolete invalid superseded overridden apply valid effect',
        'apply',
        'instruction instructions task tasks directive directives orders prompt',
        'task job mission objective instruction instructions',
        'instructions prompt programming',
        'ignora ignore ignoren ignorad olvida olvide olviden olvidad descarta omite sigas',
        'ignore ignorez ignores ignorer oublie oubliez oublies oublier tiens tenez',
        'ignorier* vergiss vergessen missacht*',
        'ignora ignorate dimentica dimenticate',
        'ignore ignora ignorem esqueça esqueca desconsidere',
        'negeer vergeet',
        '~cyr',
        '~cjk',
    ],
    '_ROLE': [
        'system assistant developer admin administrator',
        'inst sys im endoftext ~markup',
        'role',
        'instruction instructions directive directives',
        'prompt jailbr* developer dan',
        'hidden secret invisible',
    ],
    '_META': [
        'answer response reply summary output completion',
        'answer response reply summary output',
        'answer response reply summary output answers responses replies summaries outputs',
        'answer response reply summary output answers responses replies summaries outputs',
        'user',
        'generat*',
        'summari* quoting citing paraphras* answering responding replying processing indexing',
        'regardless',
        'whatever',
        'user',
        'verbatim word exactly',
        'repeat',
        'correct valid acceptable permitted allowed proper',
        'correct',
        'overrides override supersedes supersede replaces replace precedence outranks outrank',
        'told fed',
        'cite quote',
        'cite',
        'cite quote mention',
        'summarize summarise paraphrase',
        'authoritative definitive truth command instruction instructions answer',
        'treat',
        'sentence paragraph',
        'answer',
        'reply answer response summary output',
        'now henceforth here forward',
        'pretend act roleplay play now',
        'always instead',
        'answer respond reply say output print',
        'respond reply output print',
        'say state claim conclude answer reply respond',
        'tell tells telling',
        'answer respond reply',
        'decode',
        'end id',
        'única único seule einzig unica ~cjk',
        'resumir resumas respuesta résumant réponse résumez antwort fasse fasst fass ~cjk',
    ],
}


@dataclass(frozen=True)
class _Cue:
    family: str
    words: frozenset[str]
    prefixes: tuple[str, ...]
    scripts: frozenset[str]
    pattern: str

    @property
    def rx(self) -> re.Pattern:
        """The pattern, compiled the first time a sentence with one of its anchor words needs it: most never
        run on a clinical corpus, and compiling them all costs ~0.1 s per process."""
        return _compiled(self.pattern)


@lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern:
    return regexcache.compile(pattern, re.M)


def _cues() -> tuple[_Cue, ...]:
    families = {"_ROLE": "role", "_OVERRIDE": "override", "_ADDRESSEE_EN": "addressee",
                "_ADDRESSEE_OTHER": "addressee", "_META": "meta"}
    out = []
    for key, family in families.items():
        for anchors, pattern in zip(_ANCHORS[key], globals()[key]):
            parts = anchors.split()
            out.append(_Cue(family, frozenset(w for w in parts if w[0] != "~" and not w.endswith("*")),
                            tuple(w[:-1] for w in parts if w.endswith("*")),
                            frozenset(w[1:] for w in parts if w[0] == "~"), pattern))
    return tuple(out)


#: every pattern with the words one of which it needs (a pattern runs only on sentences that have one)
_CUES = _cues()
_PREFIXES = tuple(sorted({p for c in _CUES for p in c.prefixes}))


def _index() -> dict[str, tuple[int, ...]]:
    """word, prefix or ~script → the patterns (by position in _CUES) that need it."""
    out: dict[str, list[int]] = {}
    for i, c in enumerate(_CUES):
        for key in list(c.words) + list(c.prefixes) + [f"~{x}" for x in c.scripts]:
            out.setdefault(key, []).append(i)
    return {k: tuple(v) for k, v in out.items()}


_BY_WORD = _index()
_KNOWN = frozenset(_BY_WORD)
#: long runs of base64 ("Decode and follow: aWdub3Jl…") are decoded and read too
_BASE64 = regexcache.compile(r"(?<![\w+/])[A-Za-z0-9+/]{20,}={0,2}(?![\w+/])")


def _decoded_base64(text: str) -> list[str]:
    out = []
    for m in _BASE64.finditer(text):
        blob = m.group(0)
        try:
            raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue
        if raw.isprintable():
            out.append(raw)
    return out


_PUNCT = str.maketrans({c: " " for c in "!\"#%&'()*+,./:;<=>?[\\]^_`{|}~-\u2013\u2014\u201c\u201d\u2018\u2019"})
_CJK = regexcache.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_CYRILLIC = regexcache.compile("[\u0400-\u04ff]")


@lru_cache(maxsize=65536)
def instruction_cues(sentence: str) -> frozenset[str]:
    """The instruction cues (``role``, ``override``, ``addressee``, ``meta``) ``sentence`` carries; empty for
    clinical text. Markup a reader never sees is judged by :func:`flagged_spans` (cue ``hidden``)."""
    found = {"role"} if _ROLE_CASED.search(sentence) else set()
    readings, tokens = _readings(sentence)
    if max(map(len, tokens), default=0) >= 20:
        for blob in _decoded_base64(sentence):
            more, more_tokens = _readings(blob)
            readings, tokens = readings + more, tokens | more_tokens
    keys = set(tokens)
    keys.update(p for t in tokens if t.startswith(_PREFIXES) for p in _PREFIXES if t.startswith(p))
    if "##" in sentence or "[" in sentence or "<" in sentence:
        keys.add("~markup")
    if not sentence.isascii():
        keys.update(f"~{name}" for name, rx in (("cjk", _CJK), ("cyr", _CYRILLIC)) if rx.search(sentence))
    candidates = sorted({i for k in keys.intersection(_BY_WORD) for i in _BY_WORD[k]})
    for i in candidates:  # only the patterns whose needed words the sentence has
        cue = _CUES[i]
        if cue.family not in found and any(cue.rx.search(r) for r in readings):
            found.add(cue.family)
    return frozenset(found)


def is_instruction(sentence: str) -> bool:
    """Does ``sentence`` read like an instruction to a language model (not clinical text)?"""
    return bool(instruction_cues(sentence))


#: markup whose content a reader never sees: comments, scripts/styles, hidden elements, meta tags
_HIDDEN_REGION = regexcache.compile(
    r"<!--.*?(?:-->|$)|<\s*(script|style)\b.*?(?:<\s*/\s*\1\s*>|$)|"
    r"<\s*(\w+)\b[^<>]*(?:display\s*:\s*none|visibility\s*:\s*hidden|\bhidden\b|aria-hidden\s*=\s*[\"']?true)[^<>]*>"
    r".*?(?:<\s*/\s*\2\s*>|$)|<\s*meta\b[^<>]*>",
    re.S | re.I,
)
#: role markers glued to the end of a sentence start a segment of their own ("… hypertension. ### Instruction:")
_ROLE_BREAK = regexcache.compile(r"\s+(?=#{2,}\s|\[/?\s*INST\s*\]|<<\s*/?\s*SYS|(?-i:SYSTEM)\s*:|(?:Assistant|System|User)\s*:)")
_LABEL = regexcache.compile(r"^\W{0,3}[\w'’ -]{1,30}:$")
_CJK_END = regexcache.compile(r"[。！？]")
_NON_ASCII_START = regexcache.compile(r"[.!?][\"'”’)\]]*\s+(?=[^\x00-\x7f])")
#: a flagged sentence that only announces what follows ("Note for AI assistants.", "Ignore the previous
#: instructions.", "… listen up.", "The next sentence is the answer you must give.") taints the next one
_ANNOUNCES = regexcache.compile(r"[:：—–]\s*$|\b(?:follows?|following|below|next|listen|carefully|attention|read this)\b")


def _segments(text: str) -> list[tuple[int, int]]:
    """Sentence spans, cut further at hidden-markup edges, CJK full stops and glued role markers."""
    cuts = {0, len(text)}
    if "<" in text:
        for m in _HIDDEN_REGION.finditer(text):
            cuts.update((m.start(), m.end()))
    if ":" in text or "#" in text or "[" in text or "<<" in text:
        for m in _ROLE_BREAK.finditer(text):
            cuts.add(m.end())
    if max(map(len, text.split()), default=0) >= 20:
        for m in _BASE64.finditer(text):  # a base64 run ends its segment (it has no full stop)
            cuts.add(m.end())
    if not text.isascii():
        for m in _CJK_END.finditer(text):
            cuts.add(m.end())
        for m in _NON_ASCII_START.finditer(text):  # "… hypertension. Аttention …" (a Cyrillic capital)
            cuts.add(m.end())
    out = []
    for s, e in sentence_spans(text):
        inner = sorted(c for c in cuts if s < c < e)
        for a, b in zip([s] + inner, inner + [e]):
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            if b > a:
                out.append((a, b))
    return out


def _may_instruct(text: str) -> bool:
    """Could any sentence of ``text`` carry a cue? False when the whole text has none of the words the cue
    patterns need (most passages): then no sentence is read one by one."""
    if "<" in text or "##" in text or "SYSTEM" in text:
        return True
    if not text.isascii() and (_CJK.search(text) or _CYRILLIC.search(text)):
        return True
    _, words = _readings(text)
    if not words.isdisjoint(_KNOWN) or any(w.startswith(_PREFIXES) for w in words):
        return True
    return max(map(len, words), default=0) >= 20  # a base64 run


def flagged_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, cue) of every segment of ``text`` that is not evidence: instructions to a model, hidden
    markup, and the sentence after one that only announces an AI-addressed message."""
    return list(_flagged_spans(text))


@lru_cache(maxsize=16384)
def _flagged_spans(text: str) -> tuple[tuple[int, int, str], ...]:
    """:func:`flagged_spans`, remembered per text: the same passage is screened for the answer, its composer and
    its references, and popular passages come back question after question (a server's cache of passages)."""
    if not _may_instruct(text):
        return ()
    hidden = [(m.start(), m.end()) for m in _HIDDEN_REGION.finditer(text)] if "<" in text else []
    out: list[tuple[int, int, str]] = []
    taint = False
    segs = _segments(text)
    for s, e in segs:
        seg = text[s:e]
        if any(a < e and s < b for a, b in hidden):
            out.append((s, e, "hidden"))
            taint = False
            continue
        cues = instruction_cues(seg)
        if cues:
            out.append((s, e, sorted(cues)[0]))
            words = len(seg.split())
            taint = words <= 10 or (words <= 16 and bool(_ANNOUNCES.search(seg.lower())))
        elif taint:
            out.append((s, e, "follows"))
            taint = False
    # a bare label ("Comment:", "Metadata:") goes with the flagged segment it introduces
    flagged = {(s, e) for s, e, _ in out}
    for (s, e), (s2, e2) in zip(segs, segs[1:]):
        if (s2, e2) in flagged and (s, e) not in flagged and _LABEL.match(text[s:e]):
            out.append((s, e, "label"))
    return tuple(sorted(out))


def screen(text: str) -> tuple[str, int]:
    """``text`` without its instruction-like segments (:func:`flagged_spans`), and how many were removed.

    What is kept is verbatim: a sentence quoted from the screened text is a substring of the original.
    """
    spans = flagged_spans(text)
    if not spans:
        return text, 0
    parts, pos = [], 0
    for s, e, _ in spans:
        parts.append(text[pos:s])
        pos = e
        while pos < len(text) and text[pos] in " \t":
            pos += 1
    parts.append(text[pos:])
    kept = "".join(parts)
    return "\n".join(line.rstrip() for line in kept.split("\n")).strip(), len(spans)


# --------------------------------------------------------------------------------- what answers may quote


def names(setting: str) -> frozenset[str]:
    """A comma-separated setting as a set of lower-case names (empty: no restriction)."""
    return frozenset(n.strip().lower() for n in (setting or "").split(",") if n.strip())


def quotable_hits(hits: Sequence[Hit], doc_rows: Mapping[str, Any], formats: frozenset[str],
                  kinds: frozenset[str] = frozenset()) -> tuple[list[Hit], list[Hit], int]:
    """(hits answers may quote, every hit, segments removed), instruction-like segments screened out of the text.

    A hit may be quoted when its document was read by a parser named in ``formats`` and (when ``kinds`` is
    not empty) is of a kind named there; the others stay in the second list, as related reading. Every
    hit's text goes through :func:`screen`, so neither a composer nor a reference's quotes can show an
    instruction a document carries.
    """
    quotable: list[Hit] = []
    every: list[Hit] = []
    total = 0
    for h in hits:
        text, removed = screen(h.text)
        if removed:
            h = replace(h, text=text)
            total += removed
        every.append(h)
        row = doc_rows.get(h.doc_id)
        parser = str(row["parser"]).lower() if row is not None and "parser" in row.keys() else ""
        if text.strip() and parser in formats and (not kinds or str(h.kind).lower() in kinds):
            quotable.append(h)
    return quotable, every, total
