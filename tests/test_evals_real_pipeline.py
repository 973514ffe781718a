"""The gate against the real pipeline (real Chroma, real answerer): sabotage must fail it.

Skipped only while `service.pipeline` / `indexer.sync` are not written yet (other components).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from evals.cli import EvalOptions, execute
from evals.target import build_pipeline_target
from indexer.embedding.factory import build_embedder
from indexer.kernel.settings import Settings
from tests.conftest import SEEDS_DIR


def _indexed(corpus: Path, data: Path, embedder: str) -> Settings:
    from indexer.sync import sync_corpus

    settings = Settings(embedder=embedder, corpus_dir=corpus, data_dir=data)  # type: ignore[arg-type]
    sync_corpus(settings, corpus, embedder=build_embedder(settings), rebuild=True, progress=False)
    return settings


def _eval(settings: Settings, out: Path) -> tuple[int, dict[str, float | None]]:
    opts = EvalOptions(out=out, baseline=out / "none.json", gate=True, quiet=True)
    code = execute(opts, target=build_pipeline_target(settings), settings=settings,
                   console=Console(quiet=True))  # fmt: skip
    return code, json.loads((out / "report.json").read_text())["metrics"]


def test_real_pipeline_quotes_are_valid(tmp_path: Path) -> None:
    settings = _indexed(SEEDS_DIR, tmp_path / "data", "fake")
    _, metrics = _eval(settings, tmp_path / "out")
    # Whatever the answer quality with toy embeddings, every citation must be a verbatim span.
    assert metrics["quote_validity"] in (1.0, None)
    assert metrics["hit_at_5"] is not None


def test_real_pipeline_with_wrong_files_fails_the_gate(tmp_path: Path) -> None:
    """Sabotage: the index maps every article to another article's file name."""
    corpus = tmp_path / "shuffled"
    corpus.mkdir()
    names = sorted(p.name for p in SEEDS_DIR.glob("*.txt"))
    for src, dst in zip(names, names[1:] + names[:1], strict=True):
        shutil.copyfile(SEEDS_DIR / src, corpus / dst)
    settings = _indexed(corpus, tmp_path / "data", "fake")
    code, metrics = _eval(settings, tmp_path / "out")
    assert code == 1
    assert (metrics["citation_recall"] or 0.0) < 0.4


@pytest.mark.slow
def test_real_pipeline_passes_the_committed_gate(tmp_path: Path) -> None:
    """The configured default embedder over seeds/ clears the committed thresholds."""
    settings = _indexed(SEEDS_DIR, tmp_path / "data", Settings().embedder)
    code, metrics = _eval(settings, tmp_path / "out")
    assert code == 0, metrics
