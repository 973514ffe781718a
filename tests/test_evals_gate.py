"""The runner and the quality gate over the committed gold set, with fake pipelines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from evals.cli import EvalOptions, execute
from evals.gate import Thresholds, check_gate, compare_baseline, load_thresholds
from evals.results import EvalReport
from evals.runner import run_eval, score_question
from evals.schema import GoldSet, load_gold, parse_gold
from evals.target import Observed, PipelineTarget
from indexer.kernel.errors import GoldFileError, IndexNotReadyError, LLMError
from indexer.kernel.settings import Settings
from tests.conftest import REPO_ROOT, SEEDS_DIR
from tests.test_evals_support import OraclePipeline, RandomPassagesPipeline, WrongFilesPipeline

THRESHOLDS = REPO_ROOT / "evals" / "thresholds.yaml"


@pytest.fixture(scope="module")
def gold() -> GoldSet:
    return load_gold(REPO_ROOT / "evals" / "gold.yaml")


def _run(gold: GoldSet, pipeline: OraclePipeline, tmp_path: Path, **kw: object) -> tuple[int, str]:
    console = Console(record=True, width=160, force_terminal=False)
    opts = EvalOptions(out=tmp_path / "out", baseline=tmp_path / "baseline.json", gate=True, **kw)  # type: ignore[arg-type]
    code = execute(opts, target=PipelineTarget(pipeline), settings=Settings(), console=console)
    return code, console.export_text()


def test_perfect_pipeline_passes_the_committed_gate(gold: GoldSet, tmp_path: Path) -> None:
    code, text = _run(gold, OraclePipeline(gold, SEEDS_DIR), tmp_path)
    assert code == 0, text
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    metrics = report["metrics"]
    assert metrics["pass_rate"] == 1.0
    assert metrics["hit_at_1"] == metrics["mrr"] == metrics["quote_validity"] == 1.0
    assert metrics["key_fact_recall"] == metrics["abstention_accuracy"] == 1.0
    assert metrics["false_abstention_rate"] == 0.0
    assert metrics["citation_precision"] == 1.0 and metrics["citation_recall"] == 1.0
    assert "Quality gate passed" in text


@pytest.mark.parametrize("sabotage", [WrongFilesPipeline, RandomPassagesPipeline])
def test_sabotaged_retriever_fails_the_committed_gate(
    gold: GoldSet, tmp_path: Path, sabotage: type[OraclePipeline]
) -> None:
    code, text = _run(gold, sabotage(gold, SEEDS_DIR), tmp_path)
    assert code == 1
    assert "Quality gate FAILED" in text
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    failed = {r["metric"] for r in report["gate"]["rows"] if not r["ok"]}
    assert "abstention_accuracy" in failed and "pass_rate" in failed
    if sabotage is WrongFilesPipeline:
        assert {"hit_at_5", "mrr", "citation_recall"} <= failed
    assert all(r["metric"] in text for r in report["gate"]["rows"] if not r["ok"])


def test_without_gate_flag_exit_is_zero_even_when_below(gold: GoldSet, tmp_path: Path) -> None:
    code, _ = _run(gold, WrongFilesPipeline(gold, SEEDS_DIR), tmp_path / "a")
    assert code == 1
    console = Console(record=True, width=160)
    opts = EvalOptions(out=tmp_path / "b", baseline=tmp_path / "none.json", quiet=True)
    pipeline = WrongFilesPipeline(gold, SEEDS_DIR)
    assert execute(opts, target=PipelineTarget(pipeline), settings=Settings(), console=console) == 0
    assert '"gate_passed": false' in console.export_text()


def test_baseline_written_then_regressions_reported(gold: GoldSet, tmp_path: Path) -> None:
    code, text = _run(gold, OraclePipeline(gold, SEEDS_DIR), tmp_path, write_baseline=True)
    assert code == 0 and "baseline written" in text
    baseline = EvalReport.model_validate_json((tmp_path / "baseline.json").read_text())
    assert len(baseline.questions) == len(gold.questions) and all(
        q.passed for q in baseline.questions
    )
    code, text = _run(gold, WrongFilesPipeline(gold, SEEDS_DIR), tmp_path)
    report = EvalReport.model_validate_json((tmp_path / "out" / "report.json").read_text())
    assert report.changes is not None
    assert {c.id for c in report.changes.regressed} == {q.id for q in report.questions}
    assert report.changes.metric_deltas["pass_rate"] == -1.0
    assert "regressed huawei-rd-centers" in text


def test_compare_baseline_improved_new_removed() -> None:
    gold = parse_gold(
        "questions:\n"
        + "".join(
            f"  - id: {i}\n    question: {i}?\n    answerable: false\n    type: off_topic\n"
            for i in ("a", "b", "c")
        )
    )
    yes = Observed(answer="no", answerable=False, citations=[], passages=[])
    no = Observed(answer="x", answerable=True, citations=[], passages=[])
    from evals.quotes import CorpusFiles

    corpus = CorpusFiles(SEEDS_DIR)
    old = EvalReport(questions=[score_question(gold.questions[0], no, corpus, 1.0),
                                score_question(gold.questions[1], yes, corpus, 1.0)])  # fmt: skip
    new = EvalReport(questions=[score_question(gold.questions[0], yes, corpus, 1.0),
                                score_question(gold.questions[2], yes, corpus, 1.0)])  # fmt: skip
    diff = compare_baseline(new, old, "b.json")
    assert [c.id for c in diff.improved] == ["a"]
    assert diff.new == ["c"] and diff.removed == ["b"] and diff.regressed == []


def test_score_question_reasons(gold: GoldSet) -> None:
    from evals.quotes import CorpusFiles

    q = next(q for q in gold.questions if q.id == "huawei-rd-centers")
    obs = Observed(answer="I don't know", answerable=False, citations=[], passages=[])
    res = score_question(q, obs, CorpusFiles(SEEDS_DIR), 3.0)
    assert not res.passed
    assert res.reasons == [
        "abstained on an answerable question",
        "no gold source cited (cited: nothing)",
        "key facts missing: 16",
    ]
    assert res.citation_precision is None and res.citation_recall == 0.0


def test_thresholds_validation(tmp_path: Path) -> None:
    committed = load_thresholds(THRESHOLDS)
    assert committed.min and committed.max
    for text, msg in [
        ("min:\n  hit_at_7: 0.5\n", "unknown metric"),
        ("min:\n  latency_p95_ms: 10\n", "use `max:`"),
        ("max:\n  judge_correctness: 0.5\n", "never gate"),
        ("mins:\n  mrr: 0.5\n", "Extra inputs"),
    ]:
        path = tmp_path / "t.yaml"
        path.write_text(text)
        with pytest.raises(GoldFileError, match=msg):
            load_thresholds(path)


def test_check_gate_missing_value_fails() -> None:
    t = Thresholds(min={"quote_validity": 1.0, "mrr": 0.5}, max={"latency_p95_ms": 100.0})
    result = check_gate({"quote_validity": None, "mrr": 0.5, "latency_p95_ms": 100.0}, t)
    assert not result.passed
    assert [r.metric for r in result.failures] == ["quote_validity"]


class _Broken:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def ask(self, question: str, top_k: int | None) -> Observed:
        raise self.exc

    def describe(self) -> str:
        return "broken"


def test_run_eval_records_errors_per_question(gold: GoldSet) -> None:
    report = run_eval(_Broken(LLMError("llm down")), gold, SEEDS_DIR)
    assert report.metrics["pass_rate"] == 0.0
    assert report.questions[0].error == "llm down"
    assert report.questions[0].reasons == ["error: llm down"]
    assert report.metrics["hit_at_5"] is None


def test_missing_index_stops_the_run(gold: GoldSet, tmp_path: Path) -> None:
    with pytest.raises(IndexNotReadyError):
        run_eval(_Broken(IndexNotReadyError("run `citeline index`")), gold, SEEDS_DIR)
