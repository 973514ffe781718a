"""Quote validity: a citation is valid only if its quote is the file's text at its exact span.

Files are read from the corpus directory the evals are pointed at, never trusted from the answer.
"""

from __future__ import annotations

from pathlib import Path

from indexer.kernel.models import Citation


class CorpusFiles:
    """Reads corpus files on demand (once each); refuses paths that escape the corpus root."""

    def __init__(self, corpus_dir: Path) -> None:
        self._root = corpus_dir.resolve()
        self._cache: dict[str, list[str] | None] = {}

    def texts(self, source: str) -> list[str] | None:
        """The file decoded two ways (newlines as stored, and universal), or None if unreadable."""
        if source not in self._cache:
            path = (self._root / source).resolve()
            if not path.is_relative_to(self._root) or not path.is_file():
                self._cache[source] = None
            else:
                try:
                    raw = path.read_bytes().decode("utf-8")
                except (OSError, UnicodeDecodeError):
                    self._cache[source] = None
                else:
                    # The indexer may or may not translate \r\n; accept offsets into either form.
                    universal = raw.replace("\r\n", "\n").replace("\r", "\n")
                    self._cache[source] = [raw] if universal == raw else [raw, universal]
        return self._cache[source]


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def quote_problem(citation: Citation, corpus: CorpusFiles) -> str | None:
    """None if the citation is valid, else why not (for reports)."""
    texts = corpus.texts(citation.source)
    if texts is None:
        return f"[{citation.n}] {citation.source}: not a readable file in the corpus"
    if not citation.quote.strip():
        return f"[{citation.n}] {citation.source}: empty quote"
    start, end = citation.char_start, citation.char_end
    for text in texts:
        if not (0 <= start < end <= len(text)) or text[start:end] != citation.quote:
            continue
        # The line span must cover the quoted characters.
        first, last = _line_of(text, start), _line_of(text, end - 1)
        if citation.line_start <= first and citation.line_end >= last:
            return None
        return (
            f"[{citation.n}] {citation.source}: lines {citation.line_start}-{citation.line_end} "
            f"do not cover the quote (lines {first}-{last})"
        )
    if any(citation.quote in text for text in texts):
        return f"[{citation.n}] {citation.source}: quote found, but not at chars {start}-{end}"
    return f"[{citation.n}] {citation.source}: quote not found verbatim in the file"
