"""`citeline ask` in-process: the --json shape is exactly /v1/ask's; errors are one line, exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from indexer.kernel.settings import Settings, override_settings
from service import cli
from service import pipeline as pipeline_module
from service.pipeline import Pipeline
from tests.conftest import SEEDS_DIR

QUESTION = "How many R&D centers does Huawei have?"
ASK_KEYS = {"answer", "answerable", "citations", "passages", "answerer", "timings_ms"}

runner = CliRunner()


@pytest.fixture
def seeded(monkeypatch: pytest.MonkeyPatch, seed_pipeline: Pipeline) -> Pipeline:
    monkeypatch.setattr(pipeline_module, "build_pipeline", lambda settings: seed_pipeline)
    return seed_pipeline


def test_ask_json_has_the_api_shape(seeded: Pipeline) -> None:
    result = runner.invoke(cli.app, ["ask", QUESTION, "--json", "--top-k", "3"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert set(body) == ASK_KEYS
    assert body["answerable"] and len(body["passages"]) == 3
    for c in body["citations"]:
        text = (SEEDS_DIR / c["source"]).read_text(encoding="utf-8")
        assert text[c["char_start"] : c["char_end"]] == c["quote"]
    assert set(body["passages"][0]) == {"n", "source", "title", "text", "score", "char_start",
                                        "char_end", "line_start", "line_end"}  # fmt: skip


def test_ask_prints_answer_source_lines_and_quote(seeded: Pipeline) -> None:
    result = runner.invoke(cli.app, ["ask", QUESTION], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "16 R&D centers" in out
    assert "000_036ae5c0f0d48a4b.txt, lines 16-16" in out
    assert "“At present, Huawei has 16 R&D centers" in out


def test_ask_unanswerable_is_not_an_error(seeded: Pipeline) -> None:
    result = runner.invoke(cli.app, ["ask", "What is the capital of Australia?", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["answerable"] is False


def test_invalid_question_is_one_line_on_stderr(seeded: Pipeline) -> None:
    result = runner.invoke(cli.app, ["ask", "   "])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "question must not be empty" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    override_settings(Settings(corpus_dir=SEEDS_DIR, data_dir=tmp_path / "none", embedder="fake"))
    result = runner.invoke(cli.app, ["ask", QUESTION], env={"COLUMNS": "300"})
    assert result.exit_code == 1
    assert "index" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_index_then_ask_with_the_real_store(tmp_path: Path) -> None:
    if "index" not in {c.name for c in cli.app.registered_commands}:
        pytest.skip("indexer.cli not written yet")
    override_settings(Settings(corpus_dir=SEEDS_DIR, data_dir=tmp_path / "data", embedder="fake"))
    indexed = runner.invoke(cli.app, ["index", str(SEEDS_DIR), "--quiet"])
    assert indexed.exit_code == 0, indexed.output
    result = runner.invoke(cli.app, ["ask", QUESTION, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert set(body) == ASK_KEYS and body["passages"]
    for c in body["citations"]:
        text = (SEEDS_DIR / c["source"]).read_text(encoding="utf-8")
        assert text[c["char_start"] : c["char_end"]] == c["quote"]


def test_source_may_be_a_path_into_the_corpus(
    seeded: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#24: `--source seeds/000_x.txt` (from the repo root) means the corpus file `000_x.txt`."""
    monkeypatch.chdir(SEEDS_DIR.parent)
    override_settings(Settings(corpus_dir=SEEDS_DIR))
    name = "000_036ae5c0f0d48a4b.txt"
    result = runner.invoke(cli.app, ["ask", QUESTION, "--json", "--source", f"seeds/{name}"])
    assert result.exit_code == 0, result.output
    assert {p["source"] for p in json.loads(result.stdout)["passages"]} == {name}


def test_lone_surrogate_argument_is_bad_input(seeded: Pipeline) -> None:
    """#8: `citeline ask $'\\xff'` arrives as a lone surrogate: one line, exit 1, no 502."""
    result = runner.invoke(cli.app, ["ask", "Huawei \udcff?"])
    assert result.exit_code == 1 and "not valid Unicode" in result.output
