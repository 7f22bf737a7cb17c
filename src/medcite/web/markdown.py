"""A tiny, safe Markdown renderer for answers, and URL / text helpers for the templates.

Only what answers use: paragraphs, ``- `` bullet lists, ``**bold**`` and citation markers ``[n]``,
``[n, m]``, ``[n-m]``. Every piece of text is HTML-escaped *first*; the renderer then adds the few tags
it knows on the escaped text. Corpus text never reaches the page as HTML.
"""

from __future__ import annotations

import re
from typing import Iterable
from urllib.parse import quote, urlsplit

from markupsafe import Markup, escape

from medcite.answer.schema import MARKER

_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_SPLIT = re.compile(r"\s*,\s*")
_RANGE = re.compile(r"\s*[–-]\s*")


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for part in _SPLIT.split(group):
        bits = _RANGE.split(part)
        if len(bits) == 2 and all(b.isdigit() for b in bits):
            a, b = int(bits[0]), int(bits[1])
            out.extend(range(a, b + 1) if 0 <= b - a < 50 else [a, b])
        elif part.isdigit():
            out.append(int(part))
    return out


def render_inline(text: str, refs: Iterable[int] = (), anchor: str = "ref-") -> Markup:
    """Escape ``text``, then render **bold** and citation markers (known reference numbers only)."""
    known = set(refs)
    html = str(escape(text))
    html = _BOLD.sub(r"<strong>\1</strong>", html)

    def cite(m: re.Match[str]) -> str:
        nums = _numbers(m.group(1))
        if not nums or not all(n in known for n in nums):
            return m.group(0)
        links = ", ".join(f'<a href="#{anchor}{n}" class="cite-link" aria-label="reference {n}">{n}</a>' for n in nums)
        return f'<sup class="cite">[{links}]</sup>'

    return Markup(MARKER.sub(cite, html))


def render_markdown(text: str, refs: Iterable[int] = (), anchor: str = "ref-") -> Markup:
    """Paragraphs and ``- `` bullet lists of ``text`` as safe HTML."""
    refs = list(refs)
    out: list[str] = []
    for block in re.split(r"\n\s*\n", (text or "").strip()):
        lines = [ln.rstrip() for ln in block.splitlines() if ln.strip()]
        para: list[str] = []
        items: list[str] = []

        def flush_para() -> None:
            if para:
                out.append("<p>" + " ".join(str(render_inline(p, refs, anchor)) for p in para) + "</p>")
                para.clear()

        def flush_items() -> None:
            if items:
                out.append("<ul>" + "".join(f"<li>{render_inline(i, refs, anchor)}</li>" for i in items) + "</ul>")
                items.clear()

        for line in lines:
            stripped = line.lstrip()
            if stripped.startswith(("- ", "* ")):
                flush_para()
                items.append(stripped[2:].strip())
            elif items and line.startswith("  "):
                items[-1] += " " + stripped  # continuation of a bullet
            else:
                flush_items()
                para.append(stripped)
        flush_para()
        flush_items()
    return Markup("\n".join(out))


def safe_url(url: str | None) -> str:
    """``url`` if it is an absolute http(s) URL, else '' (no ``javascript:``, ``data:``, relative tricks)."""
    url = (url or "").strip()
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return url


def local_next(target: str | None, default: str = "/") -> str:
    """A redirect target that stays on this site (a path starting with one '/', no scheme, no '//')."""
    target = (target or "").strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target


def doc_href(doc_id: str, passage_id: str | None = None) -> str:
    """The document page of ``doc_id``, optionally highlighting ``passage_id``."""
    href = "/doc/" + quote(doc_id, safe=":")
    if passage_id:
        href += "?passage=" + quote(passage_id, safe="") + "#passage"
    return href


def diff_lines(diff: str) -> list[tuple[str, str]]:
    """A unified diff as (css class, line) pairs for a template."""
    out = []
    for line in (diff or "").splitlines():
        if line.startswith(("+++", "---")):
            cls = "meta"
        elif line.startswith("@@"):
            cls = "hunk"
        elif line.startswith("+"):
            cls = "add"
        elif line.startswith("-"):
            cls = "del"
        else:
            cls = "ctx"
        out.append((cls, line))
    return out
