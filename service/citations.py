"""From a draft with `[n]` markers to verified citations: nothing unverified reaches a user.

Marker syntax understood: `[1]`, `[1][2]`, `[1, 2]` and ranges `[1-3]` (at most 20 numbers; a
reversed or longer range is dropped). Every kept marker is rewritten as adjacent single markers
(`[1, 2]` -> `[1][2]`), so clients parse one form. `n` is the passage number: markers in the text
and `Citation.n` always agree. A marker is dropped from the text when its passage does not exist,
when no sentence of that passage shares a content word with the claim, or when the quote fails
verification (against the chunk, and against the source file when it is still the indexed one).
No verified citation at all means the answer is `answerable: false`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from indexer.models import Citation, Passage
from service.answerers.base import NOT_FOUND_MESSAGE, REFUSAL_TOKEN, Draft
from service.lexical import content_terms
from service.sentences import Span, split_sentences
from service.verify import SourceVerifier

MARKER = re.compile(r"\[\s*(\d{1,4}(?:\s*[-–,]\s*\d{1,4})*)\s*\]")
MAX_RANGE = 20


@dataclass(frozen=True)
class Marker:
    start: int
    end: int
    numbers: tuple[int, ...]


@dataclass(frozen=True)
class CitedAnswer:
    answer: str
    answerable: bool
    citations: list[Citation]


def _expand(body: str) -> tuple[int, ...]:
    out: list[int] = []
    for part in re.split(r"\s*,\s*", body.strip()):
        bounds = [int(x) for x in re.split(r"\s*[-–]\s*", part)]
        if len(bounds) == 1:
            out.append(bounds[0])
        elif len(bounds) == 2 and 0 <= bounds[1] - bounds[0] < MAX_RANGE:
            out.extend(range(bounds[0], bounds[1] + 1))
    return tuple(dict.fromkeys(out))


def parse_markers(text: str) -> list[Marker]:
    return [Marker(m.start(), m.end(), _expand(m.group(1))) for m in MARKER.finditer(text)]


def neutralize_markers(text: str) -> str:
    """Source text shown in an answer must not read as a marker: `[3]` becomes `(3)`."""
    return MARKER.sub(lambda m: f"({m.group(1)})", text)


def _norm(text: str) -> str:
    return " ".join(neutralize_markers(text).split()).lower()


def _claim_for(text: str, sentences: list[Span], pos: int) -> str:
    """The sentence a marker belongs to: its own, or the previous one when it opens a sentence."""
    for i, span in enumerate(sentences):
        if span.start <= pos < span.end:
            before = MARKER.sub("", text[span.start : pos]).strip(" \t\n.,;:!?")
            if not before and i > 0:
                span = sentences[i - 1]
            return MARKER.sub("", span.of(text))
    return ""


class Citer:
    def __init__(self, corpus_dir: Path | None = None) -> None:
        self._verifier = SourceVerifier(corpus_dir)

    def _pick(self, claim: str, passage: Passage, draft: Draft) -> Span | None:
        """The span of `passage` that best supports `claim`: exact match first, then overlap."""
        text = passage.chunk.text
        own = [Span(q.start, q.end) for q in draft.quotes if q.n == passage.n]
        candidates = own or split_sentences(text)
        claim_norm, claim_terms = _norm(claim), content_terms(claim)
        best: tuple[float, float] | None = None
        chosen: Span | None = None
        for span in candidates:
            sentence = span.of(text)
            if _norm(sentence) == claim_norm:
                return span
            terms = content_terms(sentence)
            shared = len(claim_terms & terms)
            key = (float(shared), shared / (len(terms) + 1))
            if shared and (best is None or key > best):
                best, chosen = key, span
        return chosen

    def _citation(self, passage: Passage, span: Span) -> Citation | None:
        chunk = passage.chunk
        if not 0 <= span.start < span.end <= len(chunk.text):
            return None
        quote = span.of(chunk.text)
        char_start, char_end = chunk.char_start + span.start, chunk.char_start + span.end
        if chunk.text[char_start - chunk.char_start : char_end - chunk.char_start] != quote:
            return None
        if not self._verifier.matches(chunk.source, chunk.doc_hash, char_start, char_end, quote):
            return None
        return Citation(
            n=passage.n,
            source=chunk.source,
            title=chunk.title,
            line_start=chunk.line_start + chunk.text.count("\n", 0, span.start),
            line_end=chunk.line_start + chunk.text.count("\n", 0, max(span.start, span.end - 1)),
            char_start=char_start,
            char_end=char_end,
            quote=quote,
            score=passage.score,
        )

    def cite(self, draft: Draft, passages: Sequence[Passage]) -> CitedAnswer:
        text = draft.text.strip()
        if not draft.answerable or not text or text.startswith(REFUSAL_TOKEN):
            return CitedAnswer(NOT_FOUND_MESSAGE, False, [])
        text = re.sub(r"[ \t]{2,}", " ", text.replace(REFUSAL_TOKEN, "")).strip()
        by_n = {p.n: p for p in passages}
        sentences = split_sentences(text)
        citations: dict[tuple[int, int, int], Citation] = {}
        out: list[str] = []
        cursor = 0
        for marker in parse_markers(text):
            claim = _claim_for(text, sentences, marker.start)
            kept: list[int] = []
            for n in marker.numbers:
                passage = by_n.get(n)
                span = self._pick(claim, passage, draft) if passage else None
                citation = self._citation(passage, span) if passage and span else None
                if citation is not None:
                    citations.setdefault((n, citation.char_start, citation.char_end), citation)
                    kept.append(n)
            piece = text[cursor : marker.start]
            if not kept:  # drop the marker and the space that led up to it
                piece = piece.rstrip(" \t")
                following = text[marker.end : marker.end + 1]
                if following and not following.isspace() and following not in ".,;:!?)":
                    piece += " "
            out.append(piece + "".join(f"[{n}]" for n in kept))
            cursor = marker.end
        out.append(text[cursor:])
        answer = "".join(out).strip()
        if not citations or not MARKER.sub("", answer).strip():
            return CitedAnswer(NOT_FOUND_MESSAGE, False, [])
        return CitedAnswer(answer, True, list(citations.values()))
