"""Liveness (no I/O: 200 while the process serves) and readiness (index reachable, non-empty)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from indexer.kernel.errors import CitelineError
from service.http.deps import ensure_pipeline
from service.http.schemas import HealthResponse, ReadyResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthResponse)
async def healthz() -> HealthResponse:
    return HealthResponse(status="ok")


@router.get("/readyz", response_model=ReadyResponse, responses={503: {"model": ReadyResponse}})
def readyz(request: Request) -> JSONResponse:
    try:
        pipeline = ensure_pipeline(request.app, request.app.state.build_pipeline)
        pipeline.check_ready()
        manifest = pipeline.store.manifest()
        body = ReadyResponse(ready=True, chunks=pipeline.store.count(),
                             embed_model=manifest.embed_model if manifest else None)  # fmt: skip
        return JSONResponse(body.model_dump())
    except CitelineError as exc:
        body = ReadyResponse(ready=False, reason=f"{exc.code}: {exc.message}")
        return JSONResponse(body.model_dump(), status_code=503)
