"""One sentence splitter with character spans, shared by the extractive answerer and the citer.

Why spans and not strings: a citation quote must be an exact slice of the chunk, so every sentence
is reported as `(start, end)` into the text it came from, with surrounding whitespace trimmed.
Line breaks end a sentence (a line is a paragraph, heading or bullet), except a line wrapped
mid-sentence: no closing punctuation, and the next line goes on in lower case (PDF text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.text.lexical import words

# A boundary: terminal punctuation, optional closing quotes/brackets, whitespace, then something
# that can open a sentence (capital, digit, opening quote/bracket). CJK terminators need no space.
# "chain.For example": a missing space after a full stop between two words (not "U.S.", "a.m.").
_BOUNDARY = re.compile(
    r"(?<=[.!?])([\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9])|(?<=[。！？])|(?<=[a-z]{2}\.)(?=[A-Z][a-z])"
)
_ABBREVIATIONS = words(
    """mr mrs ms dr prof sr jr st inc ltd co corp vs etc no fig al e.g i.e u.s u.k jan feb mar apr
    jun jul aug sep sept oct nov dec"""
)
_WORD_BEFORE = re.compile(r"([\w.]+)\.$")


@dataclass(frozen=True)
class Span:
    start: int
    end: int

    def of(self, text: str) -> str:
        return text[self.start : self.end]


def _is_abbreviation(prefix: str) -> bool:
    match = _WORD_BEFORE.search(prefix)
    if not match:
        return False
    word = match.group(1).lower()
    # "J. Smith": a lone capital is an initial, not the end of a sentence.
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _trimmed(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if end > start else None


_WRAPPED = re.compile(r"[^\s.!?:;\"'”’)\]]\n[ \t]*[a-z]")


def _paragraph_lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, where a line wrapped mid-sentence (no closing punctuation, the
    next line going on in lower case, as in text extracted from PDF pages) joins the next."""
    bounds: list[tuple[int, int]] = []
    start = 0
    for match in re.finditer(r"\n", text):
        if _WRAPPED.match(text, match.start() - 1) is None:
            bounds.append((start, match.start()))
            start = match.end()
    bounds.append((start, len(text)))
    return bounds


def split_sentences(text: str) -> list[Span]:
    """Sentences of `text` as trimmed spans, in order, never overlapping, never empty."""
    spans: list[Span] = []
    for line_start, line_end in _paragraph_lines(text):
        cursor = line_start
        for match in _BOUNDARY.finditer(text, line_start, line_end):
            # The sentence keeps its closing quotes; the whitespace after them is dropped.
            if match.start() == match.end() or not _is_abbreviation(text[cursor : match.start()]):
                end = match.end(1) if match.group(1) is not None else match.start()
                span = _trimmed(text, cursor, end)
                if span:
                    spans.append(span)
                cursor = match.end()
        span = _trimmed(text, cursor, line_end)
        if span:
            spans.append(span)
    return spans
