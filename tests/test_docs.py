"""The docs stay true: every setting is documented, and the README opens with the two commands."""

from __future__ import annotations

import re

from indexer.kernel.settings import Settings
from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def _readme_settings_table() -> list[tuple[str, str]]:
    """(variable, default) of each row of the README's settings table, in order."""
    rows = re.findall(r"^\| `(CITELINE_[A-Z0-9_]+)[^`]*` \| `([^`]*)` \|", README, re.M)
    return [(name, default) for name, default in rows]


def test_the_readme_settings_table_matches_the_settings_class() -> None:
    """Every field once, in class order, with its real default; nothing else in the table."""
    expected = [
        (f"CITELINE_{name.upper()}", str(field.get_default(call_default_factory=True)))
        for name, field in Settings.model_fields.items()
    ]
    assert _readme_settings_table() == expected


def test_readme_opens_with_make_run_and_make_test() -> None:
    head = README.split("```")[1]
    assert "make run" in head and "make test" in head


def test_ci_runs_exactly_make_test() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [
        ln for ln in ci.splitlines() if ln.strip() and not ln.startswith(("#", "set ", "cd "))
    ]
    assert commands == ["make test"]
