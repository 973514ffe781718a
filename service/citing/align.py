"""Citations assigned by our code: each claim of a generated answer is aligned with the passage
sentence(s) that support it, whatever `[n]` the model wrote.

A small model's markers are hints, not citations (it writes `[1]` for most claims). So, for every
LLM answer (local or any OpenAI-compatible server):

1. the answer is split into claims (sentences); a clause carrying a link or e-mail address is cut
   (a generated answer never shows one: an injected "visit http://..." could be obeyed), and a
   claim of fewer than two content words states nothing a sentence could support;
2. each claim is compared with every sentence of the retrieved passages:
   `support = LEXICAL_WEIGHT * coverage + (1 - LEXICAL_WEIGHT) * cosine`. `coverage` is the share
   of the claim's content words (stemmed, `indexer/text/lexical.py`) in the sentence, averaged
   with the share in the sentence and its neighbours; `cosine` is the MiniLM similarity of claim
   and sentence (sentence vectors stored at index time; the claims embedded in one batch). Hard
   rules: every number in the claim must appear in the sentence or a neighbour, and every name
   (a capitalised word that is not the claim's first) in the sentence's passage or title;
3. the best sentence is cited if `support >= MIN_SUPPORT` (the marker's own passage wins ties by
   `HINT_BONUS`); when it leaves content words uncovered, a second sentence covering them joins;
4. a claim nothing supports is dropped (`CITELINE_UNSUPPORTED_CLAIMS=drop`, default) or kept
   with `UNSUPPORTED_MARK` (`mark`); no supported claim at all makes the answer unanswerable.

The citer verifies every aligned span against the source, as for any citation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from indexer.kernel.models import Passage
from indexer.sentence_vectors import decode
from indexer.text.lexical import content_terms, tokenize
from indexer.text.sentences import Span, split_sentences
from service.citing.markers import MARKER, parse_markers
from service.citing.support import CLAUSE, LINK

EmbedTexts = Callable[[Sequence[str]], npt.NDArray[np.float32]]

LEXICAL_WEIGHT = 0.6
MIN_SUPPORT = 0.5
MIN_COVERAGE = 0.34  # a claim whose words are mostly elsewhere is not this sentence's
HINT_BONUS = 0.03
MIN_TERMS = 2  # a one-word claim ("PWNED.") states nothing a sentence could support
UNSUPPORTED_MARK = "(not found in the documents)"
_NUM = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Candidate:
    n: int
    span: Span
    terms: frozenset[str]
    window_terms: frozenset[str]
    numbers: frozenset[str]
    passage_terms: frozenset[str]


@dataclass(frozen=True)
class Aligned:
    claim: str
    cites: tuple[tuple[int, Span], ...]  # (passage n, span of its chunk text); empty: unsupported
    support: float


def claims_of(answer: str) -> list[tuple[str, frozenset[int]]]:
    """The answer's sentences without markers, each with the passage numbers it named (a line
    holding only markers belongs to the sentence before it)."""
    out: list[tuple[str, frozenset[int]]] = []
    for span in split_sentences(answer):
        sentence = span.of(answer).strip()
        body = re.sub(r"\s+([.,;:!?])", r"\1", MARKER.sub("", sentence)).strip()
        hints = frozenset(_marker_numbers(sentence))
        if out and not body.strip(" .,;:"):
            out[-1] = (out[-1][0], out[-1][1] | hints)
        elif body.strip(" .,;:"):
            out.append((" ".join(body.split()), hints))
    return out


def _marker_numbers(text: str) -> set[int]:
    return {n for m in parse_markers(text) for n in m.numbers}


def _numbers(text: str) -> frozenset[str]:
    return frozenset(m.group().replace(",", "") for m in _NUM.finditer(text))


def _names(claim: str) -> set[str]:
    tokens = tokenize(claim)
    return {t.norm for t in tokens[1:] if t.raw[:1].isupper() and not t.is_number}


def _unit(rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    out: npt.NDArray[np.float32] = (rows / np.maximum(norms, 1e-9)).astype(np.float32)
    return out


class SentenceTable:
    """Every sentence of the passages once (overlapping chunks repeat sentences), with vectors."""

    def __init__(self, passages: Sequence[Passage]) -> None:
        self.rows: list[Candidate] = []
        vectors: list[npt.NDArray[np.float32] | None] = []
        seen: set[tuple[str, str]] = set()
        for p in passages:
            text = p.chunk.text
            stored = decode(p.chunk)
            spans = (
                [Span(a, b) for a, b in p.chunk.sentences]
                if stored is not None
                else split_sentences(text)
            )
            terms = [frozenset(content_terms(s.of(text))) for s in spans]
            passage_terms = frozenset(content_terms(f"{p.chunk.title}\n{text}"))
            for i, span in enumerate(spans):
                key = (p.chunk.source, " ".join(span.of(text).split()))
                if key in seen:
                    continue
                seen.add(key)
                near = range(max(0, i - 1), min(len(spans), i + 2))
                window = frozenset().union(*(terms[j] for j in near))
                nums = frozenset().union(*(_numbers(spans[j].of(text)) for j in near))
                self.rows.append(Candidate(p.n, span, terms[i], window, nums, passage_terms))
                vectors.append(stored[i] if stored is not None else None)
        self.vectors: npt.NDArray[np.float32] | None = None
        if self.rows and all(v is not None for v in vectors):
            self.vectors = _unit(np.vstack([v for v in vectors if v is not None]))

    def scores(self, claim: str, vector: npt.NDArray[np.float32] | None) -> list[float]:
        terms = content_terms(claim)
        cos = (
            self.vectors @ vector
            if self.vectors is not None and vector is not None
            else np.full(len(self.rows), np.nan, np.float32)
        )
        out: list[float] = []
        for row, c in zip(self.rows, cos, strict=True):
            own = len(terms & row.terms) / len(terms) if terms else 0.0
            near = len(terms & row.window_terms) / len(terms) if terms else 0.0
            coverage = (own + near) / 2  # the sentence itself first, its neighbours help
            out.append(
                coverage
                if np.isnan(c)
                else LEXICAL_WEIGHT * coverage + (1 - LEXICAL_WEIGHT) * max(float(c), 0.0)
            )
        return out


def _allowed(claim: str, row: Candidate) -> bool:
    return _numbers(claim) <= row.numbers and _names(claim) <= row.passage_terms


def clean_claim(claim: str) -> str:
    """The claim without its clauses that carry a link or an e-mail address. A generated answer
    never shows one: a passage can hold an injected "visit http://..." that a model obeys; the
    cited quote, shown beside the answer, keeps the document's own text."""
    if not LINK.search(claim):
        return claim
    end = claim.rstrip()[-1:] if claim.rstrip()[-1:] in ".!?" else ""
    kept = [c for c in CLAUSE.split(claim.rstrip().rstrip(".!?")) if c.strip()]
    kept = [c for c in kept if not LINK.search(c)]
    return "; ".join(kept) + end if kept else ""


def align_claims(
    claims: Sequence[tuple[str, frozenset[int]]],
    passages: Sequence[Passage],
    embed: EmbedTexts | None = None,
) -> list[Aligned]:
    """Each (claim, hinted passage numbers) with the sentence(s) that support it."""
    table = SentenceTable(passages)
    cleaned = [clean_claim(c) for c, _ in claims]
    vectors = None
    if embed is not None and table.vectors is not None and any(cleaned):
        vectors = _unit(np.asarray(embed([c or "-" for c in cleaned]), dtype=np.float32))
    out: list[Aligned] = []
    for k, ((_, hints), claim) in enumerate(zip(claims, cleaned, strict=True)):
        terms = content_terms(claim)
        if len(terms) < MIN_TERMS or not table.rows:
            out.append(Aligned(claim, (), 0.0))
            continue
        scores = table.scores(claim, None if vectors is None else vectors[k])
        ranked = sorted(
            (
                (s + (HINT_BONUS if row.n in hints else 0.0), i)
                for i, (s, row) in enumerate(zip(scores, table.rows, strict=True))
                if _allowed(claim, row)
                and len(terms & row.window_terms) / len(terms) >= MIN_COVERAGE
            ),
            reverse=True,
        )
        if not ranked or scores[ranked[0][1]] < MIN_SUPPORT:
            out.append(Aligned(claim, (), ranked[0][0] if ranked else 0.0))
            continue
        best = table.rows[ranked[0][1]]
        cites = [(best.n, best.span)]
        missing = terms - best.window_terms
        for _, i in ranked[1:]:  # a second sentence for what the first leaves out
            row = table.rows[i]
            if missing and len(missing & row.terms) >= max(1, len(missing) // 2):
                cites.append((row.n, row.span))
                break
        out.append(Aligned(claim, tuple(cites), scores[ranked[0][1]]))
    return out
