"""Eval additions for LLM answerers: the cited sentence holds the fact, `--answerer`, `--style`,
`--limit` (fixed sample)."""

from __future__ import annotations

import pytest

from evals.cli import ANSWERERS, _subset
from evals.metrics import facts_cited
from evals.schema import load_gold
from indexer.kernel.settings import Settings
from tests.conftest import REPO_ROOT

FACTS = [["16", "sixteen"], ["28"]]


def test_a_fact_counts_as_cited_only_when_its_sentence_cites_a_quote_holding_it() -> None:
    quotes = {1: "Huawei has 16 R&D centers.", 2: "It has 28 joint centers."}
    assert facts_cited(FACTS, "Huawei has 16 R&D centers [1]. It has 28 [2].", quotes) == (2, 2)
    assert facts_cited(FACTS, "Huawei has 16 R&D centers [2]. It has 28 [2].", quotes) == (2, 1)
    assert facts_cited(FACTS, "Huawei has 16 R&D centers.", quotes) == (1, 0)  # no marker
    assert facts_cited(FACTS, "Nothing here [1].", quotes) == (0, 0)  # none stated
    quoted = "Huawei has 16 R&D centers. [1] It has 28 joint centers. [2]"  # extractive style
    assert facts_cited(FACTS, quoted, quotes) == (2, 2)


def test_answerer_choices_are_valid_settings() -> None:
    for name, update in ANSWERERS.items():
        settings = Settings().model_copy(update=update)
        Settings.model_validate(settings.model_dump())  # every value is a valid setting
        assert settings.resolved_answerer in ("extractive", "openai", "local"), name


@pytest.mark.parametrize("style", ["original", "paraphrase"])
def test_style_and_limit_pick_a_fixed_sample(style: str) -> None:
    gold = load_gold(REPO_ROOT / "evals" / "gold.yaml")
    one = _subset(gold, style, 10)
    assert len(one.questions) == 10 and {q.style for q in one.questions} == {style}
    assert [q.id for q in one.questions] == [q.id for q in _subset(gold, style, 10).questions]
    assert len(_subset(gold, None, None).questions) == len(gold.questions)
