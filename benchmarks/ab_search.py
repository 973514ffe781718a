"""A/B of `/v1/search` between two source trees over one index: `citeline serve` from each tree in
turn, 3 rounds alternating which goes first, every question new (the query-vector cache never
hits), on 127.0.0.1 only. Prints each run and the median (min-max) per tree.

    git worktree add /tmp/before <commit>
    python -m benchmarks.scifact /tmp/sf 300          # any index; SciFact's gives real questions
    python -m benchmarks.ab_search /tmp/before . /tmp/sf/index scifact /tmp/sf/corpus

Writes `artifacts/bench/ab_search.json`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.load import free_port, load, rss_mb
from benchmarks.scifact import SCIFACT

OUT = Path(__file__).resolve().parent.parent / "artifacts" / "bench"
ROUNDS = 3
PLAN = ((1, 200), (16, 800))  # (clients, requests)


def questions(n: int) -> list[str]:
    """SciFact's train questions, then numbered variants of them: `n` distinct questions."""
    with (SCIFACT / "queries_train.jsonl").open(encoding="utf-8") as f:
        base = [json.loads(line)["text"] for line in f]
    return [q if i < len(base) else f"{q} ({i // len(base)})" for i, q in enumerate(base * 20)][:n]


def _serve(tree: str, index: tuple[str, str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    data, collection, corpus = index
    env = {**os.environ, "PYTHONPATH": tree, "CITELINE_DATA_DIR": data,
           "CITELINE_COLLECTION": collection, "CITELINE_CORPUS_DIR": corpus}  # fmt: skip
    cmd = [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        cmd, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"`citeline serve` from {tree} did not become ready")


def main(before: str, after: str, *index: str) -> dict[str, list[dict[str, Any]]]:
    """`index`: the data directory, collection name and corpus folder both servers read."""
    trees = {"before": before, "after": after}
    pool = questions(ROUNDS * len(trees) * sum(n for _, n in PLAN))
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for round_ in range(ROUNDS):
        for name in list(trees) if round_ % 2 == 0 else list(trees)[::-1]:
            proc, base = _serve(trees[name], (index[0], index[1], index[2]))
            try:
                load(base, "/v1/search", [{"question": "warm up"}], 1, 10)
                row: dict[str, Any] = {"round": round_, "rss_rest_mb": round(rss_mb(proc.pid), 1)}
                for clients, n in PLAN:
                    bodies: list[dict[str, object]] = [{"question": q} for q in pool[:n]]
                    del pool[:n]
                    row[f"clients_{clients}"] = load(
                        base, "/v1/search", bodies, clients, n
                    ).summary()
                row["load_1m"] = round(os.getloadavg()[0], 2)
            finally:
                proc.terminate()
                proc.wait(15)
            runs[name].append(row)
            print(name, json.dumps(row), flush=True)
    for name, rows in runs.items():
        for clients, _ in PLAN:
            for key in ("rps", "p50_ms", "p95_ms", "errors"):
                values = [r[f"clients_{clients}"][key] for r in rows]
                print(f"{name} {clients:>2} clients {key:>7}: median {statistics.median(values)}"
                      f" ({min(values)}-{max(values)})")  # fmt: skip
        print(f"{name} RSS at rest MB: median {statistics.median(r['rss_rest_mb'] for r in rows)}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ab_search.json").write_text(json.dumps(runs, indent=2), encoding="utf-8")
    return runs


if __name__ == "__main__":
    if len(sys.argv) != 6:
        raise SystemExit(__doc__)
    main(*sys.argv[1:6])
