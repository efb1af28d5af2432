"""The app factory every HTTP service uses."""

import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.health import router as health_router
from services.common.problems import install_problem_handlers
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


async def metrics() -> Response:
    """The process's Prometheus metrics in the text exposition format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def operation_id(route: APIRoute) -> str:
    """`tag-function` (`tasks-list_tasks`, `org_units-get_org_unit`): what a generated client names its methods."""
    if not route.tags:
        return route.name
    return f"{re.sub(r'[^a-z0-9]+', '_', str(route.tags[0]).lower())}-{route.name}"


def create_service_app(*, title: str, description: str, service: str) -> FastAPI:
    """A FastAPI app with JSON logs, problem+json errors, request ids, health routes and /metrics."""
    configure_logging(service=service)
    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=_lifespan,
        generate_unique_id_function=operation_id,
    )
    install_problem_handlers(app)
    app.add_middleware(RequestObservation, service=service)
    app.include_router(health_router)
    app.add_api_route(METRICS_PATH, metrics, methods=["GET"], include_in_schema=False)
    return app
