"""`python -m benchmarks.llm_latency [N] [MODE...]`: the local answerer's latency, 1 and 4 askers.

In-process `Pipeline.stream_ask` over the seeds index (`.citeline`, `make index`), the same path
`/v1/ask` with `stream: true` takes. Per request: time to the first shown token (or to the final
answer when no token is shown, e.g. a refusal) and to the final answer. Each request is either
answered, or refused with a typed error (the queue full: `llm_busy`); none is lost: the counts are
checked. N questions per row (default 8): an evenly spaced sample of the gold paraphrase questions,
a different sample for each row (so no row is served from the one before it). MODE:
`evidence` (the joined reader, default) and/or `bare`. Prints a table, writes
`artifacts/bench/llm_latency.json`. Run with OMP_WAIT_POLICY=PASSIVE; note the machine's load.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from indexer.runtime import configure_offline

configure_offline(threads=2)

import yaml  # noqa: E402

from benchmarks.load import rss_mb  # noqa: E402
from evals.metrics import percentile  # noqa: E402
from indexer.kernel.errors import CitelineError  # noqa: E402
from indexer.kernel.settings import Settings  # noqa: E402
from service.events import ErrorEvent, FinalEvent, TokenEvent  # noqa: E402
from service.pipeline import Pipeline, build_pipeline  # noqa: E402


def questions(n: int, row: int = 0, rows: int = 2) -> list[str]:
    """Row `row` of `rows` disjoint, evenly spaced samples of n gold paraphrase questions."""
    gold = yaml.safe_load(Path("evals/gold.yaml").read_text(encoding="utf-8"))["questions"]
    para = [q["question"] for q in gold if q.get("style") == "paraphrase"]
    if n * rows > len(para):
        raise ValueError(f"{n} x {rows} questions asked, {len(para)} paraphrase questions held")
    step = len(para) / (n * rows)
    return [para[int((i * rows + row) * step)] for i in range(n)]


def _one(pipeline: Pipeline, question: str) -> dict[str, Any]:
    start = time.perf_counter()
    first: float | None = None
    try:
        for event in pipeline.stream_ask(question):
            if isinstance(event, TokenEvent) and first is None:
                first = time.perf_counter() - start
            if isinstance(event, ErrorEvent):
                return {"error": event.code}
            if isinstance(event, FinalEvent):
                total = time.perf_counter() - start
                return {"first": first or total, "total": total, "ok": event.answerable}
    except CitelineError as exc:
        return {"error": exc.code}
    return {"error": "no final event"}


def run(pipeline: Pipeline, asked: list[str], askers: int) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    lock = threading.Lock()
    todo = list(asked)

    def worker() -> None:
        while True:
            with lock:
                if not todo:
                    return
                q = todo.pop(0)
            r = _one(pipeline, q)
            with lock:
                results.append(r)

    threads = [threading.Thread(target=worker) for _ in range(askers)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == len(asked), "a request was lost"
    done = [r for r in results if "error" not in r]
    firsts, totals = [r["first"] for r in done], [r["total"] for r in done]
    return {
        "askers": askers,
        "requests": len(results),
        "errors": [r["error"] for r in results if "error" in r],
        "wall_s": round(time.perf_counter() - began, 1),
        **{f"first_p{p}_s": round(percentile(firsts, p), 2) if firsts else None for p in (50, 95)},
        **{f"total_p{p}_s": round(percentile(totals, p), 2) if totals else None for p in (50, 95)},
        "rss_mb": round(rss_mb(os.getpid()), 1),
    }


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv and argv[0].isdigit() else 8
    modes = [a for a in argv if not a.isdigit()] or ["evidence"]
    rows = []
    for mode in modes:
        pipeline = build_pipeline(Settings(answerer="local", local_mode=mode))  # type: ignore[arg-type]
        pipeline.warm_up()
        for k, askers in enumerate((1, 4)):
            asked = questions(n, k)
            row = {"mode": mode, "load": os.getloadavg()[0], **run(pipeline, asked, askers)}
            print(json.dumps(row), flush=True)
            rows.append(row)
    out = Path("artifacts/bench")
    out.mkdir(parents=True, exist_ok=True)
    (out / "llm_latency.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
