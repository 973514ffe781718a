"""Evidence first: what an LLM reads in the joined reader (`service/answering/reader.py`).

Every sentence of the retrieved passages is scored by the extractive answerer's learned scorer.
The LLM reads the best sentences with their neighbours, grouped by passage and in document order,
within a token budget (`CITELINE_EVIDENCE_BUDGET`, estimated as characters / 4), instead of whole
passages. Each source whose best sentence scores at least `SOURCE_SHARE` of the best gets its best
sentence in first, and so does each side of a comparison ("Huawei's and Haier's approaches":
`service/answering/compare.py`), so comparison and list questions see every article they need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from indexer.kernel.models import NOT_FOUND_MESSAGE, Draft, Passage
from service.answering.evidence import Sentence
from service.answering.extractive import ExtractiveAnswerer
from service.answering.question import analyze

SOURCE_SHARE = 0.5
MAX_SOURCES = 4
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class Context:
    passages: Sequence[Passage]
    excerpts: list[tuple[Passage, str]]
    scores: dict[tuple[int, int], float]  # (passage n, sentence start) -> scorer probability
    best: float  # the scorer's best sentence probability
    extractive: Draft  # what the scorer alone would answer (quotes the evidence)
    quoted: tuple[Draft, ...]  # the same answer, one draft per quoted sentence
    sentences: int  # the answer's sentence cap
    max_tokens: int


def answer_limits(question: str) -> tuple[int, int]:
    """(sentences, tokens) an answer may take: a fact is one sentence; why/how, lists and
    comparisons get more."""
    lowered = question.lower()
    info = analyze(question)
    wide = any(w in lowered for w in ("why", "how do", "how does", "how did", "list", "what are",
                                      "which are", "compare", "differ", " and "))  # fmt: skip
    if info.kind in ("count", "amount", "money", "when", "who") and not wide:
        return 1, 60
    return (3, 150) if wide else (2, 100)


def _pick(
    sentences: list[Sentence], scores: npt.NDArray[np.float64], leads: list[int], budget: int
) -> set[int]:
    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    best_by_source: dict[str, int] = {}
    for i in order:
        best_by_source.setdefault(sentences[i].passage.chunk.source, i)
    top = float(scores[order[0]])
    seeds = [i for i in best_by_source.values() if scores[i] >= SOURCE_SHARE * top][:MAX_SOURCES]
    where = {(s.passage.n, s.index): i for i, s in enumerate(sentences)}
    chosen: set[int] = set()
    used = 0
    for i in [*leads, *seeds, *order]:
        s = sentences[i]
        group = [where.get((s.passage.n, s.index + d)) for d in (0, -1, 1)]
        for j in (g for g in group if g is not None and g not in chosen):
            cost = len(sentences[j].text) // CHARS_PER_TOKEN + 1
            if used + cost > budget and chosen:
                return chosen
            chosen.add(j)
            used += cost
    return chosen


def build_context(
    extractive: ExtractiveAnswerer, question: str, passages: Sequence[Passage], budget: int
) -> Context:
    sentences, scores, quoted, leads = extractive.scored(question, passages)
    n_sentences, max_tokens = answer_limits(question)
    if not sentences:
        empty = Draft(text=NOT_FOUND_MESSAGE, answerable=False)
        return Context(passages, [], {}, 0.0, empty, (), n_sentences, max_tokens)
    chosen = _pick(sentences, scores, leads, budget)
    by_passage: dict[int, list[int]] = {}
    for i in sorted(chosen, key=lambda i: (sentences[i].passage.n, sentences[i].start)):
        by_passage.setdefault(sentences[i].passage.n, []).append(i)
    excerpts: list[tuple[Passage, str]] = []
    for rows in by_passage.values():
        parts: list[str] = []
        for k, i in enumerate(rows):
            gap = k and sentences[i].index != sentences[rows[k - 1]].index + 1
            parts.append(("… " if gap else "") + " ".join(sentences[i].text.split()))
        excerpts.append((sentences[rows[0]].passage, " ".join(parts)))
    draft = extractive.draft_of([sentences[i] for i in quoted])
    pieces = tuple(extractive.draft_of([sentences[i]]) for i in quoted) if draft.answerable else ()
    by_start = {(s.passage.n, s.start): float(scores[i]) for i, s in enumerate(sentences)}
    return Context(passages, excerpts, by_start, float(scores.max()), draft, pieces, n_sentences,
                   max_tokens)  # fmt: skip
