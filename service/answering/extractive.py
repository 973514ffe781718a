"""The embedded default answerer: quote the retrieved sentences that answer the question, or
abstain.

Deterministic, no key, no server. A sentence is a candidate only if it passes the question's gates
(numbers and entities it names are present, the focus noun is there, the sentence is of the kind
the question asks for: a count, an amount, a date, a name). Candidates are ranked by IDF-weighted
coverage of the question's terms, plus a little retrieval score and sentence-embedding similarity.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from indexer.embedding.base import Embedder, Vectors
from indexer.kernel.models import NOT_FOUND_MESSAGE, Draft, DraftQuote, Passage
from indexer.text.lexical import (
    Token,
    content_terms,
    has_date,
    has_money,
    has_percent,
    is_quantity,
    tokenize,
)
from indexer.text.sentences import Span, split_sentences
from service.answering.base import word_deltas
from service.answering.question import QuestionInfo, analyze
from service.citing.markers import neutralize_markers

_WINDOW_BEFORE, _WINDOW_AFTER = 4, 3  # "16 R&D centers", "robes ... 32": number near the focus


# The share of the question's content terms a sentence needs to count as evidence.
MIN_COVERAGE = 0.5


@dataclass(frozen=True)
class _Candidate:
    passage: Passage
    span: Span
    score: float


def _kind_ok(info: QuestionInfo, sentence: str, tokens: list[Token]) -> bool:
    if info.kind == "count":
        focus_at = [i for i, t in enumerate(tokens) if t.norm == info.focus]
        if not focus_at:
            return any(is_quantity(t) for t in tokens)
        return any(
            is_quantity(tokens[j])
            for i in focus_at
            for j in range(max(0, i - _WINDOW_BEFORE), min(len(tokens), i + _WINDOW_AFTER + 1))
        )
    if info.kind == "amount":
        return has_percent(sentence) or any(is_quantity(t) for t in tokens)
    if info.kind == "money":
        return has_money(sentence)
    if info.kind == "when":
        return has_date(tokens)
    if info.kind == "who":  # a capitalised name the question did not already contain
        return any(t.raw[0].isupper() and t.norm not in info.weights for t in tokens[1:])
    return True


def _shown(cand: _Candidate) -> str:
    """A quoted sentence as shown in the answer: one line, and unable to pose as a marker."""
    return neutralize_markers(" ".join(cand.span.of(cand.passage.chunk.text).split()))


def _who_ok(info: QuestionInfo, terms: set[str]) -> bool:
    """ "Who is X of Y": the name and its relation to Y share one sentence; a question naming five
    or more entities is specific enough to let one of them sit in a neighbouring sentence."""
    missing = len(info.entities - terms)
    return missing == 0 or (missing == 1 and len(info.entities) >= 5)


class ExtractiveAnswerer:
    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        max_sentences: int = 3,
        min_coverage: float = MIN_COVERAGE,
        cache_size: int = 4096,
    ) -> None:
        self._embedder = embedder
        self._max_sentences = max_sentences
        self._min_coverage = min_coverage
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "extractive"

    def _sentence_vectors(self, passage: Passage, spans: list[Span]) -> Vectors | None:
        """Sentence embeddings of a chunk, computed once per chunk id."""
        if self._embedder is None or not spans:
            return None
        key = passage.chunk.id
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        vectors = self._embedder.embed_documents([s.of(passage.chunk.text) for s in spans])
        with self._lock:
            self._cache[key] = vectors
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vectors

    def _candidates(self, question: str, passages: Sequence[Passage]) -> list[_Candidate]:
        info = analyze(question)
        if not info.weights:
            return []
        chunk_terms = [content_terms(f"{p.chunk.title}\n{p.chunk.text}") for p in passages]
        n_docs = len(passages)
        idf = {
            t: math.log(1 + n_docs / (sum(t in terms for terms in chunk_terms) + 0.5))
            for t in info.weights
        }
        total = sum(w * idf[t] for t, w in info.weights.items())
        top = max((p.score for p in passages), default=0.0)
        query = self._embedder.embed_query(question) if self._embedder else None
        out: list[_Candidate] = []
        for passage in passages:
            text = passage.chunk.text
            spans = split_sentences(text)
            vectors = self._sentence_vectors(passage, spans)
            sentence_tokens = [tokenize(span.of(text)) for span in spans]
            sentence_terms = [{t.norm for t in toks} for toks in sentence_tokens]
            for i, span in enumerate(spans):
                sentence, tokens, terms = span.of(text), sentence_tokens[i], sentence_terms[i]
                # An entity may be named in a neighbouring sentence ("Ken Hu told ..." / "said Hu").
                nearby = terms.union(*sentence_terms[max(0, i - 1) : i + 2])
                if (
                    len(tokens) < 4
                    or sentence.rstrip().endswith("?")
                    or not info.numbers <= terms
                    or not info.entities <= nearby
                    or (info.kind == "who" and not _who_ok(info, terms))
                    or (info.focus is not None and info.focus not in terms)
                    or not _kind_ok(info, sentence, tokens)
                ):
                    continue
                coverage = sum(w * idf[t] for t, w in info.weights.items() if t in terms) / total
                if coverage < self._min_coverage:
                    continue
                score = coverage + 0.1 * max(0.0, passage.score / top if top > 0 else 0.0)
                if vectors is not None and query is not None:
                    score += 0.15 * max(0.0, float(np.dot(vectors[i], query)))
                out.append(_Candidate(passage, span, score))
        return out

    def _select(self, question: str, passages: Sequence[Passage]) -> list[_Candidate]:
        ranked = sorted(
            self._candidates(question, passages),
            key=lambda c: (-c.score, c.passage.n, c.span.start),
        )
        chosen: list[_Candidate] = []
        seen: set[str] = set()
        for cand in ranked:
            text = " ".join(cand.span.of(cand.passage.chunk.text).split()).lower()
            if cand.score < 0.85 * ranked[0].score or len(chosen) == self._max_sentences:
                break
            if text not in seen:
                seen.add(text)
                chosen.append(cand)
        # Passages in the order of their best sentence; document order within a passage.
        rank = {c.passage.n: i for i, c in reversed(list(enumerate(chosen)))}
        return sorted(chosen, key=lambda c: (rank[c.passage.n], c.span.start))

    def answer(self, question: str, passages: Sequence[Passage]) -> Draft:
        chosen = self._select(question, passages)
        if not chosen:
            return Draft(text=NOT_FOUND_MESSAGE, answerable=False)
        parts = [f"{_shown(c)} [{c.passage.n}]" for c in chosen]
        quotes = [DraftQuote(n=c.passage.n, start=c.span.start, end=c.span.end) for c in chosen]
        return Draft(text=" ".join(parts), answerable=True, quotes=quotes)

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        yield from word_deltas(self.answer(question, passages).text)
