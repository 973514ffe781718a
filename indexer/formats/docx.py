"""DOCX text with python-docx (MIT, pure Python over lxml): the body in document order.

Paragraphs and tables come in the order Word shows them (`iter_inner_content`); a table becomes
one line per row, cells joined by " | " (a merged cell once). Each block remembers its heading path
("Policy > Leave"), from the built-in Title/Heading N styles. Headers, footers, footnotes, comments
and text boxes are not extracted: they repeat on every page or float outside the reading order.
Word paginates only when it renders, so DOCX citations give a paragraph, never a page.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from indexer.formats import BLOCK_BREAK, BlockSpan, Extraction, ExtractionFailed

MAX_BLOCKS = 200_000
_HEADING = re.compile(r"^Heading (\d)$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _level(style_name: str) -> int | None:
    if style_name == "Title":
        return 0
    match = _HEADING.match(style_name)
    return int(match.group(1)) if match else None


def _clean(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def _table_text(table: Any) -> str:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(_clean(cell.text).split())
            if not cells or text != cells[-1]:  # a merged cell repeats itself across the merge
                cells.append(text)
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def extract_docx(path: Path) -> Extraction:
    import docx
    from docx.table import Table

    if not zipfile.is_zipfile(path):
        raise ExtractionFailed("corrupt or truncated DOCX (not a zip archive)")
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises KeyError/ValueError/PackageNotFoundError...
        raise ExtractionFailed(f"not a readable DOCX ({type(exc).__name__})") from exc
    headings: list[tuple[int, str]] = []
    pieces: list[str] = []
    blocks: list[BlockSpan] = []
    pos = 0
    for item in document.iter_inner_content():
        path_now = [h for _, h in headings]
        if isinstance(item, Table):
            text, kind = _table_text(item), "table"
        else:
            text, kind = _clean(item.text), "paragraph"
            level = _level(item.style.name if item.style is not None else "")
            if level is not None and text:
                headings = [(lv, h) for lv, h in headings if lv < level] + [(level, text)]
                path_now = [h for _, h in headings[:-1]]
        if not text:
            continue
        if len(blocks) >= MAX_BLOCKS:
            raise ExtractionFailed(f"too many paragraphs (> {MAX_BLOCKS})")
        if pieces:
            pos += len(BLOCK_BREAK)
        blocks.append(BlockSpan(n=len(blocks) + 1, kind=kind, char_start=pos,  # type: ignore[arg-type]
                                char_end=pos + len(text), heading_path=path_now))  # fmt: skip
        pieces.append(text)
        pos += len(text)
    if not pieces:
        raise ExtractionFailed("no text in the document body")
    title = (document.core_properties.title or "").strip() or None
    return Extraction(format="docx", extractor=f"python-docx {docx.__version__}",
                      text=BLOCK_BREAK.join(pieces), title=title, blocks=blocks)  # fmt: skip
