"""Text helpers shared by every stage: whitespace clean-up, HTML to text, sentence splitting."""

from __future__ import annotations

import re
from functools import lru_cache

from medcite import regexcache

#: zero-width and other invisible characters that can hide text from a reader
_INVISIBLE = regexcache.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_CONTROL = regexcache.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WS = regexcache.compile(r"\s+")


def clean_text(text: str | None) -> str:
    """Collapse whitespace, drop control and zero-width characters."""
    if not text:
        return ""
    text = _CONTROL.sub(" ", text)
    text = _INVISIBLE.sub("", text)
    return _WS.sub(" ", text).strip()


def clean_block(text: str | None) -> str:
    """Clean each line of a multi-paragraph text, dropping empty lines; keeps ``\n`` between paragraphs."""
    if not text:
        return ""
    lines = (clean_text(line) for line in _CONTROL.sub(" ", text.replace("\r", "\n")).split("\n"))
    return "\n".join(line for line in lines if line)


_BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "table", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
    "section", "blockquote", "dd", "dt", "dl", "thead", "tbody", "caption", "pre",
}


def html_to_text(markup: str | None) -> str:
    """Turn an HTML fragment into clean text; block elements become line breaks.

    Scripts, styles and hidden elements (``display:none``) are dropped so invisible markup can never
    smuggle text into the corpus. Returns paragraphs separated by ``\\n``.
    """
    if not markup or not markup.strip():
        return ""
    if "<" not in markup and "&" not in markup:
        return clean_text(markup)
    from lxml import etree  # (here, not at the top: an answer seldom meets markup, and lxml costs ~10 ms to load)
    from lxml import html as lxml_html

    try:
        root = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return clean_text(re.sub(r"<[^>]*>", " ", markup))
    for bad in root.xpath(".//script|.//style|.//*[contains(translate(@style,' ',''),'display:none')]"):
        bad.drop_tree()
    parts: list[str] = []

    def walk(el: etree._Element) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag.lower() in _BLOCK_TAGS:
            parts.append("\n")
        if tag.lower() == "li":
            parts.append("• ")
        if el.text and isinstance(el.tag, str):
            parts.append(el.text)
        for child in el:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if tag.lower() in _BLOCK_TAGS:
            parts.append("\n")

    walk(root)
    lines = [clean_text(line) for line in "".join(parts).split("\n")]
    out = "\n".join(line for line in lines if line and line != "•")
    return out


# --- sentences ----------------------------------------------------------------------------

_ABBREVIATIONS = frozenset(
    """
    e.g i.e et al vs v cf fig figs eq eqs ref refs no nos approx ca dr drs mr mrs ms prof sr jr st
    inc ltd co corp dept univ vol vols pp p ed eds jan feb mar apr jun jul aug sep sept oct nov dec
    mg kg ml dl mmol mcg min max hr hrs sec wk wks yr yrs mo resp incl suppl subsp sp spp var
    """.split()
)

# candidate boundary: terminal punctuation, optional closing quotes/brackets, whitespace, then a
# plausible sentence start (capital, digit, opening bracket/quote)
_BOUNDARY = regexcache.compile(r"([.!?])([\"'”’)\]]*)(\s+)(?=[\"'“‘(\[]?[A-Z0-9])")
_NEWLINE_BOUNDARY = regexcache.compile(r"\n+")


def _is_abbreviation(text: str, dot_index: int) -> bool:
    start = dot_index
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    token = text[start:dot_index].lower().rstrip(".")
    if not token:
        return False
    if token in _ABBREVIATIONS:
        return True
    # single initials ("J. Smith", "A. fumigatus")
    if len(token) == 1 and text[start].isupper():
        return True
    # dotted acronyms like "U.S."
    return "." in token and len(token) <= 6


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Split ``text`` into sentences; return ``(start, end)`` character spans without surrounding space.

    Deterministic and fast (one regex pass). Newlines always end a sentence (lists, headings).
    """
    spans: list[tuple[int, int]] = []
    for block in _iter_blocks(text):
        b_start, b_end = block
        cursor = b_start
        segment = text[b_start:b_end]
        for m in _BOUNDARY.finditer(segment):
            punct_at = b_start + m.start(1)
            if m.group(1) == "." and _is_abbreviation(text, punct_at):
                continue
            end = b_start + m.end(2)
            if end > cursor:
                spans.append((cursor, end))
            cursor = b_start + m.end(3)
        if cursor < b_end:
            spans.append((cursor, b_end))
    return [(s, e) for s, e in (_strip_span(text, s, e) for s, e in spans) if e > s]


def _iter_blocks(text: str) -> list[tuple[int, int]]:
    blocks: list[tuple[int, int]] = []
    pos = 0
    for m in _NEWLINE_BOUNDARY.finditer(text):
        blocks.append((pos, m.start()))
        pos = m.end()
    blocks.append((pos, len(text)))
    return [(s, e) for s, e in blocks if e > s]


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


_WORD = regexcache.compile(r"[A-Za-z][A-Za-z'-]*")


@lru_cache(maxsize=4096)
def _syllables(word: str) -> int:
    word = word.lower().strip("'-")
    if not word:
        return 0
    groups = re.findall(r"[aeiouy]+", word)
    count = len(groups)
    if word.endswith("e") and not word.endswith(("le", "ee")) and count > 1:
        count -= 1
    return max(1, count)


def flesch_kincaid_grade(text: str) -> float:
    """Flesch–Kincaid grade level of ``text`` (0.0 for empty text)."""
    sentences = [s for s in split_sentences(text) if _WORD.search(s)]
    words = _WORD.findall(text)
    if not sentences or not words:
        return 0.0
    syllables = sum(_syllables(w) for w in words)
    return round(0.39 * len(words) / len(sentences) + 11.8 * syllables / len(words) - 15.59, 2)


_STEM_RULES = (
    ("ational", "ate"), ("ization", "ize"), ("isation", "ize"), ("iveness", "ive"), ("fulness", "ful"),
    ("ousness", "ous"), ("ements", "e"), ("ement", "e"), ("ments", ""), ("ment", ""), ("ations", "ate"), ("ation", "ate"), ("ities", "ity"),
    ("ies", "y"), ("ing", ""), ("ied", "y"), ("ed", ""), ("es", ""), ("ly", ""), ("s", ""),
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light, deterministic suffix stripper ("screening" → "screen", "studies" → "study").

    Good enough to match question words with sentence words; not a linguistic stemmer.
    """
    w = word.lower()
    if len(w) <= 3 or w.isdigit():
        return w
    for suffix, repl in _STEM_RULES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            if suffix == "s" and w.endswith(("ss", "us", "is")):
                return w
            if suffix == "es" and not w.endswith(("ches", "shes", "sses", "xes", "zes")):
                return w[:-1]
            base = w[: -len(suffix)] + repl
            if suffix in ("ing", "ed") and len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]
            return base
    return w
