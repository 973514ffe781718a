"""Citation markers, sentence spans and verification: unit and property tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.kernel.models import NOT_FOUND_MESSAGE, Chunk, Draft, DraftQuote, Passage
from indexer.text.sentences import split_sentences
from service.answering.base import word_deltas
from service.citing.citer import Citer
from service.citing.markers import neutralize_markers, parse_markers
from service.citing.stream_filter import MarkerFilter
from tests.conftest import SEEDS_DIR, seed_paragraph_chunks

CHUNKS = seed_paragraph_chunks()
HUAWEI = next(c for c in CHUNKS if "16 R&D centers" in c.text)


def passages(n: int = 5) -> list[Passage]:
    others = [c for c in CHUNKS if c.id != HUAWEI.id]
    return [
        Passage(n=i + 1, chunk=c, score=1.0 - i / 10) for i, c in enumerate([HUAWEI, *others][:n])
    ]


def file_text(source: str) -> str:
    return (SEEDS_DIR / source).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("a [1] b", [(1,)]),
        ("a [1, 2] b", [(1, 2)]),
        ("a [1][2]", [(1,), (2,)]),
        ("a [2-4]", [(2, 3, 4)]),
        ("a [ 3 ,3 ]", [(3,)]),
        ("a [4-2] b [1-40]", [(), ()]),  # reversed or too long ranges are dropped
        ("no markers [x] [] (1)", []),
    ],
)
def test_parse_markers(text: str, numbers: list[tuple[int, ...]]) -> None:
    assert [m.numbers for m in parse_markers(text)] == numbers


def test_neutralize_markers_keeps_other_brackets() -> None:
    assert neutralize_markers("see [3] and [a] and [1, 2]") == "see (3) and [a] and (1, 2)"


def test_llm_claim_gets_best_sentence_of_its_passage() -> None:
    draft = Draft(text="Huawei runs 28 joint-innovation centers [1].", answerable=True)
    cited = Citer(SEEDS_DIR).cite(draft, passages())
    assert cited.answerable and cited.answer == draft.text
    (c,) = cited.citations
    assert "28 joint-innovation centers" in c.quote
    assert file_text(c.source)[c.char_start : c.char_end] == c.quote
    assert (c.line_start, c.line_end, c.n) == (16, 16, 1)


def test_marker_beyond_the_passages_is_dropped_from_text_and_citations() -> None:
    draft = Draft(text="Huawei has 16 R&D centers [1, 9]. Pandas are bears [9].", answerable=True)
    cited = Citer(SEEDS_DIR).cite(draft, passages(5))
    assert cited.answer == "Huawei has 16 R&D centers [1]."  # the uncited claim goes too
    assert [c.n for c in cited.citations] == [1]


def test_grouped_and_ranged_markers_are_rewritten_as_single_markers() -> None:
    text = "Huawei has 16 R&D centers and partners [1-2]."
    cited = Citer(SEEDS_DIR).cite(Draft(text=text, answerable=True), passages(5))
    assert "[1]" in cited.answer and "[1-2]" not in cited.answer


def test_claim_sharing_no_word_with_the_passage_is_not_cited() -> None:
    draft = Draft(text="Zebras sleep standing [1].", answerable=True)
    cited = Citer(SEEDS_DIR).cite(draft, passages())
    assert (cited.answerable, cited.answer, cited.citations) == (False, NOT_FOUND_MESSAGE, [])


def test_refusal_and_unanswerable_drafts() -> None:
    for draft in (Draft(text="NOT_IN_DOCUMENTS", answerable=True),
                  Draft(text="Huawei [1].", answerable=False)):  # fmt: skip
        assert not Citer(SEEDS_DIR).cite(draft, passages()).answerable


def test_quote_that_disagrees_with_the_indexed_file_is_dropped(tmp_path: Path) -> None:
    """A chunk whose doc_hash is the file's but whose text is not the file's: never cited."""
    tampered = HUAWEI.model_copy(update={"text": HUAWEI.text.replace("16 R&D", "99 R&D")})
    draft = Draft(text="Huawei has 99 R&D centers [1].", answerable=True)
    cited = Citer(SEEDS_DIR).cite(draft, [Passage(n=1, chunk=tampered, score=1.0)])
    assert not cited.answerable and cited.citations == []
    # Without the file to compare against (changed or gone) only the chunk check applies.
    assert Citer(tmp_path).cite(draft, [Passage(n=1, chunk=tampered, score=1.0)]).answerable


def test_source_outside_the_corpus_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("Huawei has 16 R&D centers.", encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = "Huawei has 99 R&D centers."  # disagrees with the file: would be dropped if read
    chunk = Chunk(id="e", source="../secret.txt", title="t", text=text, char_start=0,
                  char_end=len(text), line_start=1, line_end=1, chunk_index=0, content_hash="0",
                  doc_hash=hashlib.sha256(secret.read_bytes()).hexdigest())  # fmt: skip
    draft = Draft(text="Huawei has 99 R&D centers [1].", answerable=True)
    assert Citer(corpus).cite(draft, [Passage(n=1, chunk=chunk, score=1.0)]).answerable


def test_draft_quotes_are_used_verbatim() -> None:
    start = HUAWEI.text.index("At present")
    end = HUAWEI.text.index("world.", start) + len("world.")
    draft = Draft(text=f"{HUAWEI.text[start:end]} [1]", answerable=True,
                  quotes=[DraftQuote(n=1, start=start, end=end)])  # fmt: skip
    (c,) = Citer(SEEDS_DIR).cite(draft, passages()).citations
    assert c.char_start == HUAWEI.char_start + start and c.quote == HUAWEI.text[start:end]


WORDS = st.sampled_from(
    [
        "Huawei",
        "Haier",
        "BYD",
        "has",
        "16",
        "R&D",
        "centers",
        "value",
        "chain",
        "global",
        "innovation",
        "refrigerator",
        "India",
        "the",
        "of",
        "partners",
        "brands",
        "IoT",
        "model",
        "zebra",
        ".",
        ",",
        ";",
        "[",
        "]",
        "-",
        "1",
        "2",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    claims=st.lists(
        st.tuples(
            st.lists(WORDS, min_size=1, max_size=12), st.lists(st.integers(0, 12), max_size=3)
        ),
        min_size=1,
        max_size=5,
    ),
    n_passages=st.integers(1, 5),
)
def test_citations_always_point_inside_passages_and_round_trip(
    claims: list[tuple[list[str], list[int]]], n_passages: int
) -> None:
    text = " ".join(" ".join(words) + "".join(f" [{n}]" for n in ns) + "." for words, ns in claims)
    ps = passages(n_passages)
    cited = Citer(SEEDS_DIR).cite(Draft(text=text, answerable=True), ps)
    by_n = {p.n: p.chunk for p in ps}
    for c in cited.citations:
        assert 1 <= c.n <= n_passages
        chunk = by_n[c.n]
        assert (
            chunk.text[c.char_start - chunk.char_start : c.char_end - chunk.char_start] == c.quote
        )
        assert file_text(c.source)[c.char_start : c.char_end] == c.quote
    shown = {n for m in parse_markers(cited.answer) for n in m.numbers}
    assert shown == {c.n for c in cited.citations}
    assert cited.answerable == bool(cited.citations)


@given(st.text(alphabet=st.sampled_from('ab C.!? \n"”。1'), max_size=120))
def test_sentence_spans_are_trimmed_disjoint_and_cover_all_text(text: str) -> None:
    spans = split_sentences(text)
    covered = [False] * len(text)
    last_end = 0
    for span in spans:
        assert last_end <= span.start < span.end <= len(text)
        piece = span.of(text)
        assert piece == piece.strip()
        # A sentence spans lines only where a line wraps mid-sentence: no closing punctuation
        # before the break, lower case after it.
        for at in [i for i, ch in enumerate(piece) if ch == "\n"]:
            assert piece[at - 1] not in '.!?"”。\n' and piece[at + 1 :].lstrip(" ")[:1].islower()
        for i in range(span.start, span.end):
            covered[i] = True
        last_end = span.end
    assert all(covered[i] or ch.isspace() for i, ch in enumerate(text))


@given(st.text(max_size=200))
def test_word_deltas_concatenate_back(text: str) -> None:
    assert "".join(word_deltas(text)) == text


@settings(max_examples=300)
@given(st.lists(st.text(alphabet=st.sampled_from("a [[1]]9,-x"), max_size=8), max_size=12))
def test_marker_filter_is_split_independent(pieces: list[str]) -> None:
    whole = MarkerFilter({1, 2})
    expected = whole.feed("".join(pieces)) + whole.flush()
    split = MarkerFilter({1, 2})
    got = "".join(split.feed(p) for p in pieces) + split.flush()
    assert got == expected
    assert {n for m in parse_markers(got) for n in m.numbers} <= {1, 2}


@pytest.mark.parametrize(
    ("pieces", "shown"),
    [
        (["Huawei [1", "][9] ok"], "Huawei [1] ok"),
        (["see [a [9", "] and [2, 9]"], "see [a  and [2]"),
        (["[", "1", "-", "3]"], "[1][2]"),
        (["unclosed [9"], "unclosed [9"),  # never a marker: shown as typed at the end
    ],
)
def test_marker_filter_examples(pieces: list[str], shown: str) -> None:
    filt = MarkerFilter({1, 2})
    assert "".join(filt.feed(p) for p in pieces) + filt.flush() == shown
