"""What routes depend on: the settings and the pipeline, kept on `app.state`.

The pipeline is built lazily: a server started before `citeline index` ran stays up, answers 503
`index_not_ready`, and becomes ready on the first request after the index appears (no restart).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from indexer.kernel.settings import Settings, get_settings
from service.pipeline import Pipeline

log = logging.getLogger(__name__)

_build_lock = threading.Lock()


def ensure_pipeline(app: FastAPI, build: Callable[[Settings], Pipeline]) -> Pipeline:
    """`app.state.pipeline`, building it first if needed; raises a 503 error if it can't be."""
    pipeline: Pipeline | None = getattr(app.state, "pipeline", None)
    if pipeline is not None:
        return pipeline
    with _build_lock:
        pipeline = getattr(app.state, "pipeline", None)
        if pipeline is None:
            pipeline = build(app.state.settings)
            app.state.pipeline = pipeline
            log.info("pipeline ready: %s", pipeline.answerer.name)
    return pipeline


def get_settings_dep(request: Request) -> Settings:
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


def get_pipeline(request: Request) -> Pipeline:
    # Plain `def`: FastAPI runs it in the threadpool, so a first build never blocks the loop.
    builder: Callable[[Settings], Pipeline] = request.app.state.build_pipeline
    return ensure_pipeline(request.app, builder)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
