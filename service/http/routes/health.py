"""Liveness (no I/O: 200 while the process serves) and readiness (index reachable, non-empty).

Readiness runs on its own two probe threads, never on the request thread pool: 45 slow asks
holding every worker thread must not make `/readyz` time out. A check slower than
`PROBE_TIMEOUT_S` answers 503 rather than hanging the balancer.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from indexer.kernel.errors import CitelineError
from service.http.deps import ensure_pipeline
from service.http.schemas import HealthResponse, ReadyResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse)
async def healthz() -> HealthResponse:
    return HealthResponse(status="ok")


PROBE_TIMEOUT_S = 5.0
_probes = ThreadPoolExecutor(max_workers=2, thread_name_prefix="readyz")


def _check(app: FastAPI) -> ReadyResponse:
    pipeline = ensure_pipeline(app, app.state.build_pipeline)
    pipeline.check_ready()
    manifest = pipeline.store.manifest()
    return ReadyResponse(ready=True, chunks=pipeline.store.count(),
                         embed_model=manifest.embed_model if manifest else None)  # fmt: skip


@router.get("/readyz", response_model=ReadyResponse, responses={503: {"model": ReadyResponse}})
async def readyz(request: Request) -> JSONResponse:
    loop = asyncio.get_running_loop()
    try:
        probe = loop.run_in_executor(_probes, _check, request.app)
        body = await asyncio.wait_for(probe, PROBE_TIMEOUT_S)
        return JSONResponse(body.model_dump())
    except CitelineError as exc:
        body = ReadyResponse(ready=False, reason=f"{exc.code}: {exc.message}")
    except TimeoutError:
        body = ReadyResponse(ready=False, reason=f"probe_timeout: over {PROBE_TIMEOUT_S} s")
    return JSONResponse(body.model_dump(), status_code=503)
