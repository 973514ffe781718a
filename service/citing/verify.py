"""Check a quote against the source it claims to come from, and say which check passed.

`"file"` (text formats): the file in the corpus folder, read now, reads exactly `quote` at
`char_start:char_end` (offsets into the file as stored; `indexer.reading.quote_at` is the rule,
shared with the evals). That is the check a user would make.

`"extracted"` (PDF, DOCX): their text is extracted, so their offsets index that text, stored with
the index by `doc_hash` (`indexer/extracted.py`): the stored text of the indexed version reads
exactly `quote` at `char_start:char_end`. A missing or damaged stored text fails the citation.

`"index"`: the file could not be compared (no corpus folder configured, missing, unreadable, or
changed since indexing and no longer holding the quote there; for PDF/DOCX, no extracted store
configured). The quote is then only the index's stored copy of the text: still exact at those
offsets *in the indexed version*, but not confirmed against the file. Clients can show it as such.

`None`: the file is the indexed one (same sha256) and disagrees with the quote, or a PDF/DOCX's
stored text does: the stored chunk is not the document's text, and the citation is dropped.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Literal

from indexer.extracted import load_extracted
from indexer.formats import EXTRACTED_SUFFIXES, Location, locate
from indexer.kernel.offsets import OffsetMap
from indexer.reading import read_source

Verified = Literal["file", "extracted", "index"]


@lru_cache(maxsize=32)
def _read(path: str, mtime_ns: int, size: int) -> tuple[str, str, OffsetMap] | None:
    """(sha256, text as read, its offsets) of a file; keyed on mtime/size so an edit is re-read."""
    try:
        data = Path(path).read_bytes()
        return hashlib.sha256(data).hexdigest(), *read_source(path, data)
    except (OSError, UnicodeDecodeError):
        return None


class SourceVerifier:
    """Text formats are checked against the file as stored; PDF/DOCX quotes, `extracted_dir`
    given, against the stored extracted text (a missing or damaged one fails them)."""

    def __init__(self, corpus_dir: Path | None, extracted_dir: Path | None = None) -> None:
        self._root = corpus_dir.resolve() if corpus_dir is not None else None
        self._extracted = extracted_dir

    def locate(self, doc_hash: str, start: int, end: int) -> Location:
        """Page(s) or paragraph of a span of a PDF/DOCX's stored text; empty for other files."""
        stored = load_extracted(self._extracted, doc_hash) if self._extracted else None
        return locate(stored.extraction, start, end) if stored else Location()

    def _file(self, source: str) -> tuple[str, str, OffsetMap] | None:
        if self._root is None:
            return None
        path = (self._root / source).resolve()
        if not path.is_relative_to(self._root):  # a source must never lead outside the corpus
            return None
        try:
            stat = path.stat()
        except OSError:
            return None
        return _read(str(path), stat.st_mtime_ns, stat.st_size)

    def check(
        self, source: str, doc_hash: str, start: int, end: int, quote: str
    ) -> Verified | None:
        """What `quote` at `[start, end)` was verified against, or None: drop the citation."""
        if Path(source).suffix.lower() in EXTRACTED_SUFFIXES:
            if self._extracted is None:
                return "index"
            stored = load_extracted(self._extracted, doc_hash)
            ok = stored is not None and stored.extraction.text[start:end] == quote
            return "extracted" if ok else None
        found = self._file(source)
        if found is None:
            return "index"
        digest, text, offsets = found
        span = offsets.text_span(start, end)  # the same rule as indexer.reading.quote_at
        if span is not None and text[span[0] : span[1]] == quote:
            return "file"
        return None if digest == doc_hash else "index"
