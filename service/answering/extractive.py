"""The embedded default answerer: quote the retrieved sentences that answer the question, or
abstain. Deterministic, no key, no server.

Every sentence of the passages is scored by the learned scorer (`service.answering.scorer`, fitted
on public SQuAD 2.0 data) from paraphrase-robust features (`service.answering.evidence`); the
answer is the best sentence, plus supporting ones for list, why/how and comparison questions
(`service.answering.select`), or "the documents don't say" when even the best scores under the
operating point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from indexer.embedding.base import Embedder
from indexer.kernel.models import NOT_FOUND_MESSAGE, Draft, DraftQuote, Passage
from service.answering.base import word_deltas
from service.answering.candidates import SentenceVectors
from service.answering.compare import sides
from service.answering.discourse import with_neighbours
from service.answering.enumeration import list_items
from service.answering.evidence import Matrix, Question, Sentence, featurize, prepare_question
from service.answering.scorer import ScorerModel, load_model
from service.answering.select import choose, reading_order
from service.citing.markers import neutralize_markers

Abbreviations = Callable[[], Mapping[str, str]]


def _shown(sentence: Sentence) -> str:
    """A quoted sentence as shown in the answer: one line, and unable to pose as a marker."""
    return neutralize_markers(" ".join(sentence.text.split()))


def _no_abbreviations() -> Mapping[str, str]:
    return {}


class ExtractiveAnswerer:
    def __init__(
        self,
        embedder: Embedder,
        *,
        threshold: float | None = None,
        abbreviations: Abbreviations = _no_abbreviations,
        model: ScorerModel | None = None,
    ) -> None:
        self._embedder = embedder
        self._model = model
        self._threshold = threshold
        self._abbreviations = abbreviations
        self._vectors = SentenceVectors(embedder.embed_documents)

    @property
    def name(self) -> str:
        return "extractive"

    @property
    def model(self) -> ScorerModel:
        if self._model is None:
            self._model = load_model()
        return self._model

    @model.setter
    def model(self, model: ScorerModel) -> None:
        # Cross-validation reads each article with a scorer fitted on the others.
        self._model = model

    @property
    def threshold(self) -> float:
        return self.model.threshold if self._threshold is None else self._threshold

    def _scores(
        self, q: Question, sentences: list[Sentence], vectors: Matrix
    ) -> npt.NDArray[np.float64]:
        return self.model.score(
            featurize(q, sentences, vectors, self._embedder.embed_query(q.text))
        )

    def scored(
        self, question: str, passages: Sequence[Passage]
    ) -> tuple[list[Sentence], npt.NDArray[np.float64], list[int], list[int]]:
        """Every candidate sentence, its score (for a comparison, the best over the question and
        each side of it), the indices the extractive answer would quote (empty: abstain) and, for
        a comparison, each side's best sentence whatever its score."""
        sentences, vectors = self._vectors.candidates(passages)
        if not sentences:
            return [], np.zeros(0), [], []
        abbreviations = self._abbreviations()
        q = prepare_question(question, abbreviations)
        texts = [s.text for s in sentences]
        scores = self._scores(q, sentences, vectors)
        picked = choose(q, texts, scores, threshold=self.threshold,
                        extra_ratio=self.model.extra_ratio)  # fmt: skip
        combined = scores.copy()
        leads: list[int] = []
        for side in sides(q):  # a comparison: each subject's own best sentence
            side_scores = self._scores(prepare_question(side, abbreviations), sentences, vectors)
            combined = np.maximum(combined, side_scores)
            leads.append(int(np.argmax(side_scores)))
        # Once one subject is answered, the others' best sentences need only the bar that
        # `select.choose` sets for a further sentence naming a compared entity.
        answered = bool(picked) or any(combined[i] >= self.threshold for i in leads)
        bar = self.threshold * (self.model.extra_ratio if answered else 1.0)
        for best in leads:
            if combined[best] >= bar and best not in picked:
                picked.append(best)
        picked = list_items(q, sentences, with_neighbours(q, sentences, picked))
        chosen = reading_order(sentences, picked)
        return sentences, combined, chosen, leads

    def evidence(self, question: str, passages: Sequence[Passage]) -> list[Sentence]:
        """The sentences that answer `question`, in reading order (empty: abstain)."""
        sentences, _, chosen, _ = self.scored(question, passages)
        return [sentences[i] for i in chosen]

    def draft_of(self, chosen: Sequence[Sentence]) -> Draft:
        if not chosen:
            return Draft(text=NOT_FOUND_MESSAGE, answerable=False)
        parts = [f"{_shown(s)} [{s.passage.n}]" for s in chosen]
        quotes = [DraftQuote(n=s.passage.n, start=s.start, end=s.end) for s in chosen]
        return Draft(text=" ".join(parts), answerable=True, quotes=quotes)

    def answer(self, question: str, passages: Sequence[Passage]) -> Draft:
        return self.draft_of(self.evidence(question, passages))

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        yield from word_deltas(self.answer(question, passages).text)
