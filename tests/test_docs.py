"""The docs stay true: every setting is documented, and the README opens with the two commands."""

from __future__ import annotations

from indexer.kernel.settings import Settings
from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme() -> None:
    missing = [n for n in Settings.model_fields if f"CITELINE_{n.upper()}" not in README]
    assert missing == []


def test_readme_opens_with_make_run_and_make_test() -> None:
    head = README.split("```")[1]
    assert "make run" in head and "make test" in head


def test_ci_runs_exactly_make_test() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [
        ln for ln in ci.splitlines() if ln.strip() and not ln.startswith(("#", "set ", "cd "))
    ]
    assert commands == ["make test"]
