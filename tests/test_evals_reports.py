"""Report outputs: files exist, JUnit parses, HTML is self-contained and escapes document text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from evals.cli import EvalOptions, execute
from evals.schema import parse_gold
from evals.target import PipelineTarget
from indexer.kernel.settings import Settings
from tests.test_evals_support import OraclePipeline

PLANTED = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
GOLD = """\
questions:
  - id: planted
    question: What does the evil page say?
    gold_sources: [evil.txt]
    key_facts: [["pwned"]]
  - id: fine
    question: What colour is the sky?
    gold_sources: [sky.txt]
    key_facts: [["blue"]]
  - id: missing-fact
    question: What colour is grass?
    gold_sources: [sky.txt]
    key_facts: [["green"]]
  - id: na
    question: Who won the 2018 World Cup?
    answerable: false
    type: off_topic
"""


class _Oracle(OraclePipeline):
    """Answers `missing-fact` with the sky line, so it fails for a missing key fact."""

    def ask(self, question: str, top_k: int | None = None, sources: list[str] | None = None):  # type: ignore[no-untyped-def]
        if question == "What colour is grass?":
            return super().ask("What colour is the sky?", top_k)
        return super().ask(question, top_k)


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "evil.txt").write_text(f"Intro.\nThe page says {PLANTED} and pwned.\x0b\n", "utf-8")
    (corpus / "sky.txt").write_text("The sky is blue.\n", "utf-8")
    gold_path = tmp_path / "gold.yaml"
    gold_path.write_text(GOLD, "utf-8")
    gold = parse_gold(GOLD, str(gold_path))
    opts = EvalOptions(gold=gold_path, corpus=corpus, out=tmp_path / "out",
                       baseline=tmp_path / "b.json", quiet=True)  # fmt: skip
    console = Console(record=True, width=120)
    code = execute(opts, target=PipelineTarget(_Oracle(gold, corpus)), settings=Settings(),
                   console=console)  # fmt: skip
    assert code == 0
    return tmp_path / "out"


def test_all_outputs_written(reports: Path) -> None:
    assert {p.name for p in reports.iterdir()} == {"report.json", "junit.xml", "report.html"}


def test_junit_parses_with_one_case_per_question(reports: Path) -> None:
    root = ET.parse(reports / "junit.xml").getroot()
    suite = root.find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"planted", "fine", "missing-fact", "na", "quality-gate"}
    assert cases["fine"].find("failure") is None
    failure = cases["missing-fact"].find("failure")
    assert failure is not None and "key facts missing: green" in (failure.get("message") or "")
    # The placeholder gate fails on 4 questions of which 1 fails: it is a failing case too.
    assert suite.get("failures") == str(1 + (cases["quality-gate"].find("failure") is not None))
    assert cases["planted"].get("classname") == "citeline.eval.fact"


def test_html_is_self_contained(reports: Path) -> None:
    html = (reports / "report.html").read_text("utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "<link" not in html.lower()
    assert "<script" not in html.lower()
    assert "Content-Security-Policy" in html
    for chart in ("metric-bars", "pass-grid", "latency-histogram"):
        assert f'id="{chart}"' in html


def test_html_escapes_document_text(reports: Path) -> None:
    html = (reports / "report.html").read_text("utf-8")
    assert PLANTED not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in html
