"""`/docs` that works offline (#15): Swagger UI from the pinned `swagger-ui-bundle` package.

FastAPI's default `/docs` page loads Swagger UI from a CDN, so on an intranet without internet it
is blank; ReDoc (`/redoc`) does too and is turned off. The page here references only this
server: the bundle's JS and CSS under `/docs/assets/`, the spec at `/openapi.json`, our favicon.
With auth on, `/docs` and its assets need a key like any other route (the spec lists the API).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs/assets"


def install_docs(app: FastAPI) -> None:
    """Call on an app built with `docs_url=None, redoc_url=None`."""
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url="/favicon.ico",
        )
