"""#5 HTML with inline markup and entities, #17 CRLF + BOM files: the real pipeline (MiniLM, Chroma,
hybrid retrieval, extractive answerer) on real uvicorn, citations checked against the file bytes.

The rule (indexer/reading.py): `char_start:char_end` and the lines index the file as stored (its
bytes decoded as UTF-8, BOM included); the quote is that span as read (markup dropped, entities
decoded, `\\r\\n` read as `\\n`). The service verifier and the eval checker apply the same rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from evals.quotes import CorpusFiles, quote_problem
from indexer.kernel.models import Citation
from indexer.kernel.settings import Settings
from indexer.sync import sync_corpus
from service.http.app import create_app
from service.pipeline import build_pipeline
from tests.browser import serve

pytestmark = pytest.mark.slow

BRIDGE = """<!DOCTYPE html>
<html><head><title>Quux <script>alert(1)</script>bridge facts</title></head>
<body>
<h1>The   Quux   crossing</h1>
<p>The <b>Quux</b> bridge is 300 meters long.</p>
<p>It was designed by <a href="/people/ada">Ada Lindqvist</a> &amp; <a href="/people/bo">Bo
Haraldsen</a> for the city&rsquo;s harbour authority.</p>
</body></html>
"""
# Windows-saved notes: a BOM, CRLF line ends, a sentence wrapped over two lines.
NOTES = (
    "\ufeffDepot notes\r\n\r\nThe Varnholm depot stores 4,200 pallets of spare parts.\r\n"
    "Its night shift loads the trucks for the northern\r\nroute before dawn.\r\n"
)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("offsets")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "bridge.html").write_text(BRIDGE, encoding="utf-8")
    (corpus / "notes.txt").write_bytes(NOTES.encode("utf-8"))
    settings = Settings(data_dir=root / "data", corpus_dir=corpus)  # embedder: real MiniLM
    from indexer.embedding.factory import build_embedder

    sync_corpus(settings, corpus, embedder=build_embedder(settings), progress=False)
    with serve(create_app(settings, build_pipeline(settings)), ready_path="/healthz") as url:
        yield url, corpus


def _ask(url: str, question: str) -> dict[str, Any]:
    resp = httpx.post(f"{url}/v1/ask", json={"question": question}, timeout=60)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def _check_stored(corpus: Path, cite: dict[str, Any]) -> str:
    """The file's span as stored; the quote is it as read; both verifiers agree."""
    raw = (corpus / cite["source"]).read_bytes().decode("utf-8")  # as stored: BOM is char 0
    span = raw[cite["char_start"] : cite["char_end"]]
    assert raw[: cite["char_start"]].count("\n") + 1 == cite["line_start"]
    assert raw[: cite["char_end"] - 1].count("\n") + 1 == cite["line_end"]
    assert cite["verified"] == "file"
    assert quote_problem(Citation(**cite), CorpusFiles(corpus)) is None
    return span


def test_inline_markup_is_answerable_and_cited_into_the_html_file(base: Any) -> None:
    url, corpus = base
    body = _ask(url, "How long is the Quux bridge?")
    assert body["answerable"], body
    (cite,) = [c for c in body["citations"] if "300 meters" in c["quote"]]
    assert cite["quote"] == "The Quux bridge is 300 meters long."
    assert _check_stored(corpus, cite) == "The <b>Quux</b> bridge is 300 meters long."
    assert cite["title"] == "Quux bridge facts"  # #18: no script text in the title

    body = _ask(url, "Which harbour authority was the bridge designed for?")
    assert body["answerable"], body
    quotes = [c["quote"] for c in body["citations"]]
    assert any("Ada Lindqvist & Bo Haraldsen for the city’s harbour" in q for q in quotes), quotes
    for text in [body["answer"], *quotes]:
        assert "&amp;" not in text and "&rsquo;" not in text and "  " not in text
    for cite in body["citations"]:
        assert '<a href="/people/ada">' in _check_stored(corpus, cite)


def test_crlf_and_bom_citations_index_the_file_as_stored(base: Any) -> None:
    url, corpus = base
    for question in ("How many pallets does the Varnholm depot store?",
                     "What does the night shift load?"):  # fmt: skip
        body = _ask(url, question)
        assert body["answerable"], body
        for cite in [c for c in body["citations"] if c["source"] == "notes.txt"]:
            span = _check_stored(corpus, cite)
            assert span.replace("\r\n", "\n") == cite["quote"]
            assert "\ufeff" not in cite["quote"] and not span.startswith("\n")
    pallets = _ask(url, "How many pallets does the Varnholm depot store?")["citations"][0]
    raw = NOTES
    assert raw[pallets["char_start"] : pallets["char_end"]] == pallets["quote"]
    assert pallets["quote"] == "The Varnholm depot stores 4,200 pallets of spare parts."
    assert pallets["line_start"] == pallets["line_end"] == 3


def test_opening_a_cited_html_or_crlf_span_shows_the_document_as_read(base: Any) -> None:
    """GET /v1/documents takes a citation's offsets (into the file as stored) and places the span
    in the text as read, which is what the widget shows: its quote is the citation's."""
    url, _corpus = base
    asked = (("How long is the Quux bridge?", "bridge.html"),
             ("How many pallets does the Varnholm depot store?", "notes.txt"))  # fmt: skip
    for question, source in asked:
        cite = next(c for c in _ask(url, question)["citations"] if c["source"] == source)
        params = {"char_start": cite["char_start"], "char_end": cite["char_end"]}
        resp = httpx.get(f"{url}/v1/documents/{source}", params=params)
        assert resp.status_code == 200, resp.text
        doc = resp.json()
        assert doc["verified"] == "file" and doc["format"] == "text"
        span = doc["span"]
        assert (span["char_start"], span["char_end"]) == (cite["char_start"], cite["char_end"])
        shown = doc["text"][span["text_start"] - doc["text_start"] : span["text_end"]]
        assert span["quote"] == shown == cite["quote"]
        assert not {"<", "\r", "\ufeff"} & set(doc["text"])
    inside_tag = BRIDGE.index("<b>") + 1
    params = {"char_start": inside_tag, "char_end": inside_tag + 8}
    assert httpx.get(f"{url}/v1/documents/bridge.html", params=params).status_code == 422
