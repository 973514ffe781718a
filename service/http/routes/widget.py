"""The chat widget's script, the demo page, and the short-lived widget token."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel

from service.http.cors import request_origin
from service.http.deps import SettingsDep
from service.security.widget_tokens import mint_widget_token

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"

router = APIRouter(tags=["widget"])


class WidgetTokenResponse(BaseModel):
    auth_enabled: bool
    token: str | None
    origin: str
    expires_at: int | None


@router.get("/widget.js", include_in_schema=False)
def widget_script() -> FileResponse:
    # Any page may load the script (a <script> tag sends no Origin); calling the API is what CORS
    # and the widget token restrict. A short max-age lets a fixed widget reach pages quickly.
    return FileResponse(
        STATIC_DIR / "widget.js",
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/", include_in_schema=False)
def demo_page() -> FileResponse:
    return FileResponse(
        STATIC_DIR / "index.html",
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/v1/widget/token")
def widget_token(
    request: Request, response: Response, settings: SettingsDep
) -> WidgetTokenResponse:
    """A token bound to the calling page's origin, valid `WIDGET_TOKEN_TTL_S` seconds.

    Disallowed origins never get here (OriginGuard answers 403). With auth off there is nothing to
    protect, so no token is minted and the widget sends none.
    """
    response.headers["Cache-Control"] = "no-store"
    origin = request_origin(request)
    if not settings.auth_enabled:
        return WidgetTokenResponse(auth_enabled=False, token=None, origin=origin, expires_at=None)
    minted = mint_widget_token(origin, settings)
    return WidgetTokenResponse(
        auth_enabled=True, token=minted.token, origin=origin, expires_at=minted.expires_at
    )
