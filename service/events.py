"""Typed events of a streamed answer, in order: passages, token*, final, done (or error, done).

Token text is the answerer's raw output as it arrives (markers to passages that do not exist are
already filtered out); `FinalEvent.answer` is the verified answer and is authoritative: a client
replaces the streamed text with it, since markers can still be dropped at verification.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from indexer.kernel.models import Citation, Passage


class PassagesEvent(BaseModel):
    type: Literal["passages"] = "passages"
    passages: list[Passage]


class TokenEvent(BaseModel):
    type: Literal["token"] = "token"
    text: str


class FinalEvent(BaseModel):
    type: Literal["final"] = "final"
    answer: str
    answerable: bool
    citations: list[Citation]
    answerer: str
    timings_ms: dict[str, float] = Field(default_factory=dict)


class ErrorEvent(BaseModel):
    type: Literal["error"] = "error"
    code: str
    message: str


class DoneEvent(BaseModel):
    type: Literal["done"] = "done"


StreamEvent = Annotated[
    PassagesEvent | TokenEvent | FinalEvent | ErrorEvent | DoneEvent, Field(discriminator="type")
]
