"""Token-aware, sentence-aligned chunks whose spans point exactly into the document text.

llama-index's `SentenceSplitter` (tiktoken counts) picks the boundaries; the spans are computed
here, because its `start_char_idx` is `str.find` from 0 and lands on an earlier duplicate of a
repeated paragraph. Each piece is searched forward from the previous chunk's start and verified;
a piece the splitter re-spaced is aligned ignoring whitespace. Every chunk is a span of
`doc.text`; its offsets and lines are that span's in the file as stored (`doc.offsets`), with
its own `source_map` (identity for a plain `\n` text file: `chunk.text == file[start:end]`).

Then each chunk is measured in the embedder's own tokens; one over the model's window is split
again, smaller, so the embedder never silently truncates a chunk.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from indexer.kernel.models import Chunk
from indexer.loading import Document

# tiktoken encoding that chunk sizes are counted in (bundled with llama-index: no download).
TIKTOKEN_ENCODING = "cl100k_base"

if TYPE_CHECKING:
    from llama_index.core.node_parser import SentenceSplitter

log = logging.getLogger(__name__)

Span = tuple[int, int]
_MIN_SIZE = 8  # below this many tiktoken tokens, halve by characters instead


class ChunkedDocument(NamedTuple):
    chunks: list[Chunk]
    max_tokens: int  # the largest chunk in the embedder's tokens (0 for no chunks)


def chunk_id(source: str, doc_hash: str, index: int) -> str:
    """Deterministic: the same file content always gets the same ids; a new version new ones."""
    return hashlib.sha256(f"{source}\0{doc_hash}\0{index}".encode()).hexdigest()[:32]


class _Squeezed:
    """The text without whitespace, and where each kept character sits in the original."""

    def __init__(self, text: str) -> None:
        self.where = [i for i, ch in enumerate(text) if not ch.isspace()]
        self.chars = "".join(text[i] for i in self.where)


def locate_spans(text: str, pieces: Sequence[str]) -> list[Span]:
    """Where each piece (in order, maybe overlapping) sits in `text`; unplaceable ones dropped."""
    spans: list[Span] = []
    squeezed: _Squeezed | None = None
    prev_start, prev_end = -1, 0
    for piece in pieces:
        # The splitter covers the text, so a piece starts at or before the first non-space after
        # the previous one. With duplicates, the last such place keeps the most ground covered.
        gap_end = len(text) - len(text[prev_end:].lstrip()) if prev_end < len(text) else prev_end
        start = text.rfind(piece, prev_start + 1, gap_end + len(piece)) if piece else -1
        if start < 0 and piece:
            start = text.find(piece, prev_start + 1)
        if start >= 0:
            end = start + len(piece)
        else:  # the splitter changed whitespace: align on the non-space characters
            squeezed = squeezed or _Squeezed(text)
            target = "".join(ch for ch in piece if not ch.isspace())
            k = bisect.bisect_left(squeezed.where, prev_start + 1)
            j = squeezed.chars.find(target, k) if target else -1
            if j < 0:
                log.warning("chunk text not found in its document; dropped: %r", piece[:80])
                continue
            start, end = squeezed.where[j], squeezed.where[j + len(target) - 1] + 1
        spans.append((start, end))
        prev_start, prev_end = start, max(prev_end, end)
    return spans


class Chunker:
    """Splits documents into `Chunk`s of about `chunk_tokens` tiktoken tokens, `overlap` shared.

    `count_tokens`/`max_tokens` are the embedder's (loading the tokenizer on first use), so only
    call `chunk` for documents that are going to be embedded.
    """

    def __init__(
        self,
        chunk_tokens: int,
        chunk_overlap: int,
        encoding: str,
        count_tokens: Callable[[str], int],
        max_tokens: int,
    ) -> None:
        self._size = chunk_tokens
        self._overlap = min(chunk_overlap, chunk_tokens // 2)
        self._encoding = encoding
        self._count = count_tokens
        self._max = max_tokens
        self._splitters: dict[int, SentenceSplitter] = {}

    def _splitter(self, size: int) -> SentenceSplitter:
        if size not in self._splitters:
            import tiktoken
            from llama_index.core.node_parser import SentenceSplitter

            # disallowed_special=(): text that happens to contain "<|endoftext|>" is just text.
            encode = functools.partial(
                tiktoken.get_encoding(self._encoding).encode, disallowed_special=()
            )
            overlap = min(self._overlap, size // 4) if size < self._size else self._overlap
            self._splitters[size] = SentenceSplitter(
                chunk_size=size, chunk_overlap=overlap, tokenizer=encode
            )
        return self._splitters[size]

    def spans(self, text: str) -> list[Span]:
        """Chunk spans of `text`, each within the embedder's window."""
        first = locate_spans(text, self._splitter(self._size).split_text(text))
        fitted = [fit for start, end in first for fit in self._fit(text, start, end, self._size)]
        # Re-split neighbours overlapped, so their pieces may interleave or nest: keep them in
        # document order and drop any piece another one already contains.
        spans: list[Span] = []
        for start, end in sorted(fitted, key=lambda s: (s[0], -s[1])):
            if not spans or end > spans[-1][1]:
                spans.append((start, end))
        return spans

    def _fit(self, text: str, start: int, end: int, size: int) -> list[Span]:
        tokens = self._count(text[start:end])
        if tokens <= self._max or end - start <= 1:
            return [(start, end)]
        smaller = min(size - 1, size * self._max * 9 // (tokens * 10))
        pieces: list[Span] = []
        if smaller >= _MIN_SIZE:
            local = locate_spans(
                text[start:end], self._splitter(smaller).split_text(text[start:end])
            )
            pieces = [(start + s, start + e) for s, e in local]
        if len(pieces) <= 1:  # no sentence boundary helps: halve at the space nearest the middle
            mid = (start + end) // 2
            cut = text.rfind(" ", start + 1, mid + 1)
            cut = cut if cut > start else mid
            pieces = [(start, cut), (cut, end)]
            pieces = [_strip(text, s, e) for s, e in pieces if text[s:e].strip()]
            smaller = max(_MIN_SIZE, size // 2)
        return [fit for s, e in pieces for fit in self._fit(text, s, e, smaller)]

    def chunk(self, doc: Document) -> ChunkedDocument:
        newlines = [i for i, ch in enumerate(doc.text) if ch == "\n"]
        chunks: list[Chunk] = []
        max_tokens = 0
        offsets = doc.offsets
        for index, (start, end) in enumerate(self.spans(doc.text)):
            piece = doc.text[start:end]
            max_tokens = max(max_tokens, self._count(piece))
            # Offsets and lines index the file as stored (indexer/kernel/offsets.py).
            fs, fe = offsets.file_span(start, end)
            lines = ((offsets.line(fs), offsets.line(fe - 1)) if not offsets.identity else
                     (bisect.bisect_left(newlines, start) + 1,
                      bisect.bisect_left(newlines, end - 1) + 1))  # fmt: skip
            chunks.append(
                Chunk(
                    id=chunk_id(doc.source, doc.doc_hash, index),
                    source=doc.source,
                    title=doc.title,
                    text=piece,
                    char_start=fs,
                    char_end=fe,
                    line_start=lines[0],
                    line_end=lines[1],
                    chunk_index=index,
                    content_hash=hashlib.sha256(piece.encode()).hexdigest(),
                    doc_hash=doc.doc_hash,
                    source_map=offsets.local(start, end).encode(),
                )
            )
        return ChunkedDocument(chunks, max_tokens)


def _strip(text: str, start: int, end: int) -> Span:
    """The span without leading/trailing whitespace (chunks never start or end with blanks)."""
    piece = text[start:end]
    return start + len(piece) - len(piece.lstrip()), end - len(piece) + len(piece.rstrip())
