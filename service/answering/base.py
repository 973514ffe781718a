"""The `Answerer` protocol: turn a question and numbered passages into a draft with `[n]` markers.

A draft is not yet an answer: `service.citing.citer` checks every marker against the passages and
the source text before anything reaches a user.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from indexer.kernel.models import Draft, Passage


@runtime_checkable
class Answerer(Protocol):
    @property
    def name(self) -> str: ...

    def answer(self, question: str, passages: Sequence[Passage]) -> Draft: ...

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        """Text deltas; their concatenation is the draft text."""
        ...


def word_deltas(text: str) -> Iterator[str]:
    """Split text into word-sized deltas that concatenate back to exactly `text`."""
    start = 0
    for i in range(1, len(text)):
        if text[i - 1].isspace() and not text[i].isspace():
            yield text[start:i]
            start = i
    if start < len(text):
        yield text[start:]
