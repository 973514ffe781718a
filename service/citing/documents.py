"""What `GET /v1/documents/{source}` shows: a document's text with a cited span located in it.

Only sources the live manifest names can be opened: the name is looked up, never joined onto a
path first, so `../`, absolute and encoded paths are simply unknown (404, no listing). PDF/DOCX
text comes from the extracted text stored with the index (the text citations were verified
against; citation offsets index it); text formats from the file itself, as the indexer read it
(`indexer.reading.read_source`: HTML without markup, `\r\n` as `\n`), and only while its bytes
still hash to the indexed version (else 409: the citation's offsets no longer apply).

A span is asked for in a citation's offsets (`char_start`/`char_end`: for text formats, into the
file as stored); `span.text_start`/`span.text_end` say where it is in the document text returned.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath
from typing import Literal

from pydantic import BaseModel, Field

from indexer.extracted import extracted_dir, load_extracted
from indexer.formats import EXTRACTED_SUFFIXES, Extraction, Location, PageSpan, locate
from indexer.kernel.errors import DocumentChangedError, DocumentNotFoundError, InvalidRequestError
from indexer.kernel.offsets import OffsetMap
from indexer.kernel.settings import Settings
from indexer.reading import read_source
from indexer.store.base import Manifest

MAX_TEXT_CHARS = 200_000  # a longer document is returned as a window around the span
WINDOW_CHARS = 20_000  # each side of the span


class SpanOut(BaseModel):
    char_start: int = Field(description="as asked: the citation's offsets")
    char_end: int
    text_start: int = Field(description="where the span starts in the whole document text")
    text_end: int
    quote: str
    page: int | None = None
    page_end: int | None = None
    locator: str | None = None


class DocumentOut(BaseModel):
    source: str
    title: str
    format: str = Field(description="pdf, docx, or text (.txt/.md/.html)")
    verified: Literal["file", "extracted"] = Field(
        description="file: the file as stored now, the indexed version (sha256 checked), as read; "
        "extracted: the stored extracted text of the indexed version (PDF, DOCX)"
    )
    length: int = Field(description="characters in the whole document text")
    text_start: int = Field(description="offset of `text` in the whole document text")
    text: str
    truncated: bool = Field(description="true when `text` is a window of a longer document")
    pages: list[PageSpan] = Field(default_factory=list)
    span: SpanOut | None = None


_UNKNOWN = "no such document in the index"


def _known(source: str, manifest: Manifest | None) -> bool:
    bad = not source or "\\" in source or "\x00" in source or source.startswith("/")
    if bad or ".." in PurePosixPath(source).parts or manifest is None:
        return False
    return source in manifest.files


def _file_text(settings: Settings, source: str, doc_hash: str) -> tuple[str, OffsetMap]:
    root = settings.corpus_dir.resolve()
    path = (root / source).resolve()
    if not path.is_relative_to(root):
        raise DocumentNotFoundError(_UNKNOWN)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentNotFoundError("the document is indexed but its file cannot be read") from exc
    if hashlib.sha256(data).hexdigest() != doc_hash:
        raise DocumentChangedError("the file changed since it was indexed: re-run `citeline index`")
    return read_source(path.name, data)  # the indexed bytes: they decoded when indexed


def open_document(
    settings: Settings,
    manifest: Manifest | None,
    source: str,
    char_start: int | None = None,
    char_end: int | None = None,
) -> DocumentOut:
    if not _known(source, manifest):
        raise DocumentNotFoundError(_UNKNOWN)
    assert manifest is not None
    entry = manifest.files[source]
    pages: list[PageSpan] = []
    fmt: str
    extraction: Extraction | None
    offsets = OffsetMap()  # PDF/DOCX: offsets are the stored extracted text's own
    against: Literal["file", "extracted"]
    if PurePosixPath(source).suffix.lower() in EXTRACTED_SUFFIXES:
        stored = load_extracted(
            extracted_dir(settings.data_dir, settings.collection), entry.doc_hash
        )
        if stored is None:
            raise DocumentNotFoundError("the extracted text of this document is not stored")
        text, fmt, against = stored.extraction.text, stored.extraction.format, "extracted"
        pages, extraction = stored.extraction.pages, stored.extraction
    else:
        (text, offsets), fmt, against, extraction = (
            _file_text(settings, source, entry.doc_hash), "text", "file", None,
        )  # fmt: skip
    span: SpanOut | None = None
    if char_start is not None or char_end is not None:
        start = char_start if char_start is not None else 0
        end = char_end if char_end is not None else start
        at = offsets.text_span(start, end)  # file span -> text span (identity for PDF/DOCX)
        if at is None or not 0 <= at[0] < at[1] <= len(text):
            raise InvalidRequestError(
                "span must satisfy 0 <= char_start < char_end <= the document's length and "
                "start and end on its text (the offsets of a citation of this document)"
            )
        where = locate(extraction, start, end) if extraction else Location()
        span = SpanOut(char_start=start, char_end=end, text_start=at[0], text_end=at[1],
                       quote=text[at[0] : at[1]], **where.model_dump())  # fmt: skip
    lo, hi = 0, len(text)
    if len(text) > MAX_TEXT_CHARS:
        center = (span.text_start, span.text_end) if span else (0, 0)
        lo = max(0, center[0] - WINDOW_CHARS)
        hi = min(len(text), max(center[1], lo) + WINDOW_CHARS)
    return DocumentOut(source=source, title=entry.title, format=fmt, verified=against,
                       length=len(text), text_start=lo, text=text[lo:hi],
                       truncated=(lo, hi) != (0, len(text)), pages=pages, span=span)  # fmt: skip
