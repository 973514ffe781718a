"""Chunk spans: exact round-trip into the document, lines, ids, and the embedder's window."""

from __future__ import annotations

import hashlib
from itertools import pairwise
from pathlib import Path

import tiktoken
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.chunking import Chunker, chunk_id, locate_spans
from indexer.embedding.hashing import HashingEmbedder
from indexer.kernel.models import Chunk
from indexer.loading import Document, load_corpus

ENC = tiktoken.get_encoding("cl100k_base")


def _doc(text: str, source: str = "doc.txt") -> Document:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Document(source=source, title="t", text=text, doc_hash=digest, bytes=len(text))


def _chunker(tokens: int = 200, overlap: int = 40, window: int = 512) -> Chunker:
    fake = HashingEmbedder(max_tokens=window)
    return Chunker(tokens, overlap, "cl100k_base", fake.count_tokens, fake.max_tokens)


def _check_invariants(doc: Document, chunks: list[Chunk]) -> None:
    prev_start = -1
    for i, c in enumerate(chunks):
        assert doc.text[c.char_start : c.char_end] == c.text  # the invariant citations rely on
        assert c.text and c.text == c.text.strip()
        assert c.char_start > prev_start
        prev_start = c.char_start
        assert c.chunk_index == i
        assert c.id == chunk_id(doc.source, doc.doc_hash, i)
        assert c.line_start == doc.text.count("\n", 0, c.char_start) + 1
        assert c.line_end == c.line_start + c.text.count("\n")
        assert c.content_hash == hashlib.sha256(c.text.encode()).hexdigest()
        assert c.doc_hash == doc.doc_hash


def _covered(doc: Document, chunks: list[Chunk]) -> bool:
    """Every non-space character of the document lies inside some chunk."""
    mask = [False] * len(doc.text)
    for c in chunks:
        mask[c.char_start : c.char_end] = [True] * (c.char_end - c.char_start)
    return all(m or ch.isspace() for m, ch in zip(mask, doc.text, strict=True))


def test_seed_chunks_round_trip_cover_the_text_and_overlap(seeds_dir: Path) -> None:
    chunker = _chunker()
    for doc in load_corpus(seeds_dir).documents:
        chunks, max_tokens = chunker.chunk(doc)
        _check_invariants(doc, chunks)
        assert _covered(doc, chunks)
        assert all(len(ENC.encode(c.text)) <= 200 for c in chunks)
        assert max_tokens == max(HashingEmbedder().count_tokens(c.text) for c in chunks)
        assert len({c.id for c in chunks}) == len(chunks)
        if len(chunks) > 2:  # some neighbours share text (overlap), none are identical
            assert any(b.char_start < a.char_end for a, b in pairwise(chunks))


def test_ids_are_deterministic_and_change_with_content() -> None:
    text = "Haier builds fridges. " * 200
    first = _chunker().chunk(_doc(text)).chunks
    again = _chunker().chunk(_doc(text)).chunks
    edited = _chunker().chunk(_doc(text + "One more.")).chunks
    assert [c.id for c in first] == [c.id for c in again]
    assert not {c.id for c in first} & {c.id for c in edited}


def test_repeated_paragraphs_get_their_own_spans() -> None:
    paragraph = "Huawei has 16 R&D centers. They share benefits with partners.\n\n"
    doc = _doc(paragraph * 30)
    chunks = _chunker(tokens=32, overlap=0).chunk(doc).chunks
    _check_invariants(doc, chunks)
    assert _covered(doc, chunks)
    # llama-index's own start_char_idx (str.find from 0) would put them all at offset 0.
    assert len({c.char_start for c in chunks}) == len(chunks) > 10


def test_chunks_over_the_embedder_window_are_split_again() -> None:
    text = "\n\n".join(f"Sentence number {i} talks about global supply chains." for i in range(80))
    doc = _doc(text)
    chunker = _chunker(tokens=400, overlap=50, window=40)
    chunks, max_tokens = chunker.chunk(doc)
    _check_invariants(doc, chunks)
    assert _covered(doc, chunks)
    assert max_tokens <= 40
    assert all(HashingEmbedder().count_tokens(c.text) <= 40 for c in chunks)


def test_text_without_any_boundary_is_halved_until_it_fits() -> None:
    doc = _doc("word-" * 600 + "\n" + "x" * 3000)
    chunks, max_tokens = _chunker(tokens=512, overlap=0, window=30).chunk(doc)
    _check_invariants(doc, chunks)
    assert _covered(doc, chunks)
    assert max_tokens <= 30


def test_pieces_with_changed_whitespace_are_aligned_to_the_document() -> None:
    text = "Alpha beta.\n\n\n\nGamma   delta.\nEpsilon."
    spans = locate_spans(text, ["Alpha beta.\nGamma delta.", "Gamma delta.\nEpsilon.", "zzz"])
    assert [text[s:e] for s, e in spans] == [
        "Alpha beta.\n\n\n\nGamma   delta.",
        "Gamma   delta.\nEpsilon.",
    ]


_words = st.sampled_from(["Haier", "the", "R&D", "中文", "é", "。", "!", "1.5", "naïve", "🙂"])
_sentence = st.lists(_words, min_size=1, max_size=12).map(lambda ws: " ".join(ws) + ".")
_paragraph = st.lists(_sentence, min_size=1, max_size=6).map(" ".join)
_separators = st.sampled_from(["\n", "\n\n", "\n\n\n\n", "  \n \n", " ", "\t"])


@st.composite
def documents(draw: st.DrawFn) -> str:
    paragraphs = draw(st.lists(_paragraph, min_size=1, max_size=6))
    if draw(st.booleans()):  # repeated paragraphs: the duplicate-span trap
        paragraphs = paragraphs * draw(st.integers(2, 4))
    parts = [p + draw(_separators) for p in paragraphs]
    text = "".join(parts)
    if draw(st.booleans()):
        text = text.rstrip()  # no trailing newline
    return draw(st.sampled_from(["", "\n\n", "   "])) + text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=documents())
def test_spans_round_trip_for_structured_text(text: str) -> None:
    doc = _doc(text)
    chunks = _chunker(tokens=32, overlap=8, window=40).chunk(doc).chunks
    _check_invariants(doc, chunks)
    assert _covered(doc, chunks)
    assert chunks or not text.strip()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(min_size=1, max_size=1500))
def test_spans_round_trip_for_arbitrary_unicode(text: str) -> None:
    doc = _doc(text)
    chunks = _chunker(tokens=32, overlap=8, window=60).chunk(doc).chunks
    _check_invariants(doc, chunks)
    assert _covered(doc, chunks)
