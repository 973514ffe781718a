"""`benchmarks/llm_latency.py`: each row asks its own questions, so the 4-asker row is never
served from the slot the 1-asker row left warm."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from benchmarks.llm_latency import questions


def test_each_row_asks_distinct_evenly_spaced_paraphrase_questions() -> None:
    gold = yaml.safe_load(Path("evals/gold.yaml").read_text(encoding="utf-8"))["questions"]
    paraphrase = [q["question"] for q in gold if q.get("style") == "paraphrase"]
    one, four = questions(8, 0), questions(8, 1)
    assert len(one) == len(four) == 8
    assert not set(one) & set(four)
    assert set(one) | set(four) <= set(paraphrase)
    positions = sorted(paraphrase.index(q) for q in one + four)
    assert positions[-1] - positions[0] > len(paraphrase) // 2  # spread, not the first sixteen


def test_asking_more_questions_than_the_gold_holds_is_an_error() -> None:
    with pytest.raises(ValueError, match="paraphrase questions held"):
        questions(100, 0)
