"""The `openai` backend against a REAL OpenAI-compatible server: llama.cpp's, serving Gemma 3 270M.

Run by `make test-llm` only (marker `llm`; `make test` deselects it). That model is a poor answerer:
these tests prove the wire — plain and streamed chat, citation parsing and verification, the eval
runner and its gate reporting weak scores honestly — not answer quality.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from indexer.embedding.factory import build_embedder
from indexer.kernel.settings import Settings
from indexer.sync import sync_corpus
from tests.conftest import REPO_ROOT, SEEDS_DIR, free_port

pytestmark = [pytest.mark.llm, pytest.mark.slow, pytest.mark.timeout(900)]

LLM_PYTHON = os.environ.get("LLM_TEST_PYTHON")
GGUF = os.environ.get("LLM_TEST_GGUF")


@pytest.fixture(scope="module")
def llm_url() -> Iterator[str]:
    if not (LLM_PYTHON and GGUF and Path(GGUF).is_file()):
        pytest.skip("run through `make test-llm`, which builds llama.cpp and the Gemma GGUF")
    port = free_port()
    # gemma chat format: the GGUF has no template; logits_all off saves 3.4 GB and half the time.
    cmd = [
        LLM_PYTHON,
        "-m",
        "llama_cpp.server",
        "--model",
        GGUF,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--chat_format",
        "gemma",
        "--logits_all",
        "false",
        "--n_ctx",
        "4096",
        "--model_alias",
        "gemma3-270m",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, "llama.cpp server exited"
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("llm-data")
    settings = Settings(data_dir=data, corpus_dir=SEEDS_DIR)
    sync_corpus(settings, SEEDS_DIR, embedder=build_embedder(settings), progress=False)
    return data


def _settings(llm_url: str, data: Path) -> Settings:
    return Settings(
        data_dir=data,
        corpus_dir=SEEDS_DIR,
        answerer="openai",
        llm_base_url=llm_url,
        llm_model="gemma3-270m",
        llm_max_tokens=120,
        llm_timeout_s=120,
    )


def test_official_client_plain_and_streamed(llm_url: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=llm_url, api_key="none")
    msg = [{"role": "user", "content": "Say hello."}]
    plain = client.chat.completions.create(model="gemma3-270m", messages=msg, max_tokens=16)
    assert plain.choices[0].message.content
    chunks = list(
        client.chat.completions.create(
            model="gemma3-270m", messages=msg, max_tokens=16, stream=True
        )
    )
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) >= 2


def test_pipeline_answers_are_verified_or_honestly_refused(llm_url: str, indexed: Path) -> None:
    from service.pipeline import build_pipeline

    pipeline = build_pipeline(_settings(llm_url, indexed))
    answer = pipeline.ask("How many R&D centers does Huawei have?")
    assert answer.answerer.startswith("openai")
    assert answer.passages, "retrieval ran"
    numbers = {p.n for p in answer.passages}
    for cit in answer.citations:  # whatever the model wrote, only verified citations survive
        assert cit.n in numbers
        text = (SEEDS_DIR / cit.source).read_text(encoding="utf-8")
        assert text[cit.char_start : cit.char_end] == cit.quote
    if not answer.answerable:
        assert answer.citations == []
    print("\nGemma answer:", json.dumps(answer.answer)[:300], "| citations:", len(answer.citations))


def test_pipeline_streams_tokens_from_the_real_server(llm_url: str, indexed: Path) -> None:
    from service.pipeline import build_pipeline

    pipeline = build_pipeline(_settings(llm_url, indexed))
    kinds = [
        type(e).__name__ for e in pipeline.stream_ask("What is Haier's one person, one unit model?")
    ]
    assert kinds[0] == "PassagesEvent" and kinds[-1] == "DoneEvent"
    assert kinds.count("TokenEvent") >= 2 and "FinalEvent" in kinds


def test_eval_runner_reports_weak_scores_honestly(
    llm_url: str, indexed: Path, tmp_path: Path
) -> None:
    gold = yaml.safe_load((REPO_ROOT / "evals" / "gold.yaml").read_text(encoding="utf-8"))
    answerable = [q for q in gold["questions"] if q.get("answerable", True)][:4]
    unanswerable = [q for q in gold["questions"] if not q.get("answerable", True)][:2]
    subset = tmp_path / "gold.yaml"
    subset.write_text(yaml.safe_dump({**gold, "questions": answerable + unanswerable}), "utf-8")
    out = tmp_path / "eval"
    env = {
        **os.environ,
        "CITELINE_DATA_DIR": str(indexed),
        "CITELINE_LLM_BASE_URL": llm_url,
        "CITELINE_LLM_MODEL": "gemma3-270m",
        "CITELINE_LLM_MAX_TOKENS": "120",
        "CITELINE_LLM_TIMEOUT_S": "120",
        "CITELINE_CORPUS_DIR": str(SEEDS_DIR),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "evals",
            "--gold",
            str(subset),
            "--out",
            str(out),
            "--gate",
            "--baseline",
            str(tmp_path / "none.json"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=800,
        cwd=REPO_ROOT,
    )
    print(proc.stdout[-4000:])
    assert proc.returncode in (0, 1), proc.stderr[-2000:]  # 1 = gate failed: an honest verdict
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["answerer"].startswith("openai")
    assert len(report["questions"]) == 6
    assert report["metrics"]["quote_validity"] in (None, 1.0)  # cited quotes are always verified
