"""A list that runs past the end of its passage.

Chunks are cut by length, not by meaning, so "... in the following ways: Firstly, ..." often ends
a chunk whose "Secondly" and "Thirdly" sit in the next one, which the retriever need not return:
the question names the list's subject, not each item's words. For a question that asks for a list,
a retrieved passage that opens or holds a list (an introduction, an ordinal or a bullet item)
brings the chunk that follows it in its file, and that chunk the next while it holds items, at
most `MAX_EXTRA` per question, after the retrieved ones. `service.answering.enumeration` then
finds the items in them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from indexer.chunking import chunk_id
from indexer.kernel.models import Chunk, Passage
from indexer.sentence_vectors import sentence_spans
from service.answering.enumeration import introduces_list, is_bullet, ordinal
from service.answering.evidence import prepare_question

Fetch = Callable[[Sequence[str]], list[Chunk]]
MAX_EXTRA = 3  # chunks added to one question's passages


def _texts(chunk: Chunk) -> list[str]:
    return [chunk.text[a:b] for a, b in chunk.sentences or sentence_spans(chunk.text)]


def opens_list(chunk: Chunk) -> bool:
    return any(introduces_list(t) or holds_item(t) for t in _texts(chunk))


def holds_item(text: str) -> bool:
    return ordinal(text) is not None or is_bullet(text)


class ListContinuation:
    """Adds to a list question's passages the chunks its lists run on into."""

    def __init__(self, fetch: Fetch, max_extra: int = MAX_EXTRA) -> None:
        self._fetch = fetch
        self._max_extra = max_extra

    def __call__(self, question: str, passages: list[Passage]) -> list[Passage]:
        if not passages or not prepare_question(question).listy:
            return passages
        have = {p.chunk.id for p in passages}
        out = list(passages)
        queue = [p for p in passages if opens_list(p.chunk)]
        while queue and len(out) - len(passages) < self._max_extra:
            passage = queue.pop(0)
            chunk = passage.chunk
            wanted = chunk_id(chunk.source, chunk.doc_hash, chunk.chunk_index + 1)
            if wanted in have:
                continue
            have.add(wanted)
            found = [c for c in self._fetch([wanted]) if c.id == wanted]
            if not found:
                continue
            # Read as part of the passage it continues: the same retrieval score.
            extra = Passage(n=len(out) + 1, chunk=found[0], score=passage.score)
            out.append(extra)
            if any(holds_item(t) for t in _texts(extra.chunk)):
                queue.insert(0, extra)
        return out
