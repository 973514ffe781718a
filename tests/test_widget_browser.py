"""The <citeline-chat> widget in headless Chromium against real uvicorn servers.

Host pages on another origin come from a second server on another port (127.0.0.1 vs localhost
differ as origins too, but a second port is what an intranet embed looks like).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from indexer.kernel.settings import Settings
from tests.browser import CHROMIUM, chromium, screenshot, serve
from tests.conftest import SEEDS_DIR
from tests.fake_pipeline import ScriptedPipeline, passage_for, standin_app

HUAWEI = SEEDS_DIR / "000_036ae5c0f0d48a4b.txt"
ANSWER = "Huawei has 16 R&D centers and 28 joint-innovation centers [1]."
XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium absent (make browser)"),
]

HOSTILE_CSS = """
  :root { font-size: 0 !important; color: white !important; }
  body * { display: none !important; color: white !important; font-size: 0 !important;
           visibility: hidden !important; opacity: 0 !important; }
  citeline-chat { display: none !important; position: absolute !important; left: -9999px !important;
                  transform: scale(0) !important; width: 0 !important; height: 0 !important; }
  button, textarea, div, section, p { all: unset !important; display: none !important; }
"""


def host_page(api: str, css: str = "") -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Intranet</title>
<style>{css}</style></head><body><h1>Team wiki</h1>
<script src="{api}/widget.js"></script><citeline-chat api="{api}"></citeline-chat></body></html>"""


@contextmanager
def host_server() -> Iterator[tuple[str, dict[str, str]]]:
    """An intranet page on its own origin; set `page["html"]` once the API's URL is known."""
    page = {"html": ""}
    app = FastAPI()

    @app.get("/")
    def index() -> HTMLResponse:
        return HTMLResponse(page["html"])

    with serve(app, ready_path="/") as url:
        yield url, page


def ask(page: object, question: str) -> None:
    box = page.get_by_label("Your question")  # type: ignore[attr-defined]
    box.fill(question)
    box.press("Enter")


def test_demo_page_streams_answer_and_opens_citation() -> None:
    pipeline = ScriptedPipeline([passage_for(HUAWEI, 16)], ANSWER, delay_s=0.15)
    with serve(standin_app(Settings(), pipeline)) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 900, "height": 800})
        page.goto(base + "/")
        ask(page, "How many R&D centers does Huawei have?")
        bot = page.locator(".msg.bot").last
        # Mid-stream: some words shown, not yet final (no citation buttons yet).
        page.wait_for_function(
            "() => { const b = document.querySelector('citeline-chat').shadowRoot"
            ".querySelector('.msg.bot'); return b && b.dataset.state === 'streaming'"
            " && b.textContent.includes('16'); }"
        )
        assert bot.locator("button.cite").count() == 0
        screenshot(page, "widget-streaming")
        page.wait_for_selector("citeline-chat .msg.bot[data-state=answered]")
        assert bot.inner_text().startswith("Huawei has 16 R&D centers")
        assert page.locator("citeline-chat [role=log]").get_attribute("aria-busy") == "false"
        marker = bot.locator("button.cite")
        assert marker.count() == 1 and marker.inner_text() == "1"
        marker.click()
        panel = page.locator("citeline-chat .panel")
        assert panel.is_visible()
        assert "At present, Huawei has 16 R&D centers" in panel.locator("blockquote").inner_text()
        assert f"{HUAWEI.name}, line 16" in panel.inner_text()
        focused = page.evaluate(
            "() => document.querySelector('citeline-chat').shadowRoot.activeElement.className"
        )
        assert focused == "panel"
        screenshot(page, "widget-citation")
        page.keyboard.press("Escape")
        assert not panel.is_visible()
        assert (
            page.evaluate(
                "() => document.querySelector('citeline-chat').shadowRoot.activeElement.dataset.n"
            )
            == "1"
        )


def test_hostile_host_css_cannot_break_the_widget() -> None:
    pipeline = ScriptedPipeline([passage_for(HUAWEI, 16)], ANSWER)
    with host_server() as (host, html):
        allowed = Settings(cors_origins=[host])  # this intranet page's origin is on the list
        with serve(standin_app(allowed, pipeline)) as api, chromium() as browser:
            html["html"] = host_page(api, HOSTILE_CSS)
            page = browser.new_page(viewport={"width": 900, "height": 700})
            page.goto(host + "/")
            widget_box = page.locator("citeline-chat").bounding_box()
            assert widget_box is not None and widget_box["width"] > 300
            assert widget_box["height"] > 200 and widget_box["x"] >= 0
            assert page.locator("h1").is_hidden()  # the hostile CSS really is in force
            textarea = page.get_by_label("Your question")
            assert textarea.is_visible()
            assert textarea.evaluate("e => getComputedStyle(e).fontSize") == "15px"
            ask(page, "How many R&D centers?")
            page.wait_for_selector("citeline-chat .msg.bot[data-state=answered]")
            bot = page.locator(".msg.bot").last
            assert bot.evaluate("e => getComputedStyle(e).color") == "rgb(27, 31, 36)"
            assert bot.evaluate("e => getComputedStyle(e).fontSize") == "15px"
            screenshot(page, "widget-hostile-css")
    assert pipeline.questions == ["How many R&D centers?"]


def test_disallowed_origin_is_refused() -> None:
    pipeline = ScriptedPipeline([passage_for(HUAWEI, 16)], ANSWER)
    with serve(standin_app(Settings(cors_origins=["https://wiki.example"]), pipeline)) as api:
        with host_server() as (host, html), chromium() as browser:
            html["html"] = host_page(api)
            page = browser.new_page(viewport={"width": 900, "height": 600})
            failed: list[str] = []
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(host + "/")
            ask(page, "How many R&D centers?")
            page.wait_for_selector("citeline-chat .msg.bot[data-state=error]")
            error = page.locator(".msg.bot[role=alert]")
            assert "Can't reach the Citeline service" in error.inner_text()
            screenshot(page, "widget-refused-origin")
        # The server refused it outright (not just withheld CORS headers): same call as the page's.
        r = httpx.get(api + "/v1/widget/token", headers={"Origin": host})
        assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    assert any("/v1/widget/token" in url for url in failed)
    assert pipeline.questions == []  # nothing reached the pipeline


def test_html_in_documents_is_text_never_markup() -> None:
    poisoned = passage_for(HUAWEI, 16, text=f"Huawei has 16 R&D centers. {XSS}")
    pipeline = ScriptedPipeline([poisoned], f"The passage says {XSS} [1].")
    with serve(standin_app(Settings(), pipeline)) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 900, "height": 700})
        page.goto(base + "/")
        ask(page, "What does it say?")
        page.wait_for_selector("citeline-chat .msg.bot[data-state=answered]")
        page.locator("citeline-chat button.cite").click()
        quote = page.locator("citeline-chat .panel blockquote").inner_text()
        assert XSS in quote
        assert XSS in page.locator(".msg.bot").last.inner_text()
        page.wait_for_timeout(300)  # give a broken-image onerror the chance it must not have
        assert page.evaluate("() => window.__pwned") is None
        counts = page.evaluate(
            "() => { const r = document.querySelector('citeline-chat').shadowRoot;"
            " return [r.querySelectorAll('img').length, r.querySelectorAll('script').length]; }"
        )
        assert counts == [0, 0]
        screenshot(page, "widget-html-as-text")


def test_real_service_multi_turn_and_not_in_documents(seed_pipeline: Any) -> None:
    """Real app and pipeline (extractive answerer over seeds/): demo page, follow-up, refusal."""
    from service.http.app import create_app

    app = create_app(Settings(corpus_dir=SEEDS_DIR), seed_pipeline)
    with serve(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 900, "height": 1000})
        page.goto(base + "/")
        ask(page, "How many R&D centers does Huawei have?")
        page.wait_for_selector("citeline-chat .msg.bot[data-state=answered]")
        ask(page, "and how many joint-innovation centers?")
        page.wait_for_function(
            "() => document.querySelector('citeline-chat').shadowRoot"
            ".querySelectorAll('.msg.bot[data-state=answered]').length === 2"
        )
        second = page.locator(".msg.bot").nth(1)
        assert "28 joint-innovation centers" in second.inner_text()
        second.locator("button.cite").first.click()
        panel = page.locator("citeline-chat .panel")
        assert "000_036ae5c0f0d48a4b.txt, line 16" in panel.inner_text()
        assert "28 joint-innovation centers" in panel.locator("blockquote").inner_text()
        ask(page, "What is the capital of Peru?")
        page.wait_for_selector("citeline-chat .msg.bot[data-state=unanswerable]")
        refusal = page.locator(".msg.bot").nth(2)
        assert "Not in the documents" in refusal.inner_text()
        assert refusal.locator("button.cite").count() == 0
        screenshot(page, "widget-real-service")


def test_open_cited_pdf_passage_in_document(documents_index: Any) -> None:
    """Real service over real PDFs: a page citation opens the document with the span highlighted,
    by keyboard; the text comes from GET /v1/documents/{source} and is rendered as text only."""
    from service.http.app import create_app

    with serve(create_app(documents_index), ready_path="/readyz") as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 900, "height": 1100})
        page.goto(base + "/")
        ask(page, "When do we expect to be paid off?")
        page.wait_for_selector("citeline-chat .msg.bot[data-state=answered]")
        cite = page.locator(".msg.bot").last.locator("button.cite").first
        assert "page 2" in (cite.get_attribute("aria-label") or "")
        cite.focus()
        page.keyboard.press("Enter")
        panel = page.locator("citeline-chat .panel")
        assert "vicksburg-ocr.pdf, page 2" in panel.inner_text()
        opener = panel.get_by_role("button", name="Open in document")
        opener.focus()
        page.keyboard.press("Enter")
        context = panel.locator(".context")
        context.locator("mark").wait_for()
        assert context.locator("mark").inner_text().startswith("JUNE 12TH.—We expect to be paid")
        assert "Page 2 of vicksburg-ocr.pdf" in context.inner_text()
        assert "rebel bullet which took a piece out of his arm" in context.inner_text()  # before
        focused = page.evaluate(
            "() => document.querySelector('citeline-chat').shadowRoot.activeElement.className"
        )
        assert focused == "context"
        screenshot(page, "widget-open-in-document")
        page.keyboard.press("Escape")
        assert not panel.is_visible()
