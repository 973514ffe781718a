"""The FastAPI app factory. `uvicorn --factory service.http.app:create_app` or `citeline serve`.

The pipeline is built in the lifespan when the index is there; otherwise the app still starts,
`/readyz` says why it is not ready and `/v1/ask` answers 503 until an index appears.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from threadpoolctl import threadpool_limits

from indexer.kernel.errors import CitelineError
from indexer.kernel.settings import Settings, get_settings
from indexer.runtime import configure_offline
from service.http.cors import install_cors
from service.http.deps import ensure_pipeline
from service.http.errors import install_error_handlers
from service.http.limits import MAX_BODY_BYTES, BodyLimitMiddleware
from service.http.proxies import ClientAddressMiddleware, HostGuard
from service.http.routes import ask, documents, health, openai_compat, widget
from service.http.routes.docs import install_docs
from service.observability.metrics import install_observability
from service.pipeline import Pipeline, build_pipeline
from service.security.auth import install_access_control

log = logging.getLogger(__name__)

# BLAS threads per request while serving (the indexer and the CLI use `settings.threads`).
SERVE_BLAS_THREADS = 1


def _startup(app: FastAPI) -> None:
    try:
        pipeline = ensure_pipeline(app, app.state.build_pipeline)
        pipeline.warm_up()  # load the embedding model now, not on the first question
    except CitelineError as exc:
        log.warning("starting without an index (%s): %s", exc.code, exc.message)


def create_app(
    settings: Settings | None = None,
    pipeline: Pipeline | None = None,
    *,
    builder: Callable[[Settings], Pipeline] = build_pipeline,
) -> FastAPI:
    """`pipeline` given: serve it (tests). Otherwise `builder(settings)` makes one when possible."""
    settings = settings or get_settings()
    configure_offline(settings.threads)
    # One BLAS thread per request: concurrency comes from parallel requests; two BLAS threads
    # per request on 2 cores spin against each other (query embedding 22 ms -> 43 ms under load).
    threadpool_limits(limits=SERVE_BLAS_THREADS, user_api="blas")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(_startup, app)
        yield

    app = FastAPI(
        title="Citeline",
        summary="Answers questions over a folder of documents; every claim cites its passage.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # the CDN-loaded default: replaced by install_docs (offline)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.pipeline = pipeline
    app.state.build_pipeline = builder
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    install_access_control(app, settings)  # hardening: API keys, rate limit (inside CORS)
    app.include_router(ask.router)
    app.include_router(documents.router)
    app.include_router(health.router)
    # Streaming/OpenAI/widget routes; CORS last so it is the outermost layer (refuses first).
    app.include_router(openai_compat.router)
    app.include_router(widget.router)
    install_docs(app)
    install_cors(app, settings)
    app.add_middleware(HostGuard, allowed_hosts=settings.allowed_hosts)  # DNS rebinding
    install_observability(app, settings)  # hardening: request ids, JSON logs, /metrics
    # Outermost: the real client address (proxy headers from trusted proxies only).
    app.add_middleware(ClientAddressMiddleware, trusted_proxies=settings.trusted_proxies)
    return app
