"""The app factory every HTTP service uses."""

import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi_offline
import structlog
from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.edge import BodyLimit, SecurityHeaders, may_read_metrics
from services.common.health import router as health_router
from services.common.problems import install_problem_handlers, problem
from shared.config import get_settings
from shared.db import dispose_engine, write_intent
from shared.indicators.engine.run import catalogue
from shared.observability import (
    HTTP_ERRORS,
    HTTP_REQUEST_SECONDS,
    HTTP_REQUESTS,
    configure_logging,
    request_id_var,
    sane_request_id,
    status_class,
)

log = structlog.get_logger("culturezone.http")
METRICS_PATH = "/metrics"
DOCS_ASSETS = "/docs/assets"  # Swagger UI and ReDoc served by the service itself: intranets have no CDN
DOCS_ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    get_settings().jwt_secret()  # refuse to start without SECRET_KEY outside demo mode
    catalogue()  # refuse to start with a malformed standards catalogue (the error names file and line)
    yield
    await dispose_engine()


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class RequestObservation:
    """Give every request an id (the caller's X-Request-ID or a new one), one JSON log line and its metrics."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = sane_request_id(headers.get(b"x-request-id", b"").decode("latin-1")) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(
            request_id=request_id, service=self.service, method=scope["method"], path=scope["path"]
        )
        request_token = request_id_var.set(request_id)
        write_intent.set(scope["method"] not in SAFE_METHODS)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            self._observe(scope, status=status, elapsed=elapsed)
            request_id_var.reset(request_token)
            structlog.contextvars.reset_contextvars(**tokens)

    def _observe(self, scope: Scope, *, status: int, elapsed: float) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")
        method = scope["method"]
        HTTP_REQUEST_SECONDS.labels(self.service, method, route).observe(elapsed)
        HTTP_REQUESTS.labels(self.service, method, route, status_class(status)).inc()
        if status >= 400:
            HTTP_ERRORS.labels(self.service, method, route, status_class(status)).inc()
        (log.error if status >= 500 else log.info)("request", status=status, duration_ms=round(elapsed * 1000, 2))


async def metrics(request: Request) -> Response:
    """The process's Prometheus metrics in the text exposition format, for METRICS_ALLOW or METRICS_TOKEN only."""
    client = request.client.host if request.client else None
    if not may_read_metrics(client=client, authorization=request.headers.get("authorization", "")):
        return problem(status=404, title="Not Found", detail="Not Found", slug="not-found")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def operation_id(route: APIRoute) -> str:
    """`tag-function` (`tasks-list_tasks`, `org_units-get_org_unit`): what a generated client names its methods."""
    if not route.tags:
        return route.name
    return f"{re.sub(r'[^a-z0-9]+', '_', str(route.tags[0]).lower())}-{route.name}"


def _add_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc from assets the service serves itself."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=DOCS_ASSETS_DIR), name="docs-assets")
    redirect = "/docs/oauth2-redirect"

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{redirect}",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
        )

    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}/openapi.json",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    app.add_api_route("/docs", swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route(redirect, swagger_ui_redirect, methods=["GET"], include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)


def create_service_app(*, title: str, description: str, service: str) -> FastAPI:
    """A FastAPI app with JSON logs, problem+json errors, request ids, security headers, body caps, health routes,
    a guarded /metrics and self-served API docs."""
    configure_logging(service=service)
    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=_lifespan,
        generate_unique_id_function=operation_id,
        docs_url=None,
        redoc_url=None,
    )
    install_problem_handlers(app)
    # Outermost last: the request log sees every answer, and every answer (413s included) carries the headers.
    app.add_middleware(BodyLimit, schema=app.openapi)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestObservation, service=service)
    app.include_router(health_router)
    app.add_api_route(METRICS_PATH, metrics, methods=["GET"], include_in_schema=False)
    _add_docs(app)
    return app
