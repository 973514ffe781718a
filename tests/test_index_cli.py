"""`index_command` (as `citeline index` / `python -m indexer`): summary, JSON, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from indexer.cli import index_command
from indexer.kernel.settings import Settings, override_settings
from indexer.locking import FileLock
from tests.conftest import REPO_ROOT

app = typer.Typer(add_completion=False)
app.command()(index_command)
runner = CliRunner()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "data", embedder="fake")
    override_settings(settings)
    return settings


def test_summary_table_then_json_on_the_unchanged_rerun(settings: Settings, corpus: Path) -> None:
    (corpus / "slides.pptx").write_bytes(b"PK\x03\x04")
    result = runner.invoke(app, [str(corpus)])
    assert result.exit_code == 0, result.output
    for word in ("added", "unchanged", "skipped", "chunks", "fake:bow-64"):
        assert word in result.stdout
    assert "skipped slides.pptx: unsupported file type .pptx" in result.stdout

    result = runner.invoke(app, [str(corpus), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["added"], report["unchanged"], report["chunks_written"]) == (0, 4, 0)
    assert report["skipped"] == [{"source": "slides.pptx", "reason": "unsupported file type .pptx"}]


def test_default_path_comes_from_settings_and_quiet_prints_nothing(
    settings: Settings, corpus: Path
) -> None:
    override_settings(settings.model_copy(update={"corpus_dir": corpus}))
    result = runner.invoke(app, ["--quiet"])
    assert result.exit_code == 0 and result.stdout == ""
    result = runner.invoke(app, ["--rebuild", "--json"])
    assert json.loads(result.stdout)["added"] == 4


def test_errors_are_one_line_and_exit_1(settings: Settings, corpus: Path) -> None:
    result = runner.invoke(app, [str(corpus / "missing")])
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: corpus folder") and "Traceback" not in result.output

    lock = FileLock(settings.data_dir / f"{settings.collection}.lock")
    lock.acquire()
    try:
        result = runner.invoke(app, [str(corpus)])
    finally:
        lock.release()
    assert result.exit_code == 1 and "another indexer run" in result.stderr

    assert runner.invoke(app, [str(corpus)]).exit_code == 0
    override_settings(settings.model_copy(update={"embedder": "minilm"}))
    result = runner.invoke(app, [str(corpus)])
    assert result.exit_code == 1
    assert "minilm:all-MiniLM-L6-v2" in result.stderr and "--rebuild" in result.stderr


@pytest.mark.slow
def test_python_dash_m_indexer_reports_errors_without_a_traceback(tmp_path: Path) -> None:
    env = {"CITELINE_DATA_DIR": str(tmp_path / "data"), "CITELINE_EMBEDDER": "fake"}
    proc = subprocess.run(
        [sys.executable, "-m", "indexer", str(tmp_path / "nope")],
        cwd=REPO_ROOT, env={**_base_env(), **env}, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    missing = tmp_path / "nope"
    assert (
        proc.stderr.strip() == f"error: corpus folder {missing} does not exist or is not a folder"
    )


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CITELINE_")}


def test_an_empty_folder_never_wipes_the_index_without_allow_empty(
    settings: Settings, corpus: Path, tmp_path: Path
) -> None:
    """#9: indexing an empty (or wrong, unmounted) folder is refused while documents exist."""
    assert runner.invoke(app, [str(corpus)]).exit_code == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    for extra in ([], ["--rebuild"]):
        refused = runner.invoke(app, [str(empty), *extra])
        assert refused.exit_code == 1 and "--allow-empty" in refused.output
    again = json.loads(runner.invoke(app, [str(corpus), "--json"]).stdout)
    assert again["unchanged"] == 4  # still all there
    emptied = runner.invoke(app, [str(empty), "--allow-empty", "--json"])
    assert emptied.exit_code == 0 and json.loads(emptied.stdout)["removed"] == 4
