"""From a draft with `[n]` markers to verified citations: nothing unverified reaches a user.

Marker syntax understood: `[1]`, `[1][2]`, `[1, 2]` and ranges `[1-3]` (at most 20 numbers; a
reversed or longer range is dropped). Every kept marker is rewritten as adjacent single markers
(`[1, 2]` -> `[1][2]`), so clients parse one form. `n` is the passage number: markers in the text
and `Citation.n` always agree. A marker is dropped from the text when its passage does not exist,
when no sentence of that passage shares a content word with the claim, or when the quote fails
verification (against the chunk, and against the source file when it is still the indexed one).
No verified citation at all means the answer is `answerable: false`.

Generated (LLM) answers are cited by our code, not by the model: markup is stripped, the answer is
split into claims, and each claim is aligned with the passage sentence(s) that support it
(`service/citing/align.py`); the model's `[n]` is only a tie-breaking hint. A claim nothing
supports is dropped (or, with `unsupported="mark"`, kept and marked); none supported means
`answerable: false`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from indexer.kernel.models import NOT_FOUND_MESSAGE, REFUSAL_TOKEN, Citation, Draft, Passage
from indexer.text.lexical import content_terms
from indexer.text.sentences import Span, split_sentences
from service.citing.align import UNSUPPORTED_MARK, EmbedTexts, align_claims, claims_of
from service.citing.markers import MARKER, neutralize_markers, parse_markers
from service.citing.verify import SourceVerifier

TAG = re.compile(r"<[^<>]{0,2000}>")
# An extractive draft names its own quotes; a marker without one must share at least this share of
# its claim's content words with the sentence picked (generated answers are aligned instead).
MIN_SUPPORT = 0.5


@dataclass(frozen=True)
class CitedAnswer:
    answer: str
    answerable: bool
    citations: list[Citation]


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


def _numbers(text: str) -> set[int]:
    return {n for m in parse_markers(text) for n in m.numbers}


def _with_markers(claim: str, numbers: list[int]) -> str:
    end = claim[-1] if claim[-1:] in ".!?" else "."
    body = claim.rstrip(".!?").rstrip()
    return f"{body} {''.join(f'[{n}]' for n in numbers)}{end}"


class Citer:
    def __init__(
        self,
        corpus_dir: Path | None = None,
        extracted_dir: Path | None = None,
        *,
        embed: EmbedTexts | None = None,
        unsupported: str = "drop",
    ) -> None:
        self._verifier = SourceVerifier(corpus_dir, extracted_dir)
        self._embed = embed
        self._mark_unsupported = unsupported == "mark"

    def _pick(self, claim: str, passage: Passage, draft: Draft) -> Span | None:
        """The span of `passage` that best supports `claim`: exact match first, then overlap."""
        text = passage.chunk.text
        own = [Span(q.start, q.end) for q in draft.quotes if q.n == passage.n]
        candidates = own or split_sentences(text)
        claim_norm, claim_terms = _norm(claim), content_terms(claim)
        needed = 1 if own else max(1, -(-len(claim_terms) * MIN_SUPPORT // 1))
        best: tuple[float, float] | None = None
        chosen: Span | None = None
        for span in candidates:
            sentence = span.of(text)
            if _norm(sentence) == claim_norm:
                return span
            terms = content_terms(sentence)
            shared = len(claim_terms & terms)
            key = (float(shared), shared / (len(terms) + 1))
            if shared >= needed and (best is None or key > best):
                best, chosen = key, span
        return chosen

    def _citation(self, passage: Passage, span: Span) -> Citation | None:
        chunk = passage.chunk
        if not 0 <= span.start < span.end <= len(chunk.text):
            return None
        quote = span.of(chunk.text)  # the index's copy of the text, as read
        # Offsets and lines index the file as stored (indexer/reading.py says how they relate);
        # a PDF/DOCX chunk has no source map: they index its extracted text.
        char_start, char_end, line_start, line_end = chunk.file_span(span.start, span.end)
        verified = self._verifier.check(chunk.source, chunk.doc_hash, char_start, char_end, quote)
        if verified is None:
            return None
        extracted = verified == "extracted"
        where = self._verifier.locate(chunk.doc_hash, char_start, char_end) if extracted else None
        return Citation(
            n=passage.n,
            source=chunk.source,
            title=chunk.title,
            line_start=line_start,
            line_end=line_end,
            char_start=char_start,
            char_end=char_end,
            quote=quote,
            score=passage.score,
            verified=verified,
            **(where.model_dump() if where else {}),
        )

    def _one_per_marker(
        self, found: list[Citation], by_n: dict[int, Passage]
    ) -> dict[int, Citation]:
        """One citation per `n`, so `[n]` names exactly one quote: several spans of one passage
        become the one span from the first to the last (re-verified), else the first is kept."""
        out: dict[int, Citation] = {}
        for n in dict.fromkeys(c.n for c in found):
            mine = [c for c in found if c.n == n]
            if len(mine) > 1:
                lo, hi = min(c.char_start for c in mine), max(c.char_end for c in mine)
                span = by_n[n].chunk.text_span(lo, hi)
                merged = self._citation(by_n[n], Span(*span)) if span else None
                out[n] = merged or mine[0]
            else:
                out[n] = mine[0]
        return out

    def cite(self, draft: Draft, passages: Sequence[Passage]) -> CitedAnswer:
        text = draft.text.strip()
        if not draft.answerable or not text or text.startswith(REFUSAL_TOKEN):
            return CitedAnswer(NOT_FOUND_MESSAGE, False, [])
        generated = not draft.quotes  # an LLM wrote it; extractive drafts carry their quotes
        if generated:  # answers are plain text: markup can only come from an injected passage
            text = TAG.sub("", text)
        text = re.sub(r"[ \t]{2,}", " ", text.replace(REFUSAL_TOKEN, "")).strip()
        if generated:
            return self._cite_generated(text, passages)
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
        one = self._one_per_marker(list(citations.values()), by_n)
        if not one or not MARKER.sub("", answer).strip():
            return CitedAnswer(NOT_FOUND_MESSAGE, False, [])
        return CitedAnswer(answer, True, list(one.values()))

    def _cite_generated(self, text: str, passages: Sequence[Passage]) -> CitedAnswer:
        """Align every claim with its supporting sentence(s); cite those, whatever `[n]` said."""
        by_n = {p.n: p for p in passages}
        found: list[Citation] = []
        out: list[str] = []
        for aligned in align_claims(claims_of(text), passages, self._embed):
            numbers: list[int] = []
            for n, span in aligned.cites:
                citation = self._citation(by_n[n], span)
                if citation is not None:
                    found.append(citation)
                    numbers.append(n)
            if numbers:
                out.append(_with_markers(aligned.claim, list(dict.fromkeys(numbers))))
            elif self._mark_unsupported and aligned.claim:
                body = aligned.claim.rstrip().rstrip(".!?")
                out.append(f"{body} {UNSUPPORTED_MARK}.")
        one = self._one_per_marker(found, by_n)
        if not one:
            return CitedAnswer(NOT_FOUND_MESSAGE, False, [])
        return CitedAnswer(" ".join(out), True, list(one.values()))
