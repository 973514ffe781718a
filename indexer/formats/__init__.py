"""Binary document formats (PDF, DOCX): their text, extracted once, with a map back to the file.

The indexer chunks the extracted text exactly as it chunks a `.txt`; the text is stored with the
index (`indexer/extracted.py`), and citations are verified against that stored text. The map says
where each page (PDF) or paragraph (DOCX) sits in the text, so a citation's character span becomes
"page 3" or "paragraph 12 — Heading > Sub" (`locate`).

Layout of the text: PDF pages in order, joined by `PAGE_BREAK` (a form feed on its own line, so
line counting still works); DOCX body blocks (paragraphs, and tables one row per line with cells
joined by " | ") in document order, joined by a blank line.
"""

from __future__ import annotations

import bisect
from typing import Literal

from pydantic import BaseModel, Field

EXTRACTED_SUFFIXES = frozenset({".pdf", ".docx"})
PAGE_BREAK = "\n\f\n"
BLOCK_BREAK = "\n\n"


class ExtractionFailed(Exception):  # noqa: N818 - a reason, not a crash
    """The file cannot be indexed; `reason` says why in words for the skipped-files report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PageSpan(BaseModel):
    page: int = Field(ge=1, description="1-based physical page, as a PDF viewer numbers it")
    char_start: int = Field(ge=0)
    char_end: int = Field(ge=0)


class BlockSpan(BaseModel):
    n: int = Field(ge=1, description="1-based, counting the non-empty paragraphs and tables")
    kind: Literal["paragraph", "table"]
    char_start: int = Field(ge=0)
    char_end: int = Field(ge=0)
    heading_path: list[str] = Field(default_factory=list)


class Extraction(BaseModel):
    format: Literal["pdf", "docx"]
    extractor: str  # library and version, e.g. "pypdfium2 5.15.2"
    text: str
    title: str | None = None
    pages: list[PageSpan] = Field(default_factory=list)
    blocks: list[BlockSpan] = Field(default_factory=list)
    empty_pages: list[int] = Field(default_factory=list, description="pages with no text layer")


class Location(BaseModel):
    page: int | None = None
    page_end: int | None = None
    locator: str | None = None


def _index_at(starts: list[int], pos: int) -> int:
    return max(0, bisect.bisect_right(starts, pos) - 1)


def locate(extraction: Extraction, char_start: int, char_end: int) -> Location:
    """Where `[char_start, char_end)` of the extracted text is in the file a person opens."""
    last = max(char_start, char_end - 1)
    if extraction.pages:
        starts = [p.char_start for p in extraction.pages]
        first = extraction.pages[_index_at(starts, char_start)].page
        end = extraction.pages[_index_at(starts, last)].page
        where = f"page {first}" if first == end else f"pages {first}–{end}"
        return Location(page=first, page_end=end, locator=where)
    if extraction.blocks:
        starts = [b.char_start for b in extraction.blocks]
        block = extraction.blocks[_index_at(starts, char_start)]
        end_block = extraction.blocks[_index_at(starts, last)]
        label = "table" if block.kind == "table" else "paragraph"
        where = f"{label} {block.n}" + (f"–{end_block.n}" if end_block.n != block.n else "")
        if block.heading_path:
            where += " — " + " > ".join(block.heading_path)
        return Location(locator=where)
    return Location()
