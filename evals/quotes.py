"""Quote validity: a citation is valid only if its quote is what the file reads at its exact span.

Files are read from the corpus directory the evals are pointed at, never trusted from the answer.
Offsets and lines index the file as stored; the quote is that span as read, by the one rule the
service's verifier uses too (`indexer.reading.quote_at`: newlines read as `\n`, HTML markup
dropped and entities decoded).
"""

from __future__ import annotations

from pathlib import Path

from indexer.kernel.models import Citation
from indexer.reading import quote_at, read_source, stored_text


class CorpusFiles:
    """Reads corpus files on demand (once each); refuses paths that escape the corpus root."""

    def __init__(self, corpus_dir: Path) -> None:
        self._root = corpus_dir.resolve()
        self._cache: dict[str, bytes | None] = {}

    def data(self, source: str) -> bytes | None:
        """The file's bytes if it is a readable UTF-8 file in the corpus, else None."""
        if source not in self._cache:
            path = (self._root / source).resolve()
            if not path.is_relative_to(self._root) or not path.is_file():
                self._cache[source] = None
            else:
                try:
                    data = path.read_bytes()
                    stored_text(data)
                except (OSError, UnicodeDecodeError):
                    self._cache[source] = None
                else:
                    self._cache[source] = data
        return self._cache[source]


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def quote_problem(citation: Citation, corpus: CorpusFiles) -> str | None:
    """None if the citation is valid, else why not (for reports)."""
    data = corpus.data(citation.source)
    if data is None:
        return f"[{citation.n}] {citation.source}: not a readable file in the corpus"
    if not citation.quote.strip():
        return f"[{citation.n}] {citation.source}: empty quote"
    start, end = citation.char_start, citation.char_end
    raw = stored_text(data)
    read = quote_at(citation.source, data, start, end) if 0 <= start < end <= len(raw) else None
    if read == citation.quote:
        # The line span must cover the quoted characters.
        first, last = _line_of(raw, start), _line_of(raw, end - 1)
        if citation.line_start <= first and citation.line_end >= last:
            return None
        return (
            f"[{citation.n}] {citation.source}: lines {citation.line_start}-{citation.line_end} "
            f"do not cover the quote (lines {first}-{last})"
        )
    if citation.quote in read_source(citation.source, data)[0]:
        return f"[{citation.n}] {citation.source}: quote found, but not at chars {start}-{end}"
    return f"[{citation.n}] {citation.source}: quote not found verbatim in the file"
