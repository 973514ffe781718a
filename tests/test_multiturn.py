"""Multi-turn: follow-ups become standalone questions before retrieval.

The condenser is `service/answering/condense.py`.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

from indexer.kernel.settings import Settings
from service.answering.condense import (
    HeuristicCondenser,
    LLMCondenser,
    Turn,
    build_condenser,
    names,
)
from tests.conftest import SEEDS_DIR


def _turns(*questions: str) -> list[Turn]:
    turns: list[Turn] = []
    for q in questions:
        turns += [Turn("user", q), Turn("assistant", "an earlier answer [1]")]
    return turns[:-1]


def test_names_skip_grammar_words() -> None:
    assert names("How many R&D centers does Huawei have?") == ["R&D", "Huawei"]
    assert names("What is BYD's battery factory in South Korea?") == ["BYD", "South", "Korea"]
    assert names("how does it work") == []


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        # elliptical follow-up: the earlier question's entities are carried in
        (
            ("How many R&D centers does Huawei have?", "and how many joint-innovation centers?"),
            "How many joint-innovation centers (R&D, Huawei)?",
        ),
        # "what about X?": same question, new subject
        (
            ("How many R&D centers does Huawei have?", "what about Haier?"),
            "How many R&D centers does Haier have?",
        ),
        # pronoun resolved to the last-named entity
        (
            ("Tell me about BYD.", "Where did it build a battery factory?"),
            "Where did BYD build a battery factory?",
        ),
        # a follow-up that names its own subject is left alone
        (
            ("How many R&D centers does Huawei have?", "How does Haier localize R&D?"),
            "How does Haier localize R&D?",
        ),
        # first turn: nothing to resolve
        (("How many R&D centers does Huawei have?",), "How many R&D centers does Huawei have?"),
    ],
)
def test_heuristic_rewrites(history: tuple[str, ...], expected: str) -> None:
    assert HeuristicCondenser().condense(_turns(*history)) == expected


def test_heuristic_uses_most_recent_named_question() -> None:
    turns = _turns("What does BYD make?", "How many R&D centers does Huawei have?", "and why?")
    assert HeuristicCondenser().condense(turns) == "Why (R&D, Huawei)?"


def test_system_turns_are_ignored() -> None:
    turns = [Turn("system", "Be brief. Huawei is great."), *_turns("and how many centers?")]
    assert HeuristicCondenser().condense(turns) == "and how many centers?"


def test_llm_condenser_rewrites_over_the_openai_wire() -> None:
    from tests.fake_openai import fake_openai

    with fake_openai(reply="How many joint-innovation centers does Huawei have?\n") as fake:
        condenser = LLMCondenser(Settings(llm_base_url=fake.base_url, llm_model="m"))
        # A first question needs no rewrite: no LLM call at all.
        assert condenser.condense(_turns("How many R&D centers?")) == "How many R&D centers?"
        assert fake.requests == []
        turns = _turns("How many R&D centers does Huawei have?", "and joint-innovation ones?")
        assert condenser.condense(turns) == "How many joint-innovation centers does Huawei have?"
    assert len(fake.requests) == 1 and fake.requests[0]["model"] == "m"
    assert "user: How many R&D centers does Huawei have?" in fake.prompt()
    assert "user: and joint-innovation ones?" in fake.prompt()


def test_llm_condenser_falls_back_to_the_heuristic() -> None:
    from tests.fake_openai import fake_openai

    with fake_openai(status=500) as fake:
        condenser = LLMCondenser(Settings(llm_base_url=fake.base_url))
        turns = _turns("How many R&D centers does Huawei have?", "what about Haier?")
        assert condenser.condense(turns) == "How many R&D centers does Haier have?"
    assert len(fake.requests) == 1


def test_build_condenser_follows_the_answerer() -> None:
    assert isinstance(build_condenser(Settings()), HeuristicCondenser)
    assert isinstance(build_condenser(Settings(llm_base_url="http://127.0.0.1:9/v1")), LLMCondenser)


@pytest.mark.slow
def test_follow_up_through_the_endpoint_answers_28(seed_pipeline: Any) -> None:
    """Real pipeline (extractive answerer over seeds/) behind real uvicorn, official client."""
    from service.http.app import create_app
    from tests.browser import serve

    settings = Settings(corpus_dir=SEEDS_DIR)
    with serve(create_app(settings, seed_pipeline)) as base:
        client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)
        first = client.chat.completions.create(
            model="citeline",
            messages=[{"role": "user", "content": "How many R&D centers does Huawei have?"}],
        )
        stream = client.chat.completions.create(
            model="citeline",
            messages=[
                {"role": "user", "content": "How many R&D centers does Huawei have?"},
                {"role": "assistant", "content": first.choices[0].message.content or ""},
                {"role": "user", "content": "and how many joint-innovation centers?"},
            ],
            stream=True,
        )
        chunks = list(stream)
    assert "16 R&D centers" in (first.choices[0].message.content or "")
    ext = (chunks[-1].model_extra or {})["citeline"]
    assert "Huawei" in ext["standalone_question"]
    assert ext["answerable"] is True and "28 joint-innovation centers" in ext["answer"]
    assert ext["citations"][0]["source"] == "000_036ae5c0f0d48a4b.txt"
    assert ext["citations"][0]["line_start"] == 16
