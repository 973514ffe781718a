"""The gate protects what it claims, on the real pipeline (MiniLM, real Chroma, the real scorer):
a dense-only retriever, an answerer that always abstains and one that never abstains must each
fail `citeline eval --gate`, on the metric that measures what they broke."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from evals.cli import EvalOptions, execute
from evals.target import PipelineTarget
from indexer.kernel.settings import Settings
from service.answering.extractive import ExtractiveAnswerer
from service.pipeline import Pipeline, build_pipeline, build_retriever

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def seeds_settings(seed_index: Settings) -> Settings:
    return seed_index


def _gate(pipeline: Pipeline, out: Path) -> tuple[int, dict[str, bool]]:
    opts = EvalOptions(out=out, baseline=out / "none.json", gate=True, quiet=True)
    code = execute(opts, target=PipelineTarget(pipeline), settings=pipeline.settings,
                   console=Console(quiet=True))  # fmt: skip
    rows = json.loads((out / "report.json").read_text())["gate"]["rows"]
    return code, {r["metric"]: r["ok"] for r in rows}


def _with(settings: Settings, change: Callable[[Pipeline], None]) -> Pipeline:
    pipeline = build_pipeline(settings)
    change(pipeline)
    return pipeline


def test_the_real_pipeline_passes(seeds_settings: Settings, tmp_path: Path) -> None:
    code, rows = _gate(build_pipeline(seeds_settings), tmp_path)
    assert code == 0, [m for m, ok in rows.items() if not ok]


def test_a_dense_only_retriever_fails_on_retrieval(
    seeds_settings: Settings, tmp_path: Path
) -> None:
    def dense(p: Pipeline) -> None:
        p.retriever = build_retriever(seeds_settings.model_copy(update={"retrieval": "dense"}),
                                      p.embedder, p.store)  # fmt: skip

    code, rows = _gate(_with(seeds_settings, dense), tmp_path)
    assert code == 1
    assert not all(rows[m] for m in ("hit_at_1", "mrr")), rows


def test_an_answerer_that_always_abstains_fails(seeds_settings: Settings, tmp_path: Path) -> None:
    def mute(p: Pipeline) -> None:
        p.answerer = ExtractiveAnswerer(p.embedder, threshold=1.0)

    code, rows = _gate(_with(seeds_settings, mute), tmp_path)
    assert code == 1
    assert not rows["false_abstention_rate"] and not rows["key_fact_recall"]
    assert rows["abstention_accuracy"]


def test_an_answerer_that_never_abstains_fails(seeds_settings: Settings, tmp_path: Path) -> None:
    def eager(p: Pipeline) -> None:
        p.answerer = ExtractiveAnswerer(p.embedder, threshold=0.0)

    code, rows = _gate(_with(seeds_settings, eager), tmp_path)
    assert code == 1
    assert not rows["abstention_accuracy"], rows
