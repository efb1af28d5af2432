"""Render every client error as application/problem+json (RFC 9457)."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import AppError

PROBLEM_JSON = "application/problem+json"


def problem(
    *,
    status: int,
    title: str,
    detail: str,
    slug: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": f"https://culturezone.example/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
        errors.append({"field": ".".join(location) or None, "message": error.get("msg", "invalid")})
    return errors


async def app_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Domain errors carry their own status."""
    assert isinstance(exc, AppError)
    return problem(status=exc.status_code, title=exc.title, detail=exc.detail, slug=exc.type_slug, errors=exc.errors)


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Request bodies and parameters that do not parse."""
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    first = errors[0] if errors else {"field": None, "message": "invalid request"}
    detail = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    return problem(status=422, title="Invalid input", detail=detail, slug="invalid-input", errors=errors)


async def http_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (404 route, 405 method) in the same shape."""
    assert isinstance(exc, StarletteHTTPException)
    return problem(
        status=exc.status_code,
        title=str(exc.detail),
        detail=str(exc.detail),
        slug="http-error",
        headers=getattr(exc, "headers", None),
    )


async def integrity_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """A constraint the service layer did not foresee: still the client's conflict, never a 500."""
    return problem(
        status=409,
        title="Conflict",
        detail="the change conflicts with stored data",
        slug="conflict",
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Register every handler on an app."""
    app.add_exception_handler(AppError, app_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(IntegrityError, integrity_error_handler)
