"""Render check: report.html in headless Chromium shows its three charts (and nothing fetched)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from evals.cli import EvalOptions, execute
from evals.schema import load_gold
from evals.target import PipelineTarget
from indexer.kernel.settings import Settings
from tests.conftest import REPO_ROOT, SEEDS_DIR
from tests.test_evals_support import RandomPassagesPipeline

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium absent (make browser)")
def test_report_renders_charts_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    gold = load_gold(REPO_ROOT / "evals" / "gold.yaml")
    # A mixed run (some pass, some fail) so both colours and the threshold ticks show.
    pipeline = RandomPassagesPipeline(gold, SEEDS_DIR, seed=3)
    opts = EvalOptions(out=tmp_path, baseline=tmp_path / "none.json", quiet=True)
    execute(opts, target=PipelineTarget(pipeline), settings=Settings(), console=Console(quiet=True))
    requests: list[str] = []
    shot = REPO_ROOT / "artifacts" / "eval" / "report.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("request", lambda r: requests.append(r.url))
            page.goto((tmp_path / "report.html").as_uri())
            bars = page.locator("#metric-bars rect.bar")
            assert bars.count() >= 10
            assert page.locator("#metric-bars line.threshold").count() >= 5
            assert page.locator("#pass-grid rect.cell").count() == len(gold.questions)
            assert page.locator("#pass-grid rect.fail").count() > 0
            assert page.locator("#latency-histogram rect.hbar").count() > 0
            for chart in ("#metric-bars", "#pass-grid", "#latency-histogram"):
                box = page.locator(chart).bounding_box()
                assert box is not None and box["width"] > 100 and box["height"] > 30
            widths = [float(bars.nth(i).get_attribute("width") or 0) for i in range(bars.count())]
            assert max(widths) > 0
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert [u for u in requests if not u.startswith("file://")] == []
    assert shot.stat().st_size > 10_000
