"""The indexer SIGKILLed at several points, in a loop, as a real process; and two runs at once.

A driver process runs `sync_corpus` with one store method wrapped to SIGKILL the process right
before or after its Nth call (the precise points of the sync's crash-safety argument), or is
killed by the test after a random delay. After every kill a fresh process inspects the embedded
store: the manifest is exactly the old or the new corpus (never a mix), every live chunk is there
once and is the exact text of its file version, nothing is duplicated. The next run must then
finish the job: the new state exactly, and no orphans left.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, SEEDS_DIR

pytestmark = pytest.mark.slow

DRIVER = r"""
import json, os, random, signal, sys, time
from pathlib import Path
from indexer.runtime import configure_offline
configure_offline(2)
from indexer.embedding.factory import build_embedder
from indexer.kernel.settings import Settings
from indexer.store.chroma import ChromaChunkStore
from indexer.sync import sync_corpus
from indexer.chunking import TIKTOKEN_ENCODING

settings = Settings(data_dir=sys.argv[1], embedder="fake", chunk_tokens=64, chunk_overlap=8,
                    embed_batch_size=4, index_batch_chunks=4,
                    index_lock_wait_s=float(os.environ.get("LOCK_WAIT", "0")))

def inspect():
    store = ChromaChunkStore(settings)
    manifest = store.manifest()
    chunks = [c.model_dump() for c in store.iter_chunks()]
    hits = len(store.query(build_embedder(settings).embed_query("Huawei supply chain"), 5))
    files = manifest.files if manifest else {}
    return {"manifest": {s: e.model_dump() for s, e in files.items()},
            "chunks": chunks, "count": store.count(), "raw": store.raw_count(), "hits": hits}

def arm(method, n, when):
    original = getattr(ChromaChunkStore, method)
    calls = [0]
    def wrapped(self, *a, **kw):
        calls[0] += 1
        if calls[0] == n and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        out = original(self, *a, **kw)
        if calls[0] == n and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return out
    setattr(ChromaChunkStore, method, wrapped)

def sync(corpus):
    return sync_corpus(settings, Path(corpus), embedder=build_embedder(settings), progress=False)

def in_child(work, out=None, kill_after=None):
    # Each step is a real process (fork: no re-import), killed for real; nothing is shared
    # because this parent never opens the store itself.
    pid = os.fork()
    if pid == 0:
        try:
            result = work()
            if out:
                Path(out).write_text(json.dumps(result))
            os._exit(0)
        except BaseException:
            import traceback; traceback.print_exc()
            os._exit(3)
    if kill_after is not None:
        time.sleep(kill_after)
        os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]

mode = sys.argv[2]
if mode == "loop":
    # Load what every step needs once, here, so that forked steps start warm.
    import chromadb, llama_index.vector_stores.chroma, tiktoken  # noqa: F401
    tiktoken.get_encoding(TIKTOKEN_ENCODING)
    # argv: data "loop" corpus_a corpus_b plan-json scratch-dir
    a, b, plan, scratch = sys.argv[3], sys.argv[4], json.loads(sys.argv[5]), Path(sys.argv[6])
    out = str(scratch / "state.json")
    status = in_child(lambda: (sync(a), inspect())[1], out)
    first = json.loads(Path(out).read_text())
    print(json.dumps({"action": "initial", "status": status, "final": first}), flush=True)
    corpora, current = [a, b], 0
    for action, arg in plan:
        target = corpora[1 - current]
        if action == "point":
            status = in_child(lambda: (arm(*arg), sync(target)))
        else:  # "random": killed by us after arg seconds
            status = in_child(lambda: sync(target), kill_after=arg)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        in_child(inspect, out)
        after_kill = json.loads(Path(out).read_text())
        fin = in_child(lambda: (sync(target), inspect())[1], out)
        final = json.loads(Path(out).read_text())
        print(json.dumps({"action": action, "arg": arg, "killed": killed, "finish_status": fin,
                          "after_kill": after_kill, "final": final}), flush=True)
        current = 1 - current
    sys.exit(0)
corpus = sys.argv[3]
if mode == "slow":  # say when the lock is held, then hold it until the test says go
    original_add = ChromaChunkStore.add
    def slow_add(self, *a, **kw):
        print("WRITING", flush=True)
        while not Path(os.environ["RELEASE"]).exists():
            time.sleep(0.05)
        return original_add(self, *a, **kw)
    ChromaChunkStore.add = slow_add
print("START", flush=True)
report = sync(corpus)
print("REPORT " + report.model_dump_json(), flush=True)
if mode == "sync+inspect":
    print(json.dumps(inspect()))
"""

# (method, nth call, before/after): into step 1 (adds), around step 2 (the manifest commit),
# inside step 3 and step 0 (deletes: stale chunks, or the orphans of the previous kill).
KILL_POINTS = [
    ("add", 1, "after"),
    ("add", 3, "before"),
    ("write_manifest", 1, "before"),
    ("write_manifest", 1, "after"),
    ("delete", 1, "before"),
    ("delete", 1, "after"),
]
RANDOM_KILLS = 2


def _run(driver: Path, data: Path, *args: str, **kw: Any) -> Any:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **kw.pop("env", {})}
    return subprocess.run(
        [sys.executable, str(driver), str(data), *args],
        capture_output=True, text=True, timeout=300, env=env, cwd=REPO_ROOT, **kw,
    )  # fmt: skip


def _versions(tmp: Path) -> tuple[Path, Path]:
    """Corpus A (the seeds) and B: one file changed, one deleted, one added, one the same."""
    a, b = tmp / "corpus_a", tmp / "corpus_b"
    a.mkdir()
    for seed in sorted(SEEDS_DIR.glob("*.txt")):  # the seeds' first 3 KB: enough for many batches
        (a / seed.name).write_text(seed.read_text()[:3000])
    shutil.copytree(a, b)
    seeds = sorted(p.name for p in a.glob("*.txt"))
    changed = b / seeds[0]
    changed.write_text(changed.read_text() + "\nA new closing paragraph about Haier logistics.\n")
    (b / seeds[1]).unlink()
    (b / "new_file.txt").write_text("BYD opened a battery plant.\n" * 40)
    return a, b


def _expected(corpus: Path) -> dict[str, tuple[str, str]]:
    """source -> (doc_hash, text as the loader reads it)."""
    out = {}
    for path in sorted(corpus.glob("*.txt")):
        data = path.read_bytes()
        text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
        out[path.name] = (hashlib.sha256(data).hexdigest(), text)
    return out


def _check_state(state: dict[str, Any], *allowed: dict[str, tuple[str, str]]) -> int:
    """Assert the store is exactly one of `allowed` corpora; return which (index)."""
    manifest = {s: e["doc_hash"] for s, e in state["manifest"].items()}
    matches = [
        i for i, exp in enumerate(allowed) if manifest == {s: h for s, (h, _) in exp.items()}
    ]
    assert matches, f"manifest is a mix: {sorted(manifest)}"
    expected = allowed[matches[0]]
    chunks = state["chunks"]
    ids = [c["id"] for c in chunks]
    assert len(ids) == len(set(ids)), "duplicate chunk ids"
    assert len(chunks) == state["count"] == sum(e["chunks"] for e in state["manifest"].values())
    for source, entry in state["manifest"].items():
        mine = [c for c in chunks if c["source"] == source]
        assert [c["chunk_index"] for c in mine] == list(range(entry["chunks"])), source
        doc_hash, text = expected[source]
        for c in mine:
            assert c["doc_hash"] == doc_hash
            assert text[c["char_start"] : c["char_end"]] == c["text"]
    assert state["hits"] > 0  # still queryable
    return matches[0]


def test_killed_indexer_leaves_old_or_new_state_then_the_next_run_finishes(tmp_path: Path) -> None:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    a, b = _versions(tmp_path)
    corpora = [_expected(a), _expected(b)]
    rng = random.Random(6)
    plan: list[tuple[str, Any]] = [("point", list(p)) for p in KILL_POINTS]
    plan += [("random", round(rng.uniform(0.05, 1.0), 3)) for _ in range(RANDOM_KILLS)]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    proc = _run(driver, tmp_path / "data", "loop", str(a), str(b), json.dumps(plan), str(scratch))
    assert proc.returncode == 0, proc.stderr[-3000:]
    rounds = [json.loads(line) for line in proc.stdout.splitlines()]
    assert rounds[0]["status"] == 0 and _check_state(rounds[0]["final"], corpora[0]) == 0
    assert len(rounds) == 1 + len(plan)
    current, outcomes = 0, []
    for r in rounds[1:]:
        label = f"{r['action']}:{r['arg']}"
        new = corpora[1 - current]
        which = _check_state(r["after_kill"], corpora[current], new)  # old or new, never a mix
        assert r["finish_status"] == 0, label
        assert _check_state(r["final"], new) == 0, label  # the next run finished the job
        assert r["final"]["raw"] == r["final"]["count"], f"{label}: orphans left behind"
        outcomes.append((label, r["killed"], "new" if which == 1 else "old"))
        current = 1 - current
    print("kill loop:", outcomes)
    assert all(killed for label, killed, _ in outcomes if label.startswith("point"))
    states = {label: state for label, _, state in outcomes}
    # the manifest write is the switch: killed before it readers see old, after it new
    assert states["point:['write_manifest', 1, 'before']"] == "old"
    assert states["point:['write_manifest', 1, 'after']"] == "new"


def test_two_runs_at_once_one_refuses_clearly_then_one_waits(tmp_path: Path) -> None:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    data, release = tmp_path / "data", tmp_path / "release"
    a, b = _versions(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "RELEASE": str(release)}

    def start(*args: str, **extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(driver), str(data), *args], env={**env, **extra},
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    holder = start("slow", str(a))
    assert holder.stdout is not None
    assert [holder.stdout.readline().strip() for _ in range(2)] == ["START", "WRITING"]
    cli_env = {"CITELINE_DATA_DIR": str(data), "CITELINE_EMBEDDER": "fake"}
    refused = subprocess.run(
        [sys.executable, "-m", "indexer", str(b), "--quiet"],
        capture_output=True, text=True, timeout=120, cwd=REPO_ROOT, env={**env, **cli_env},
    )  # fmt: skip
    assert refused.returncode == 1
    assert "another indexer run" in refused.stderr and "pid" in refused.stderr
    waiter = start("sync+inspect", str(b), LOCK_WAIT="120")
    assert waiter.stdout is not None
    assert waiter.stdout.readline().strip() == "START"
    time.sleep(1.0)  # the waiter is now polling the lock
    release.touch()
    holder.communicate(timeout=120)
    out_wait, err_wait = waiter.communicate(timeout=120)
    assert holder.returncode == 0 and waiter.returncode == 0, err_wait[-2000:]
    final = json.loads(out_wait.splitlines()[-1])
    assert _check_state(final, _expected(b)) == 0  # the waiter ran after, on top of A: B exactly
    assert final["raw"] == final["count"]
