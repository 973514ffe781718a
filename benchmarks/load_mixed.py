"""Mixed load while the indexer re-syncs a changing corpus; then count lost and duplicated chunks.

`python -m benchmarks.load_mixed [--clients 16] [--seconds 60] [--embedder minilm]` writes
`artifacts/bench/load_mixed.json`. Everything is on 127.0.0.1: `citeline serve` (auth and a rate
limit on) in one process, `python -m indexer` runs in others, N async clients in this one asking,
searching and sending bad requests (oversize, too long, broken JSON, bad key, wrong route/method).
Half the searches carry `sources` (#4: a filtered search must never fail during a re-sync).
Afterwards the live index must hold exactly the chunks a fresh index of the final corpus holds
(chunk ids are deterministic), with no orphans, and the server must answer from that final state.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx

from benchmarks.load import Server, free_port
from service.security.api_keys import generate_key, hash_key

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "artifacts" / "bench" / "load_mixed.json"
QUESTIONS = ["How many R&D centers does Huawei have?", "What did BYD negotiate with KG Mobility?",
             "How did Haier expand abroad?", "Which risks do supply chains face?"]  # fmt: skip
MARKER_WORD = "Zyxwvutsquill"  # appears only in the file the re-sync adds
_SEED_NAMES = sorted(p.name for p in (ROOT / "seeds").glob("*.txt"))
FILTER_SOURCES = [*_SEED_NAMES[:3], "added.txt"]  # edited, removed, unchanged, added (#4)


def bad_request(key: str, rng: random.Random) -> tuple[str, str, dict[str, str], bytes]:
    auth = {"Authorization": f"Bearer {key}", "content-type": "application/json"}
    return rng.choice([
        ("POST", "/v1/ask", auth, b"x" * 70_000),  # 413
        ("POST", "/v1/ask", auth, json.dumps({"question": "q" * 5000}).encode()),  # 422
        ("POST", "/v1/ask", auth, b'{"question": '),  # 422 broken JSON
        ("POST", "/v1/search", auth, b'{"question": "x", "top_k": -3}'),  # 422
        ("POST", "/v1/ask", {**auth, "Authorization": "Bearer wrong"}, b'{"question":"x"}'),  # 401
        ("GET", "/v1/nothing-here", auth, b""),  # 404
        ("GET", "/v1/ask", auth, b""),  # 405
    ])  # fmt: skip


async def client_loop(base: str, key: str, seed: int, until: float, log: list[Any]) -> None:
    rng = random.Random(seed)
    auth = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        while time.monotonic() < until:
            roll = rng.random()
            if roll < 0.45:
                kind, args = (
                    "ask",
                    (
                        "POST",
                        "/v1/ask",
                        auth,
                        json.dumps({"question": rng.choice(QUESTIONS)}).encode(),
                    ),
                )
            elif roll < 0.75:
                body: dict[str, Any] = {"question": rng.choice(QUESTIONS)}
                if rng.random() < 0.5:  # filtered: the files the re-sync edits, removes and adds
                    body["sources"] = rng.sample(FILTER_SOURCES, 2)
                kind = "search_sources" if "sources" in body else "search"
                args = ("POST", "/v1/search", auth, json.dumps(body).encode())
            else:
                kind, args = "bad", bad_request(key, rng)
            method, path, headers, body = args
            start = time.perf_counter()
            try:
                resp = await client.request(
                    method,
                    path,
                    headers={**headers, "content-type": "application/json"},
                    content=body,
                )
                status, text = resp.status_code, resp.text if resp.status_code >= 500 else ""
            except httpx.HTTPError as exc:
                status, text = -1, repr(exc)
            log.append((kind, status, (time.perf_counter() - start) * 1000, text[:300]))


def mutate(corpus: Path, seeds: Path, round_no: int) -> None:
    """Alternate between the seeds and a changed version: one edited, one removed, one added."""
    names = sorted(p.name for p in seeds.glob("*.txt"))
    for name in names:
        shutil.copy(seeds / name, corpus / name)
    (corpus / "added.txt").unlink(missing_ok=True)
    if round_no % 2 == 1:
        edited = corpus / names[0]
        edited.write_text(edited.read_text() + f"\nRound {round_no}: Huawei opened another lab.\n")
        (corpus / names[1]).unlink()
        (corpus / "added.txt").write_text(f"The {MARKER_WORD} report covers BYD batteries.\n" * 5)


def run_indexer(env: dict[str, str], corpus: Path) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "indexer", str(corpus), "--json"], env=env,
                          capture_output=True, text=True, timeout=600, cwd=ROOT)  # fmt: skip
    return proc.returncode, proc.stderr[-500:]


def inspect(env: dict[str, str]) -> dict[str, Any]:
    """A fresh process reads the store: live chunk ids, duplicates, orphans."""
    code = (
        "import json; from indexer.kernel.settings import Settings; "
        "from indexer.store.chroma import ChromaChunkStore; s = ChromaChunkStore(Settings()); "
        "ids = [c.id for c in s.iter_chunks()]; "
        "print(json.dumps({'ids': ids, 'count': s.count(), 'raw': s.raw_count()}))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300, cwd=ROOT, check=True)  # fmt: skip
    return json.loads(out.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--embedder", default="minilm")
    ap.add_argument("--resync-every", type=float, default=8.0)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="citeline-load-"))
    seeds, corpus = ROOT / "seeds", work / "corpus"
    corpus.mkdir()
    mutate(corpus, seeds, 0)
    key = generate_key()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CITELINE_DATA_DIR": str(work / "data"),
           "CITELINE_CORPUS_DIR": str(corpus), "CITELINE_EMBEDDER": args.embedder,
           "CITELINE_AUTH_ENABLED": "1", "CITELINE_API_KEY_HASHES": hash_key(key),
           "CITELINE_RATE_LIMIT_PER_MINUTE": "100000",
           "CITELINE_INDEX_LOCK_WAIT_S": "120", "CITELINE_LOG_LEVEL": "WARNING"}  # fmt: skip
    assert run_indexer(env, corpus)[0] == 0
    syncs: list[dict[str, Any]] = []
    log: list[Any] = []
    with Server(free_port(), env) as server:
        until = time.monotonic() + args.seconds
        stop = threading.Event()

        def resync_loop() -> None:
            round_no = 0
            while not stop.wait(args.resync_every) and time.monotonic() < until - 2:
                round_no += 1
                mutate(corpus, seeds, round_no)
                started = time.perf_counter()
                rc, err = run_indexer(env, corpus)
                syncs.append(
                    {
                        "round": round_no,
                        "rc": rc,
                        "seconds": round(time.perf_counter() - started, 2),
                        "err": err if rc else "",
                    }
                )

        indexer = threading.Thread(target=resync_loop)
        indexer.start()

        async def clients() -> None:
            await asyncio.gather(
                *(client_loop(server.base, key, i, until, log) for i in range(args.clients))
            )

        asyncio.run(clients())
        stop.set()
        indexer.join()
        assert run_indexer(env, corpus)[0] == 0  # converge on the final corpus
        live = inspect(env)
        final_search = httpx.post(
            f"{server.base}/v1/search", headers={"Authorization": f"Bearer {key}"},
            json={"question": f"{MARKER_WORD} report BYD batteries"}, timeout=60,
        )  # fmt: skip
    fresh_env = {**env, "CITELINE_DATA_DIR": str(work / "fresh")}
    assert run_indexer(fresh_env, corpus)[0] == 0
    expected = inspect(fresh_env)
    added_live = (corpus / "added.txt").exists()
    sees_final = (
        any(MARKER_WORD in p["text"] for p in final_search.json().get("passages", [])) == added_live
    )

    by_kind: dict[str, Counter[int]] = defaultdict(Counter)
    lat: dict[str, list[float]] = defaultdict(list)
    for kind, status, ms, _ in log:
        by_kind[kind][status] += 1
        lat[kind].append(ms)
    five_xx = [(k, s, t) for k, s, _, t in log if s >= 500 or s < 0]
    ids = live["ids"]
    report = {
        "clients": args.clients, "seconds": args.seconds, "embedder": args.embedder,
        "requests": len(log), "rps": round(len(log) / args.seconds, 1),
        "status_by_kind": {k: dict(sorted(c.items())) for k, c in by_kind.items()},
        "latency_ms": {k: {"p50": pct(v, 0.5), "p95": pct(v, 0.95), "p99": pct(v, 0.99),
                           "mean": round(statistics.fmean(v), 1)} for k, v in lat.items()},
        "five_xx": len(five_xx), "five_xx_samples": five_xx[:5],
        "resyncs": syncs, "resyncs_ok": sum(1 for s in syncs if s["rc"] == 0),
        "chunks_live": len(ids), "chunks_expected": len(expected["ids"]),
        "chunks_lost": len(set(expected["ids"]) - set(ids)),
        "chunks_duplicated": len(ids) - len(set(ids)) + len(set(ids) - set(expected["ids"])),
        "orphans": live["raw"] - live["count"], "server_sees_final_index": sees_final,
    }  # fmt: skip
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({k: v for k, v in report.items() if k != "resyncs"}, indent=2))
    ok = not five_xx and report["chunks_lost"] == 0 and report["chunks_duplicated"] == 0
    sys.exit(0 if ok and report["orphans"] == 0 and sees_final else 1)


if __name__ == "__main__":
    main()
