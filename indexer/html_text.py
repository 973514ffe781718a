"""HTML as a reader sees it, with a map back to the file (#5), and its title (#18).

Markup goes: tags, comments, doctype, CDATA, and the bodies of `<script>`, `<style>`, `<noscript>`,
`<template>`, `<svg>`. Entities are decoded (`&amp;` -> `&`, `&rsquo;` -> `’`). Whitespace and the
markup between two pieces of text become one character: a newline where a block element
(`<p>`, `<br>`, `<li>`, `<td>`, ...) starts or ends there, else a space if the file has
whitespace there, else nothing (`<b>Quux</b>s` reads `Quuxs`). So `The <b>Quux</b> bridge` reads
`The Quux bridge`, and a line of the text is a block of the page.

Every character keeps where it came from (`indexer.kernel.offsets.OffsetMap`): a citation's
`char_start:char_end` is the span of the file as stored, markup inside it included.
"""

from __future__ import annotations

import html
import re

from indexer.kernel.offsets import MapBuilder, OffsetMap

_TOKEN = re.compile(
    r"(?P<gap><!--.*?(?:-->|\Z)"  # comments (an unterminated one runs to the end)
    r"|<(?P<body>script|style|noscript|template|svg)\b[^>]*>.*?(?:</(?P=body)\s*>|\Z)"
    r"|<!\[CDATA\[.*?(?:\]\]>|\Z)"
    r"|<[!?][^>]*>)"  # doctype, processing instructions
    r"""|(?P<tag></?(?P<name>[a-zA-Z][a-zA-Z0-9-]*)(?:[^>"']|"[^"]*"|'[^']*')*>)"""
    r"|(?P<ws>[ \t\r\n\f]+)"
    r"|(?P<entity>&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});?)"
    r"|(?P<text>[^<&\s]+|[<&])",
    re.IGNORECASE | re.DOTALL,
)
_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details", "dialog",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
    "h5", "h6", "head", "header", "hr", "html", "li", "main", "nav", "ol", "option", "p", "pre",
    "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "title", "tr", "ul",
})  # fmt: skip
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1\s*>", re.IGNORECASE | re.DOTALL)
TITLE_MAX = 200


def html_reading(raw: str) -> tuple[str, OffsetMap]:
    """(the text a reader sees, where each of its characters is in `raw`)."""
    out = MapBuilder()
    gap_start = -1  # file offset where pending whitespace/markup began; -1: none pending
    gap_ws = gap_block = False
    for m in _TOKEN.finditer(raw, 1 if raw.startswith("\ufeff") else 0):
        kind = m.lastgroup if m.lastgroup != "name" else "tag"
        if m.group("tag") is not None:
            kind = "tag"
        elif m.group("gap") is not None:
            kind = "gap"
        if kind in ("gap", "tag", "ws"):
            gap_start = m.start() if gap_start < 0 else gap_start
            gap_ws = gap_ws or kind == "ws"
            name = (m.group("name") or "").lower()
            gap_block = gap_block or kind == "gap" or name in _BLOCK
            continue
        if gap_start >= 0 and out.length and (gap_block or gap_ws):
            out.unit("\n" if gap_block else " ", gap_start, m.start() - gap_start)
        gap_start, gap_ws, gap_block = -1, False, False
        piece = m.group(0)
        if kind == "entity":
            decoded = html.unescape(piece)
            out.unit(decoded, m.start(), len(piece))
        else:
            out.copy(piece, m.start())
    return out.build(raw)


def _clean(fragment: str) -> str:
    return " ".join(html_reading(fragment)[0].split())[:TITLE_MAX]


def html_title(raw: str, fallback: str) -> str:
    """`<title>` (else the first `<h1>`) as text: tags, scripts and styles inside dropped."""
    for pattern in (_TITLE, _H1):
        match = pattern.search(raw)
        if match and _clean(match.group(1)):
            return _clean(match.group(1))
    return fallback
