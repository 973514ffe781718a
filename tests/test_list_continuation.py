"""A list that runs past its chunk: a list question's passages gain the chunks that follow, read
from the real store, and the answer quotes the items found there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from indexer.chunking import chunk_id
from indexer.kernel.models import Chunk, Passage
from indexer.kernel.settings import Settings
from indexer.sync import sync_corpus
from service.answering.continuation import ListContinuation
from service.pipeline import build_pipeline

INTRO = "Leading firms can share gains and losses with partners in the following ways:"
ITEMS = [
    "Firstly, they should share information openly with every partner in the chain.",
    "Secondly, they should ensure an equitable distribution of benefits among suppliers.",
    "Thirdly, they should set up fair dispute resolution between the members.",
    "Finally, they should build long-term relationships that outlast one product.",
]
FILLER = "This point matters for small suppliers, who have the least pricing power of all."


def _document() -> str:
    body = [f"{INTRO}\n"] + [f"{item} {FILLER} {FILLER}\n" for item in ITEMS]
    other = "Our canteen serves lunch from noon. The menu changes every week.\n" * 3
    return other + "".join(body) + other


def _chunk(index: int, text: str = "x") -> Chunk:
    return Chunk(id=chunk_id("a.txt", "d", index), source="a.txt", title="a", text=text,
                 char_start=0, char_end=len(text), line_start=1, line_end=1, chunk_index=index,
                 content_hash="h", doc_hash="d")  # fmt: skip


def test_only_list_questions_over_passages_holding_a_list_fetch_the_next_chunk() -> None:
    fetched: list[list[str]] = []

    stored = {c.id: c for c in [_chunk(1, "Secondly, more. Thirdly, even more.")]}

    def fetch(ids: Any) -> list[Chunk]:
        fetched.append(list(ids))
        return [stored[i] for i in ids if i in stored]

    expand = ListContinuation(fetch)
    listy = [Passage(n=1, chunk=_chunk(0, f"Intro. {INTRO}"), score=0.5)]
    out = expand("What are the ways firms can share gains?", listy)
    assert [p.chunk.chunk_index for p in out] == [0, 1]
    assert out[1].n == 2 and out[1].score == 0.5
    # Chunk 1 holds items too, so its successor was asked for (the store has none).
    assert fetched == [[chunk_id("a.txt", "d", 1)], [chunk_id("a.txt", "d", 2)]]
    # Not a list question, or no list in the passage: nothing fetched.
    assert expand("Who shares gains?", listy) == listy
    plain = [Passage(n=1, chunk=_chunk(0, "Nothing listed here. Lunch is at noon."), score=0.5)]
    assert expand("What are the ways firms can share gains?", plain) == plain
    assert len(fetched) == 2


def test_the_answer_quotes_items_from_chunks_the_retriever_did_not_return(
    tmp_path: Path, minilm_embedder: Any
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "chains.txt").write_text(_document(), encoding="utf-8")
    settings = Settings(corpus_dir=corpus, data_dir=tmp_path / "data", chunk_tokens=64, top_k=2)
    sync_corpus(settings, corpus, embedder=minilm_embedder, progress=False)
    pipeline = build_pipeline(settings)
    question = "What are the ways leading firms can share gains and losses with partners?"
    retrieved = pipeline.search(question)
    answer = pipeline.ask(question)
    assert len(answer.passages) > len(retrieved)  # the continuation was read
    assert answer.answerable
    quoted = " ".join(c.quote for c in answer.citations)
    found = [item for item in ITEMS if item in quoted]
    assert len(found) >= 3, quoted
    pipeline.expand = None
    without = " ".join(c.quote for c in pipeline.ask(question).citations)
    assert sum(item in without for item in ITEMS) < len(found)
