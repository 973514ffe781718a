"""`GET /v1/documents/{source}`: open a cited document with the cited span located in it.

Authenticated as `/v1/ask` is (API key, or a widget token: the widget's "open in document").
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool

from service.citing.documents import DocumentOut, open_document
from service.http.deps import PipelineDep, SettingsDep
from service.http.schemas import ErrorResponse

router = APIRouter(tags=["documents"])

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (401, 404, 409, 422, 503)
}


@router.get("/v1/documents/{source:path}", response_model=DocumentOut, responses=_ERRORS)
async def get_document(
    source: str,
    response: Response,
    pipeline: PipelineDep,
    settings: SettingsDep,
    char_start: Annotated[int | None, Query(ge=0, description="cited span start")] = None,
    char_end: Annotated[int | None, Query(ge=0, description="cited span end (exclusive)")] = None,
) -> DocumentOut:
    manifest = await run_in_threadpool(pipeline.store.manifest)
    response.headers["Cache-Control"] = "private, no-store"
    return await run_in_threadpool(open_document, settings, manifest, source, char_start, char_end)
