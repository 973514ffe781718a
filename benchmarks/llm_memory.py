"""`python -m benchmarks.llm_memory [N]`: the local answerer's memory over N questions (500).

A real `citeline serve` (`CITELINE_ANSWERER=local`, the joined reader) on 127.0.0.1 over the seeds
index in `.citeline` (`make index`; the model from `make setup-llm`), asked N distinct questions
one after another over `/v1/ask`: every gold question, then SQuAD 2.0 public-half questions
(off-topic for the seeds: they still run the model over the best evidence there is) until N.
The server's RSS is read from /proc after it is ready and after every `EVERY` answers, with the
latency of each block. Every request must get a 200; the run stops by itself. Prints a table,
writes `artifacts/bench/llm_memory.json`. Issue 16's target: RSS under 2.5 GB after 500.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from benchmarks.load import Server, free_port, rss_mb
from evals.metrics import percentile

EVERY = 50
SQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "squad2-public"


def questions(n: int) -> list[str]:
    gold = yaml.safe_load(Path("evals/gold.yaml").read_text(encoding="utf-8"))["questions"]
    out = list(dict.fromkeys(q["question"] for q in gold))
    with (SQUAD / "questions.jsonl").open(encoding="utf-8") as lines:
        squad = [json.loads(line)["question"] for line in lines]
    step = max(1, len(squad) // max(1, n - len(out)))
    return list(dict.fromkeys(out + squad[::step] + squad))[:n]


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 500
    asked = questions(n)
    env = {"CITELINE_ANSWERER": "local", "OMP_WAIT_POLICY": "PASSIVE"}
    rows: list[dict[str, Any]] = []
    server = Server(free_port(), env)
    with server, httpx.Client(base_url=server.base, timeout=300) as http:
        assert server.proc is not None
        pid = server.proc.pid
        rows.append({"answered": 0, "rss_mb": round(rss_mb(pid), 1), "load": os.getloadavg()[0]})
        print(json.dumps(rows[-1]), flush=True)
        block: list[float] = []
        refused = 0
        for i, question in enumerate(asked, 1):
            began = time.perf_counter()
            reply = http.post("/v1/ask", json={"question": question})
            block.append(time.perf_counter() - began)
            if reply.status_code != 200:
                raise SystemExit(f"question {i}: HTTP {reply.status_code} {reply.text[:200]}")
            refused += not reply.json()["answerable"]
            if i % EVERY == 0 or i == len(asked):
                rows.append({
                    "answered": i, "rss_mb": round(rss_mb(pid), 1),
                    "p50_s": round(percentile(block, 50), 2),
                    "p95_s": round(percentile(block, 95), 2),
                    "refused_so_far": refused, "load": os.getloadavg()[0],
                })  # fmt: skip
                print(json.dumps(rows[-1]), flush=True)
                block = []
    out = Path("artifacts/bench")
    out.mkdir(parents=True, exist_ok=True)
    (out / "llm_memory.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
