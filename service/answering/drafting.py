"""One draft, whether the answer is streamed or not.

`ask` cites `answerer.answer(...)`; a stream must end with exactly that answer. So the stream is
built from the same draft:

- an answerer that really generates token by token (an LLM: `streams_tokens = True`) streams its
  deltas, and the draft is their concatenation, read the way `answer()` reads a whole reply
  (`draft_from_text`);
- any other answerer (the extractive one, whatever its implementation) is asked for its draft
  with `answer()`, the very call `ask` makes, and the stream shows that draft's text word by word.

Deltas shown to a client never carry markers to passages that do not exist (`filter_markers`);
the last item is the `Draft`, which the pipeline cites exactly as `ask` does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from indexer.kernel.models import REFUSAL_TOKEN, Draft, Passage
from service.answering.base import Answerer, word_deltas
from service.citing.stream_filter import filter_markers


def draft_from_text(text: str) -> Draft:
    """A generated reply as a draft: the same reading for a whole reply and a streamed one."""
    text = text.strip()
    return Draft(text=text, answerable=bool(text) and not text.startswith(REFUSAL_TOKEN))


def streams_tokens(answerer: Answerer) -> bool:
    return bool(getattr(answerer, "streams_tokens", False))


def draft_stream(
    answerer: Answerer, question: str, passages: Sequence[Passage]
) -> Iterator[str | Draft]:
    """Text deltas to show, then (last) the `Draft` that `ask` would have cited."""
    numbers = [p.n for p in passages]
    if not streams_tokens(answerer):
        draft = answerer.answer(question, passages)
        yield from filter_markers(word_deltas(draft.text), numbers)
        yield draft
        return
    raw: list[str] = []

    def collected() -> Iterator[str]:
        for delta in answerer.stream(question, passages):
            raw.append(delta)
            yield delta

    yield from filter_markers(collected(), numbers)
    finish = getattr(answerer, "finish", None)  # a reader that decides from more than the text
    yield (
        finish(question, passages, "".join(raw))
        if callable(finish)
        else draft_from_text("".join(raw))
    )
