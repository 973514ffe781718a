"""One indexer run per collection at a time; a second one waits up to `index_lock_wait_s`, then
refuses with `IndexLockedError`.

Embedded store: an `fcntl.flock` on `<data_dir>/<collection>.lock`. The kernel drops it when the
process dies, even by SIGKILL, so a crash never leaves the index locked.

Chroma server: indexers may run on different machines, so the lock is a lease record in the
`<collection>__manifest` collection: `{owner, host, pid, expires_at}`, renewed while the run
makes progress. A lease whose holder ran on this host and whose pid is gone (`os.kill(pid, 0)`) is
taken over at once (#10). Limits: Chroma has no compare-and-set, so two runs starting within the
same instant can both win (a read-back after writing narrows that window to a few milliseconds);
a run killed on *another* host keeps the collection locked until its lease expires (`LOCK_TTL_S`)
or an operator who knows it is dead runs `citeline index --break-lock`; expiry uses wall clocks,
so machines with skewed clocks see it early or late.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Protocol

from indexer.kernel.errors import IndexLockedError, StoreError
from indexer.kernel.settings import Settings
from indexer.store.chroma_client import ChromaConnection

# Server mode: a crashed run's lease expires after this; a live run renews it every third.
LOCK_TTL_S = 600.0

LEASE_ID = "lock"
_POLL_S = 0.2


class IndexLock(Protocol):
    def acquire(self) -> None: ...

    def refresh(self) -> None:
        """Called between batches: keeps a lease alive during a long run (no-op for flock)."""
        ...

    def release(self) -> None: ...


def _retry(try_once: Callable[[], str | None], wait_s: float) -> None:
    """Call `try_once` until it returns None (acquired) or `wait_s` passes; then refuse."""
    deadline = time.monotonic() + wait_s
    while (holder := try_once()) is not None:
        if time.monotonic() >= deadline:
            raise IndexLockedError(
                f"another indexer run is updating this collection ({holder}); wait for it to "
                "finish, or set CITELINE_INDEX_LOCK_WAIT_S to wait longer"
            )
        time.sleep(_POLL_S)


class FileLock:
    def __init__(self, path: Path, wait_s: float = 0.0) -> None:
        self.path = path
        self._wait_s = wait_s
        self._fh: IO[str] | None = None

    def _try(self) -> str | None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = self.path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise StoreError(f"cannot create the index lock file {self.path}: {exc}") from exc
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown process"
            fh.close()
            return f"lock file {self.path} held by {holder}"
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()}")
        fh.flush()
        self._fh = fh
        return None

    def acquire(self) -> None:
        _retry(self._try, self._wait_s)

    def refresh(self) -> None:
        return None

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class LeaseLock:
    def __init__(self, conn: ChromaConnection, ttl_s: float, wait_s: float = 0.0) -> None:
        self._conn = conn
        self._ttl_s = ttl_s
        self._wait_s = wait_s
        self.owner = f"pid {os.getpid()} on {socket.gethostname()} ({uuid.uuid4().hex[:8]})"
        self._renewed = 0.0

    def _holder(self) -> tuple[str, float] | None:
        doc = self._conn.side_record(LEASE_ID)
        if not doc:
            return None
        lease = json.loads(doc)
        if _dead_here(lease):
            return None  # its run died on this host: nobody holds it
        return str(lease["owner"]), float(lease["expires_at"])

    def _write(self) -> None:
        lease = {"owner": self.owner, "host": socket.gethostname(), "pid": os.getpid(),
                 "expires_at": time.time() + self._ttl_s}  # fmt: skip
        self._conn.put_side_record(LEASE_ID, json.dumps(lease))
        self._renewed = time.monotonic()

    def _try(self) -> str | None:
        held = self._holder()
        if held and held[0] != self.owner and held[1] > time.time():
            return (f"lease held by {held[0]}, expires in {held[1] - time.time():.0f} s; if that "
                    "run is dead, `citeline index --break-lock` removes it")  # fmt: skip
        self._write()
        held = self._holder()  # read back: if another run wrote after us, it won
        if held is None or held[0] != self.owner:
            return f"lease taken by {held[0] if held else 'another run'}"
        return None

    def acquire(self) -> None:
        _retry(self._try, self._wait_s)

    def refresh(self) -> None:
        if time.monotonic() - self._renewed > self._ttl_s / 3:
            self._write()

    def release(self) -> None:
        held = self._holder()
        if held and held[0] == self.owner:
            self._conn.delete_side_record(LEASE_ID)


def _dead_here(lease: dict[str, object]) -> bool:
    """The lease's run was on this host and its process no longer exists."""
    pid = lease.get("pid")
    if lease.get("host") != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def break_lock(settings: Settings, conn: ChromaConnection) -> str | None:
    """Remove a server-mode lease whoever holds it; the holder it named, or None if none.

    Only for a run known to be dead (killed on another host): a live run whose lease is broken
    keeps writing beside the next one. The embedded store's flock needs no breaking: the kernel
    drops it when its process dies.
    """
    if not settings.chroma_url:
        return None
    doc = conn.side_record(LEASE_ID)
    if not doc:
        return None
    conn.delete_side_record(LEASE_ID)
    return str(json.loads(doc).get("owner", "unknown run"))


def lock_for(settings: Settings, conn: ChromaConnection) -> IndexLock:
    if settings.chroma_url:
        return LeaseLock(conn, LOCK_TTL_S, settings.index_lock_wait_s)
    path = settings.data_dir / f"{settings.collection}.lock"
    return FileLock(path, settings.index_lock_wait_s)


@contextmanager
def index_lock(settings: Settings, conn: ChromaConnection) -> Iterator[IndexLock]:
    """Hold the collection's lock for the duration of the block."""
    lock = lock_for(settings, conn)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()
