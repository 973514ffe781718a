"""The `Answerer` protocol: turn a question and numbered passages into a draft with `[n]` markers.

A draft is not yet an answer: `service.citations` checks every marker against the passages and
the source text before anything reaches a user.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from indexer.models import Passage

NOT_FOUND_MESSAGE = "The documents don't say."
# What the LLM is told to reply, verbatim, when the passages do not hold the answer.
REFUSAL_TOKEN = "NOT_IN_DOCUMENTS"  # noqa: S105 - a reply word, not a secret


class DraftQuote(BaseModel):
    """A span the answerer itself quoted: offsets are relative to passage `n`'s chunk text."""

    model_config = ConfigDict(frozen=True)

    n: int = Field(ge=1)
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Draft(BaseModel):
    text: str = Field(description="answer text with [n] markers after each claim")
    answerable: bool
    quotes: list[DraftQuote] = Field(
        default_factory=list, description="exact spans used, when the answerer knows them"
    )


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
