"""The extractive answerer over seeds/: answers the seed questions with the right sentence, cites
it verbatim, abstains on questions the articles do not answer, and is deterministic."""

from __future__ import annotations

import dataclasses

import pytest

from indexer.kernel.models import NOT_FOUND_MESSAGE, Answer
from service.answering.extractive import ExtractiveAnswerer
from service.events import FinalEvent, TokenEvent
from service.pipeline import Pipeline
from tests.conftest import SEEDS_DIR

HUAWEI, GIC, CISCE, HAIER = (
    "000_036ae5c0f0d48a4b.txt",
    "001_70ce82c261bb06ec.txt",
    "002_94c265289fa83bff.txt",
    "003_85cac0987b05356f.txt",
)

ANSWERABLE = [
    ("How many R&D centers does Huawei have?", HUAWEI, "16 R&D centers"),
    ("How many joint-innovation centers does Huawei have?", HUAWEI, "28 joint-innovation centers"),
    ("Where did Ken Hu speak at the APEC Business Leader Dialog forum?", HUAWEI, "Qingdao"),
    ("What is a Global Innovation Chain?", GIC, "networked system"),
    ("What does cost sharing mean in GICs?", GIC, "financial burden of R&D"),
    ("Which company did BYD negotiate with to build a battery factory in South Korea?", CISCE,
     "KG Mobility"),
    ("What inspired Huawei's strategic principle of maximizing internal potential while sharing "
     "benefits with others?", CISCE, "Dujiangyan"),
    ("Who is the founder of Harvard University's Growth Lab?", CISCE, "Ricardo Hausmann"),
    ("When will the first China International Supply Chain Expo take place?", CISCE,
     "November 28 to December 2"),
    ("What was Haier Group's operating income in 2018?", HAIER, "266.1 billion"),
    ("How much ecological income did Haier achieve in 2018?", HAIER, "15.1 billion"),
    ("When did Haier acquire GE's home appliance division?", HAIER, "In 2016"),
    ("What refrigerator did Haier launch in India?", HAIER, "no-bend refrigerator"),
    ("How many robes can Haier's washing machine in Pakistan wash?", HAIER, "32 robes"),
    ("How tall is the refrigerator Haier designed for Russia?", HAIER, "2-meter high refrigerator"),
    ("Who is the Chairman and CEO of Haier Group?", HAIER, "Zhang Ruimin, Chairman and CEO"),
    ("What award did Zhang Ruimin receive at the 2019 Forbes China Leadership Forum?", HAIER,
     "Lifetime Achievement Award"),
    ("What percentage of local consumers in India are vegetarians?", HAIER, "Over 70%"),
    ("Which brand list in 2019 first included the category of IoT ecological brands?", HAIER,
     "BrandZ"),
]  # fmt: skip

UNANSWERABLE = [
    "What is the capital of Australia?",
    "How many employees does Haier have?",
    "What was Huawei's revenue in 2020?",
    pytest.param(
        "Who is the CEO of BYD?",
        marks=pytest.mark.xfail(
            strict=True,
            reason="known limit: a BYD sentence naming another "
            "firm's people passes for a 'who' answer (docs/answering.md)",
        ),
    ),
    "How many R&D centers does Haier have?",
    "When was Huawei founded?",
    "How many cars did BYD sell in 2023?",
    "What is the population of Qingdao?",
    "Who won the 2018 FIFA World Cup?",
    "How much did Haier pay to acquire GE's home appliance division?",
]


def _quotes_verbatim(answer: Answer) -> None:
    for c in answer.citations:
        text = (SEEDS_DIR / c.source).read_text(encoding="utf-8")
        assert text[c.char_start : c.char_end] == c.quote
        lines = text.split("\n")
        assert c.quote.split("\n")[0] in lines[c.line_start - 1]


@pytest.mark.parametrize(
    ("question", "source", "fact"), ANSWERABLE, ids=[q for q, _, _ in ANSWERABLE]
)
def test_seed_questions_are_answered_from_the_right_sentence(
    real_pipeline: Pipeline, question: str, source: str, fact: str
) -> None:
    answer = real_pipeline.ask(question)
    assert answer.answerable, answer.answer
    assert answer.answerer == "extractive"
    assert fact in answer.answer
    assert any(c.source == source and fact in c.quote for c in answer.citations)
    assert 1 <= len(answer.citations) <= 3
    _quotes_verbatim(answer)
    # Every citation's marker is in the text, right after its sentence.
    for c in answer.citations:
        assert f"[{c.n}]" in answer.answer


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_questions_the_articles_do_not_answer_abstain(
    real_pipeline: Pipeline, question: str
) -> None:
    answer = real_pipeline.ask(question)
    assert (answer.answerable, answer.answer, answer.citations) == (False, NOT_FOUND_MESSAGE, [])
    assert answer.passages  # retrieval found something; the answerer judged it insufficient


def test_rd_centers_answer_cites_line_16(seed_pipeline: Pipeline) -> None:
    answer = seed_pipeline.ask("How many R&D centers does Huawei have?")
    (c,) = [c for c in answer.citations if "16 R&D centers" in c.quote]
    assert (c.source, c.line_start, c.line_end) == (HUAWEI, 16, 16)
    assert c.quote.startswith("At present, Huawei has 16 R&D centers")


def test_deterministic_across_runs_and_instances(seed_pipeline: Pipeline) -> None:
    q = "How many robes can Haier's washing machine in Pakistan wash?"
    first = seed_pipeline.ask(q)
    fresh = ExtractiveAnswerer(seed_pipeline.embedder)
    passages = first.passages
    assert fresh.answer(q, passages) == seed_pipeline.answerer.answer(q, passages)
    again = seed_pipeline.ask(q)
    assert (again.answer, again.citations) == (first.answer, first.citations)


def test_a_swapped_in_scorer_decides_the_answer(seed_pipeline: Pipeline) -> None:
    """Cross-validation (`benchmarks/reader_squad.py`) swaps the scorer per article: the swap
    must reach the answer, not a cached model."""
    q = "How many R&D centers does Huawei have?"
    passages = seed_pipeline.search(q)
    answerer = ExtractiveAnswerer(seed_pipeline.embedder)
    assert answerer.answer(q, passages).answerable
    shipped = answerer.model
    answerer.model = dataclasses.replace(shipped, intercept=shipped.intercept - 50.0)
    assert not answerer.answer(q, passages).answerable
    answerer.model = shipped
    assert answerer.answer(q, passages).answerable


def test_stream_yields_the_same_answer_in_word_deltas(seed_pipeline: Pipeline) -> None:
    q = "What refrigerator did Haier launch in India?"
    events = list(seed_pipeline.stream_ask(q))
    assert [events[0].type, events[-2].type, events[-1].type] == ["passages", "final", "done"]
    tokens = [e.text for e in events if isinstance(e, TokenEvent)]
    assert len(tokens) > 5
    final = events[-2]
    assert isinstance(final, FinalEvent)
    assert final.answer == "".join(tokens) == seed_pipeline.ask(q).answer
    assert final.citations == seed_pipeline.ask(q).citations


def test_empty_passages_abstain(seed_pipeline: Pipeline) -> None:
    draft = ExtractiveAnswerer(seed_pipeline.embedder).answer(
        "How many R&D centers does Huawei have?", []
    )
    assert not draft.answerable and draft.text == NOT_FOUND_MESSAGE
