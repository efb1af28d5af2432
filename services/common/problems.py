"""Render every client error as application/problem+json (RFC 9457)."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import AppError

PROBLEM_JSON = "application/problem+json"
# SQLSTATEs of text PostgreSQL cannot store: a NUL character (22021) or one outside the encoding (22P05).
RETRYABLE_SQLSTATES = {"40P01", "40001", "55P03"}  # deadlock, serialization failure, lock not available
UNSTORABLE_TEXT = {"22021", "22P05"}


class ProblemItem(BaseModel):
    """One bad field, or one bad row and column of an imported file or a batch."""

    model_config = ConfigDict(extra="allow")

    field: str | None = None
    row: int | None = None
    column: str | None = None
    message: str


class Problem(BaseModel):
    """The body of every 4xx answer (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemItem] = []


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
    return problem(
        status=exc.status_code,
        title=exc.title,
        detail=exc.detail,
        slug=exc.type_slug,
        errors=exc.errors,
        headers=exc.headers or None,
    )


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


async def database_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Database refusals a client caused or can retry: text it cannot hold (422), a lost lock race (503).
    Anything else is a server fault and goes on to the 500 handler."""
    assert isinstance(exc, DBAPIError)
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES or "database is locked" in str(exc.orig):
        return problem(
            status=503,
            title="Busy",
            detail="the database was busy with another change; retry",
            slug="busy",
            headers={"Retry-After": "1"},
        )
    if sqlstate not in UNSTORABLE_TEXT:
        raise exc
    errors = [
        {"field": name, "message": "holds a NUL character"}
        for name, value in request.query_params.multi_items()
        if "\x00" in value
    ]
    return problem(
        status=422,
        title="Invalid input",
        detail="a text value holds a NUL character, which cannot be stored",
        slug="invalid-input",
        errors=errors,
    )


def _document_problems(schema: dict[str, Any]) -> None:
    """Describe every 4xx answer of every operation as problem+json, in place of FastAPI's own 422 body."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(problem_schema.pop("$defs", {}))
    components["Problem"] = problem_schema
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code, response in responses.items():
                if code.startswith("4"):
                    response["content"] = content
            responses.setdefault("4XX", {"description": "refused: a problem+json body says why", "content": content})


def install_problem_handlers(app: FastAPI) -> None:
    """Register every handler on an app and describe their answers in its OpenAPI."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _document_problems(generate())
        return generate()

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_exception_handler(AppError, app_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(IntegrityError, integrity_error_handler)
    app.add_exception_handler(DBAPIError, database_error_handler)
