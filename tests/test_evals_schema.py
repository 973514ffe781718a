"""Gold file validation, the committed gold set's coverage, and quote validity checks."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from evals.metrics import phrase_in
from evals.quotes import CorpusFiles, quote_problem
from evals.schema import load_gold, parse_gold
from indexer.kernel.errors import GoldFileError
from indexer.kernel.models import Citation
from tests.conftest import REPO_ROOT, SEEDS_DIR

GOLD = REPO_ROOT / "evals" / "gold.yaml"


def test_committed_gold_set_meets_requirements() -> None:
    gold = load_gold(GOLD)
    gold.check_sources(SEEDS_DIR)
    assert len(gold.answerable) >= 40
    assert len(gold.unanswerable) >= 12
    per_file = Counter(s for q in gold.answerable for s in q.gold_sources)
    assert set(per_file) == {p.name for p in SEEDS_DIR.glob("*.txt")}
    assert min(per_file.values()) >= 8
    types = Counter(q.type for q in gold.questions)
    assert types["comparison"] >= 3 and types["list"] >= 3 and types["why_how"] >= 3
    assert types["near_miss"] >= 8 and types["off_topic"] >= 3


def test_every_key_fact_is_stated_in_a_gold_source() -> None:
    """A key fact the documents never state would make a question impossible to pass."""
    gold = load_gold(GOLD)
    for q in gold.answerable:
        text = "\n".join((SEEDS_DIR / s).read_text(encoding="utf-8") for s in q.gold_sources)
        for fact in q.key_facts:
            assert any(phrase_in(p, text) for p in fact), (q.id, fact)
        if q.type == "comparison":  # each gold source must contribute something
            for s in q.gold_sources:
                own = (SEEDS_DIR / s).read_text(encoding="utf-8")
                assert any(phrase_in(p, own) for f in q.key_facts for p in f), (q.id, s)


GOOD = """\
version: 1
questions:
  - id: q1
    question: How many R&D centers?
    gold_sources: [a.txt]
    key_facts: [["16", "sixteen"], "R&D"]
  - id: q2
    question: Capital of Australia?
    answerable: false
    type: off_topic
"""


def test_parse_good_file_with_bare_string_fact() -> None:
    gold = parse_gold(GOOD, "g.yaml")
    assert [q.id for q in gold.questions] == ["q1", "q2"]
    assert gold.questions[0].key_facts == [["16", "sixteen"], ["R&D"]]
    assert gold.questions[0].type == "fact"
    assert [q.id for q in gold.unanswerable] == ["q2"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("questions:\n  - id: a\n\tquestion: x\n", "g.yaml:3:1: not valid YAML: found character"),
        ("- just a list\n", "expected a mapping with a `questions:` list"),
        ("version: 2\nquestions: []\n", "unsupported version"),
        ("questions: []\n", "is empty"),
        (
            "questions:\n  - id: ok\n    question: Q?\n    gold_sources: [a.txt]\n"
            "    key_facts: [[x]]\n  - id: bad\n    question: Q?\n    gold_sources: [a.txt]\n",
            "g.yaml:6: question 'bad': Value error, answerable questions need at least one key",
        ),
        (
            "questions:\n  - id: na\n    question: Q?\n    answerable: false\n    type: near_miss\n"
            "    gold_sources: [a.txt]\n",
            "question 'na': Value error, unanswerable questions take no gold_sources",
        ),
        (
            "questions:\n  - id: c\n    question: Q?\n    type: comparison\n"
            "    gold_sources: [a.txt]\n    key_facts: [[x]]\n",
            "comparison questions need two or more gold_sources",
        ),
        (
            "questions:\n  - id: t\n    question: Q?\n    type: trivia\n"
            "    gold_sources: [a.txt]\n    key_facts: [[x]]\n",
            "question 't': type: Input should be",
        ),
        (
            "questions:\n  - id: has space\n    question: Q?\n    gold_sources: [a]\n"
            "    key_facts: [[x]]\n    colour: red\n",
            "colour: Extra inputs are not permitted",
        ),
        (
            "questions:\n  - id: p\n    question: Q?\n    gold_sources: [a]\n"
            "    key_facts: [['!!']]\n",
            "empty after normalisation",
        ),
    ],
)
def test_bad_gold_files_give_located_errors(text: str, expected: str) -> None:
    with pytest.raises(GoldFileError) as info:
        parse_gold(text, "g.yaml")
    assert expected in info.value.message


def test_all_problems_reported_at_once_including_duplicates() -> None:
    text = GOOD + "  - id: q1\n    question: again\n    answerable: false\n    type: off_topic\n"
    text += "  - id: q3\n    question: ''\n    answerable: false\n    type: off_topic\n"
    with pytest.raises(GoldFileError) as info:
        parse_gold(text, "g.yaml")
    msg = info.value.message
    assert "g.yaml:11: question 'q1': duplicate id (first at line 3)" in msg
    assert "g.yaml:15: question 'q3': question:" in msg


def test_missing_file_and_unknown_gold_source(tmp_path: Path) -> None:
    with pytest.raises(GoldFileError, match="cannot read gold file"):
        load_gold(tmp_path / "nope.yaml")
    gold = parse_gold(GOOD.replace("a.txt", "typo.txt"), "g.yaml")
    with pytest.raises(GoldFileError, match=r"gold source 'typo\.txt' is not a file"):
        gold.check_sources(SEEDS_DIR)


def _cite(source: str, start: int, end: int, quote: str, lines: tuple[int, int]) -> Citation:
    return Citation(n=1, source=source, title="t", line_start=lines[0], line_end=lines[1],
                    char_start=start, char_end=end, quote=quote, score=0.5)  # fmt: skip


def test_quote_validity(tmp_path: Path) -> None:
    (tmp_path / "doc.txt").write_text("first line\nHuawei has 16 R&D centers.\nlast\n", "utf-8")
    (tmp_path.parent / "secret.txt").write_text("Huawei", "utf-8")
    corpus = CorpusFiles(tmp_path)
    quote = "Huawei has 16 R&D centers."
    start = 11
    assert quote_problem(_cite("doc.txt", start, start + len(quote), quote, (2, 2)), corpus) is None
    assert quote_problem(_cite("doc.txt", start, start + 6, "Huawei", (1, 3)), corpus) is None
    moved = quote_problem(_cite("doc.txt", 0, 6, "Huawei", (1, 1)), corpus)
    assert moved is not None and "not at chars 0-6" in moved
    made_up = quote_problem(_cite("doc.txt", 0, 6, "Haier!", (1, 1)), corpus)
    assert made_up is not None and "not found verbatim" in made_up
    lines = quote_problem(_cite("doc.txt", start, start + 6, "Huawei", (1, 1)), corpus)
    assert lines is not None and "do not cover" in lines
    escape = quote_problem(_cite("../secret.txt", 0, 6, "Huawei", (1, 1)), corpus)
    assert escape is not None and "not a readable file" in escape


def test_quote_offsets_index_crlf_and_bom_files_as_stored(tmp_path: Path) -> None:
    (tmp_path / "w.txt").write_bytes(b"\xef\xbb\xbfone\r\ntwo words\r\nthree")
    corpus = CorpusFiles(tmp_path)
    assert quote_problem(_cite("w.txt", 6, 15, "two words", (2, 2)), corpus) is None  # as stored
    assert "not at chars" in str(quote_problem(_cite("w.txt", 4, 13, "two words", (2, 2)), corpus))
    # A span over a line break reads `\n` where the file has `\r\n`.
    assert quote_problem(_cite("w.txt", 10, 22, "words\nthree", (2, 3)), corpus) is None
