"""`python -m evals --url` against a real uvicorn server speaking Citeline's `/v1/ask` JSON, and
the `--judge` path against a fake LLM speaking the OpenAI chat-completions wire format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request

from evals.schema import GoldSet, load_gold
from evals.target import HttpTarget
from indexer.kernel.errors import CitelineError
from tests.conftest import REPO_ROOT, SEEDS_DIR, free_port
from tests.test_evals_support import OraclePipeline, WrongFilesPipeline


class Server:
    def __init__(self, gold: GoldSet) -> None:
        self.pipeline: OraclePipeline = OraclePipeline(gold, SEEDS_DIR)
        self.chat_requests: list[dict[str, Any]] = []
        app = FastAPI()

        @app.post("/v1/ask")
        def ask(body: dict[str, Any]) -> dict[str, Any]:
            answer = self.pipeline.ask(body["question"], top_k=body.get("top_k"))
            data = answer.model_dump(exclude={"passages"})
            data["passages"] = [
                {"n": p.n, "score": p.score, **p.chunk.model_dump(
                    include={"source", "title", "text", "char_start", "char_end",
                             "line_start", "line_end"})}
                for p in answer.passages
            ]  # fmt: skip
            return data

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> dict[str, Any]:
            self.chat_requests.append(await request.json())
            content = 'Sure. {"faithfulness": 0.9, "correctness": 0.8}'
            return {
                "id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()),
                "model": "judge-model",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            }  # fmt: skip

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = Server(load_gold(REPO_ROOT / "evals" / "gold.yaml"))
    srv.thread.start()
    deadline = time.monotonic() + 20
    while not srv.server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield srv
    srv.server.should_exit = True
    srv.thread.join(timeout=10)


def _cli(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CITELINE_")}
    return subprocess.run(
        [sys.executable, "-m", "evals", *args], cwd=REPO_ROOT, env={**base, **(env or {})},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_cli_over_http_gate_passes_then_fails_on_sabotage(server: Server, tmp_path: Path) -> None:
    gold = load_gold(REPO_ROOT / "evals" / "gold.yaml")
    common = ["--url", server.url, "--baseline", str(tmp_path / "b.json"), "--gate"]
    server.pipeline = OraclePipeline(gold, SEEDS_DIR)
    ok = _cli([*common, "--out", str(tmp_path / "ok"), "--top-k", "3"])
    assert ok.returncode == 0, ok.stdout + ok.stderr
    report = json.loads((tmp_path / "ok" / "report.json").read_text())
    assert report["target"] == server.url and report["top_k"] == 3
    assert report["metrics"]["pass_rate"] == 1.0
    assert report["metrics"]["judge_faithfulness"] is None  # no --judge
    server.pipeline = WrongFilesPipeline(gold, SEEDS_DIR)
    bad = _cli([*common, "--out", str(tmp_path / "bad"), "--quiet"])
    assert bad.returncode == 1
    assert "Quality gate FAILED" in bad.stdout and "citation_recall" in bad.stdout


@pytest.mark.slow
def test_cli_reports_bad_gold_file_with_exit_2(tmp_path: Path) -> None:
    gold = tmp_path / "gold.yaml"
    gold.write_text("questions:\n  - id: x\n    question: Q?\n")
    result = _cli(["--gold", str(gold), "--url", "http://127.0.0.1:9", "--out", str(tmp_path)])
    assert result.returncode == 2
    assert f"{gold}:2: question 'x'" in result.stderr


@pytest.mark.slow
def test_judge_scores_reported_beside_deterministic_metrics(server: Server, tmp_path: Path) -> None:
    server.pipeline = OraclePipeline(load_gold(REPO_ROOT / "evals" / "gold.yaml"), SEEDS_DIR)
    server.chat_requests.clear()
    env = {"CITELINE_LLM_BASE_URL": f"{server.url}/v1", "CITELINE_LLM_MODEL": "judge-model"}
    result = _cli(["--url", server.url, "--out", str(tmp_path), "--baseline",
                   str(tmp_path / "b.json"), "--judge", "--quiet"], env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "report.json").read_text())["metrics"]
    assert metrics["judge_faithfulness"] == pytest.approx(0.9)
    assert metrics["judge_correctness"] == pytest.approx(0.8)
    assert len(server.chat_requests) == len(load_gold(REPO_ROOT / "evals" / "gold.yaml").questions)
    first = server.chat_requests[0]
    assert first["model"] == "judge-model" and first["temperature"] == 0.0
    assert "How many R&D centers does Huawei have?" in first["messages"][0]["content"]


@pytest.mark.slow
def test_http_target_errors_are_citeline_errors(server: Server) -> None:
    with pytest.raises(CitelineError, match="cannot reach"):
        HttpTarget(f"http://127.0.0.1:{free_port()}").ask("q", None)
    with pytest.raises(CitelineError, match="answered 404"):
        HttpTarget(f"{server.url}/nope").ask("q", None)
