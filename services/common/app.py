"""The app factory every HTTP service uses."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from services.common.health import router as health_router
from services.common.problems import install_problem_handlers
from shared.config import get_settings
from shared.db import dispose_engine
from shared.indicators.engine.run import catalogue


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    get_settings().jwt_secret()  # refuse to start without SECRET_KEY outside demo mode
    catalogue()  # refuse to start with a malformed standards catalogue (the error names file and line)
    yield
    await dispose_engine()


async def _request_id(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    request.state.request_id = request_id
    response = await call_next(request)
    response.headers["X-Request-ID"] = request_id
    return response


def create_service_app(*, title: str, description: str) -> FastAPI:
    """A FastAPI app with problem+json errors, request ids and health routes."""
    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=_lifespan)
    install_problem_handlers(app)
    app.middleware("http")(_request_id)
    app.include_router(health_router)
    return app
