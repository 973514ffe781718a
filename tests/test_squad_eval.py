"""`citeline eval --squad` end to end on a small SQuAD-format set: the real indexer, embedded
Chroma, MiniLM and the real answerer; the report (JSON + HTML with the curve) is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from evals.cli import EvalOptions, execute
from evals.squad import load_squad
from indexer.kernel.errors import GoldFileError
from indexer.kernel.settings import Settings

pytestmark = pytest.mark.slow

PARAGRAPHS = [
    (
        "Bridges#0",
        "Bridges",
        "The Quux bridge is 300 meters long. It was opened in 1931 by the "
        "city council after nine years of work.",
    ),
    (
        "Bridges#1",
        "Bridges",
        "The Zorp tunnel runs under the river. Engineers dug it with steam "
        "shovels and it carries two railway tracks.",
    ),
    (
        "Birds#0",
        "Birds",
        "Puffins nest in burrows on sea cliffs. They eat small fish such as "
        "sand eels, which they carry crosswise in their beaks.",
    ),
]
QUESTIONS = [
    ("q1", "How long is the Quux bridge?", "Bridges#0", True, ["300 meters"]),
    ("q2", "What do puffins eat?", "Birds#0", True, ["small fish"]),
    ("q3", "How many tracks does the Zorp tunnel carry?", "Bridges#1", True, ["two"]),
    ("q4", "What is the capital of Australia?", "Birds#0", False, []),
]


@pytest.fixture
def squad_dir(tmp_path: Path) -> Path:
    root = tmp_path / "mini-squad"
    root.mkdir()
    (root / "corpus.jsonl").write_text(
        "".join(json.dumps({"doc_id": d, "title": t, "text": x}) + "\n" for d, t, x in PARAGRAPHS)
    )
    (root / "questions.jsonl").write_text(
        "".join(
            json.dumps(
                {
                    "id": i,
                    "question": q,
                    "doc_id": d,
                    "answerable": a,
                    "answers": ans,
                    "plausible_answers": [],
                }
            )
            + "\n"
            for i, q, d, a, ans in QUESTIONS
        )
    )
    return root  # fmt: skip


def test_squad_eval_reports_answering_abstention_and_the_curve(
    squad_dir: Path, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    out = tmp_path / "out"
    code = execute(EvalOptions(squad=squad_dir, out=out, quiet=True), settings=settings,
                   console=Console(quiet=True))  # fmt: skip
    assert code == 0
    report = json.loads((out / "squad-mini-squad.json").read_text())
    metrics = report["metrics"]
    assert report["questions"] == 4 and report["in_sample"] is False
    assert metrics["hit_at_5"] == 1.0
    assert metrics["citation_validity"] == 1.0
    assert metrics["answered_with_gold_span"] >= 2 / 3
    assert metrics["correct_abstention"] == 1.0
    html = (out / "squad-mini-squad.html").read_text()
    assert 'id="squad-curve"' in html and "<polyline" in html


def test_a_question_without_its_paragraph_is_refused(squad_dir: Path) -> None:
    with (squad_dir / "questions.jsonl").open("a") as fh:
        fh.write(json.dumps({"id": "x", "question": "?", "doc_id": "Nope#9",
                             "answerable": False}) + "\n")  # fmt: skip
    with pytest.raises(GoldFileError, match="without their paragraph"):
        load_squad(squad_dir)
