"""Typed data that crosses module boundaries: chunks, passages, drafts, citations, answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from indexer.kernel.offsets import OffsetMap


class Chunk(BaseModel):
    """A span of one source file: `char_start:char_end` and the lines index the file as stored;
    `text` is that span as read (`indexer/reading.py`); `source_map` says where each of its
    characters is (`indexer/kernel/offsets.py`; "": one to one, `text == file[start:end]`).
    PDF/DOCX chunks have no map: their offsets and lines index the stored extracted text.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="deterministic: hash of (source, doc_hash, chunk_index)")
    source: str = Field(description="path relative to the corpus root, with '/' separators")
    title: str
    text: str
    char_start: int = Field(ge=0)
    char_end: int = Field(ge=0)
    line_start: int = Field(ge=1, description="1-based, inclusive")
    line_end: int = Field(ge=1, description="1-based, inclusive")
    chunk_index: int = Field(ge=0)
    content_hash: str = Field(description="sha256 of `text`")
    doc_hash: str = Field(description="sha256 of the whole source file's bytes")
    # Sentence spans (relative to `text`) and their unit vectors (float16, row per sentence),
    # computed once at index time so answering a question costs one question embedding.
    sentences: tuple[tuple[int, int], ...] = Field(default=(), repr=False)
    sentence_vectors: bytes | None = Field(default=None, repr=False, exclude=True)
    source_map: str = Field(default="", description="OffsetMap.encode() of text into the file")

    def file_span(self, start: int, end: int) -> tuple[int, int, int, int]:
        """(char_start, char_end, line_start, line_end) in the file of `text[start:end]`."""
        if not self.source_map:
            last = max(start, end - 1)
            lines = (self.text.count("\n", 0, start), self.text.count("\n", 0, last))
            return (self.char_start + start, self.char_start + end,
                    self.line_start + lines[0], self.line_start + lines[1])  # fmt: skip
        offsets = OffsetMap.decode(self.source_map)
        fs, fe = offsets.file_span(start, end)
        first, last = offsets.line(fs) - 1, offsets.line(fe - 1) - 1
        return (self.char_start + fs, self.char_start + fe,
                self.line_start + first, self.line_start + last)  # fmt: skip

    def text_span(self, char_start: int, char_end: int) -> tuple[int, int] | None:
        """The span of `text` whose file span is `[char_start, char_end)`, if there is one."""
        start, end = char_start - self.char_start, char_end - self.char_start
        if not self.source_map:
            return (start, end) if 0 <= start < end <= len(self.text) else None
        return OffsetMap.decode(self.source_map).text_span(start, end)


class Passage(BaseModel):
    """A retrieved chunk, numbered `n` (1-based) in the order the answerer sees it."""

    model_config = ConfigDict(frozen=True)

    n: int = Field(ge=1)
    chunk: Chunk
    score: float


# What a user reads when the passages do not hold the answer.
NOT_FOUND_MESSAGE = "The documents don't say."
# What the LLM is told to reply, verbatim, when the passages do not hold the answer.
REFUSAL_TOKEN = "NOT_IN_DOCUMENTS"  # noqa: S105 - a reply word, not a secret


class DraftQuote(BaseModel):
    """A span the answerer itself quoted: offsets are relative to passage `n`'s chunk text."""

    model_config = ConfigDict(frozen=True)

    n: int = Field(ge=1)
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Draft(BaseModel):
    """An answerer's output before citing: every `[n]` marker is still unchecked."""

    text: str = Field(description="answer text with [n] markers after each claim")
    answerable: bool
    quotes: list[DraftQuote] = Field(
        default_factory=list, description="exact spans used, when the answerer knows them"
    )


class Citation(BaseModel):
    """One verified citation: `quote` is exactly the source text at `char_start:char_end`."""

    model_config = ConfigDict(frozen=True)

    n: int = Field(ge=1)
    source: str
    title: str
    line_start: int
    line_end: int
    char_start: int
    char_end: int
    quote: str
    score: float
    # PDF: physical page(s) of the quote; DOCX: paragraph and heading path. None for text formats,
    # whose line/char spans are the file's own.
    page: int | None = Field(default=None, ge=1)
    page_end: int | None = Field(default=None, ge=1)
    locator: str | None = Field(default=None, description='e.g. "page 3", "paragraph 12 — A > B"')
    verified: Literal["file", "extracted", "index"] = Field(
        default="index",
        description="`file`: the quote was found at these offsets in the source file as it is "
        "stored now (text formats); `extracted`: found at these offsets in the text extracted "
        "from the indexed version of a PDF/DOCX, stored with the index; `index`: the file is "
        "missing or changed (or its extracted text is gone), only the indexed chunk matched",
    )


class Answer(BaseModel):
    answer: str
    answerable: bool
    citations: list[Citation]
    passages: list[Passage]
    answerer: str
    timings_ms: dict[str, float] = Field(default_factory=dict)
