"""A file's bytes -> the text Citeline indexes and quotes, and where that text is in the file.

Citation offsets (`char_start:char_end`, and the lines) index the file *as stored*: its bytes
decoded as UTF-8 (`stored_text`), a BOM included as character 0 and `\\r\\n` as two characters. A
citation's `quote` is that span *as read*: the same characters with each `\\r\\n` or `\\r` read as
`\\n` (a BOM is never inside a quote); for HTML, markup dropped, entities decoded and whitespace
between words read as one space or newline (`indexer/html_text.py`). `quote_at` is that rule, the
one check both citation verifiers use (`service/citing/verify.py`, `evals/quotes.py`).
"""

from __future__ import annotations

from pathlib import PurePath

from indexer.html_text import html_reading
from indexer.kernel.offsets import MapBuilder, OffsetMap

HTML_SUFFIXES = frozenset({".html", ".htm"})


def stored_text(data: bytes) -> str:
    """The file as stored, as characters: what citation offsets index. Raises UnicodeDecodeError."""
    return data.decode("utf-8")


def plain_reading(raw: str) -> tuple[str, OffsetMap]:
    """Plain text: the BOM dropped, `\\r\\n` and `\\r` read as `\\n`; every offset kept."""
    out = MapBuilder()
    start = 1 if raw.startswith("\ufeff") else 0
    i = start
    while i < len(raw):
        cr = raw.find("\r", i)
        if cr < 0:
            out.copy(raw[i:], i)
            break
        out.copy(raw[i:cr], i)
        width = 2 if raw.startswith("\r\n", cr) else 1
        out.unit("\n", cr, width)
        i = cr + width
    return out.build(raw)


def read_source(name: str, data: bytes) -> tuple[str, OffsetMap]:
    """(the text the indexer chunks for a file called `name`, its map into `stored_text(data)`)."""
    raw = stored_text(data)
    if PurePath(name).suffix.lower() in HTML_SUFFIXES:
        return html_reading(raw)
    return plain_reading(raw)


def quote_at(name: str, data: bytes, char_start: int, char_end: int) -> str | None:
    """What the file's span `[char_start, char_end)` reads as, or None when no text span maps
    exactly onto it (offsets inside a tag or entity, past the end)."""
    text, offsets = read_source(name, data)
    span = offsets.text_span(char_start, char_end)
    return text[span[0] : span[1]] if span else None
