"""Check a quote against the source file it claims to come from, when that file is the indexed one.

Why a second check beyond the chunk: the chunk text came out of the store, the file is the ground
truth a user will open. A file that changed since indexing (hash differs) or cannot be read is not
evidence either way, so only the chunk check applies then.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Literal

from indexer.extracted import load_extracted
from indexer.formats import EXTRACTED_SUFFIXES, Location, locate

Verdict = tuple[bool, Literal["file", "extracted"] | None]


@lru_cache(maxsize=32)
def _decoded(path: str, doc_hash: str, mtime_ns: int, size: int) -> str | None:
    """File text if its bytes hash to `doc_hash`; keyed on mtime/size so an edit is re-read."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != doc_hash:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


class SourceVerifier:
    """`extracted_dir` given: PDF/DOCX quotes must match the stored extracted text (a missing or
    damaged one fails them); text formats are checked against the file as before."""

    def __init__(self, corpus_dir: Path | None, extracted_dir: Path | None = None) -> None:
        self._root = corpus_dir.resolve() if corpus_dir is not None else None
        self._extracted = extracted_dir

    def check(self, source: str, doc_hash: str, start: int, end: int, quote: str) -> Verdict:
        """(quote may be shown, what it was verified against beyond the chunk)."""
        if Path(source).suffix.lower() in EXTRACTED_SUFFIXES and self._extracted is not None:
            stored = load_extracted(self._extracted, doc_hash)
            ok = stored is not None and stored.extraction.text[start:end] == quote
            return ok, "extracted" if ok else None
        if self._text(source, doc_hash) is None:
            return True, None
        return self.matches(source, doc_hash, start, end, quote), "file"

    def locate(self, doc_hash: str, start: int, end: int) -> Location:
        """Page(s) or paragraph of a span of a PDF/DOCX's stored text; empty for other files."""
        stored = load_extracted(self._extracted, doc_hash) if self._extracted else None
        return locate(stored.extraction, start, end) if stored else Location()

    def _text(self, source: str, doc_hash: str) -> str | None:
        if self._root is None:
            return None
        path = (self._root / source).resolve()
        if not path.is_relative_to(self._root):  # a source must never lead outside the corpus
            return None
        try:
            stat = path.stat()
        except OSError:
            return None
        return _decoded(str(path), doc_hash, stat.st_mtime_ns, stat.st_size)

    def matches(self, source: str, doc_hash: str, start: int, end: int, quote: str) -> bool:
        """False only when the indexed file is readable and disagrees with the quote."""
        text = self._text(source, doc_hash)
        if text is None:
            return True
        if text[start:end] == quote:
            return True
        # The indexer may have read the file with universal newlines.
        return text.replace("\r\n", "\n").replace("\r", "\n")[start:end] == quote
