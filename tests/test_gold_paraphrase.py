"""The `style` field of gold questions and the paraphrase rule (no 4 words copied from evidence)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from evals.schema import GoldFileError, copied_words, load_gold, parse_gold
from tests.conftest import REPO_ROOT, SEEDS_DIR

GOLD = REPO_ROOT / "evals" / "gold.yaml"
ARTICLE = (
    "Acme Corp. was founded in 1990 by Jane Roe. It runs 12 research labs in five countries.\n"
    "The company sells “smart” kettles.\n"
)


def _gold(question: str, style: str | None, facts: str = '["12"]') -> str:
    style_line = f"    style: {style}\n" if style else ""
    return (
        "questions:\n"
        "  - id: q-copy\n"
        f"    question: {question}\n"
        f"{style_line}"
        "    gold_sources: [acme.txt]\n"
        f"    key_facts: [{facts}]\n"
    )


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    (tmp_path / "acme.txt").write_text(ARTICLE, encoding="utf-8")
    return tmp_path


def test_committed_gold_set_passes_the_paraphrase_rule() -> None:
    gold = load_gold(GOLD)
    gold.check_sources(SEEDS_DIR)  # runs check_paraphrases too
    gold.check_paraphrases(SEEDS_DIR)
    para = [q for q in gold.questions if q.style == "paraphrase"]
    assert sum(q.answerable for q in para) >= 48
    assert sum(not q.answerable for q in para) >= 10
    per_file = Counter(s for q in para if q.answerable for s in q.gold_sources)
    assert set(per_file) == {p.name for p in SEEDS_DIR.glob("*.txt")}
    assert min(per_file.values()) >= 10
    types = Counter(q.type for q in para)
    assert {"fact", "list", "why_how", "comparison", "near_miss", "off_topic"} <= set(types)


def test_paraphrase_copying_four_words_is_rejected(corpus: Path) -> None:
    gold = parse_gold(_gold("How many RESEARCH labs, in five countries?", "paraphrase"), "g.yaml")
    with pytest.raises(GoldFileError) as err:
        gold.check_sources(corpus)
    assert "g.yaml: question 'q-copy'" in err.value.message
    assert "'research labs in five'" in err.value.message


def test_copy_is_only_checked_against_evidence_sentences(corpus: Path) -> None:
    # "was founded in 1990" is in the article but not in the sentence stating the key fact (12)
    gold = parse_gold(_gold("Acme was founded in 1990; how many labs?", "paraphrase"), "g.yaml")
    gold.check_sources(corpus)
    # ...but it is evidence once a key fact lives in that sentence
    gold = parse_gold(
        _gold("Acme was founded in 1990; by whom?", "paraphrase", '["Jane Roe"]'), "g.yaml"
    )
    with pytest.raises(GoldFileError, match="'was founded in 1990'"):
        gold.check_sources(corpus)


def test_three_copied_words_are_fine(corpus: Path) -> None:
    gold = parse_gold(_gold("How many research labs does Acme operate?", "paraphrase"), "g.yaml")
    gold.check_sources(corpus)


def test_original_style_may_copy_words(corpus: Path) -> None:
    for style in ("original", None):
        gold = parse_gold(_gold("It runs 12 research labs in five countries?", style), "g.yaml")
        gold.check_sources(corpus)


def test_style_defaults_to_original() -> None:
    gold = parse_gold(_gold("How many labs?", None), "g.yaml")
    assert gold.questions[0].style == "original"


def test_unknown_style_is_rejected() -> None:
    with pytest.raises(GoldFileError, match=r"g\.yaml:2: question 'q-copy': style: Input should"):
        parse_gold(_gold("How many labs?", "casual"), "g.yaml")


def test_copied_words_normalises_case_and_punctuation() -> None:
    evidence = ["Huawei has 16 R&D centers in resource-rich locations."]
    assert copied_words("how many r-d CENTERS in resource rich places?", evidence) == (
        "r d centers in"  # "R&D" is two words once normalised, like in key facts
    )
    assert copied_words("how many research centres in resource rich places?", evidence) is None
    assert copied_words("Which “smart” kettles are sold?", ["sells smart kettles."]) is None
    assert copied_words("a b c", ["a b c"]) is None  # shorter than 4 words
