"""Errors that carry their HTTP status; one handler renders them as problem+json."""

from typing import Any


class AppError(Exception):
    """Base of every error a client can cause."""

    status_code = 400
    title = "Bad request"
    type_slug = "bad-request"
    # The request's session commits what was flushed before the error instead of rolling it back (a failed login is
    # recorded although the login is refused).
    keep_changes = False

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.headers: dict[str, str] = {}


class NotFound(AppError):
    """The thing asked for does not exist or is outside the caller's view."""

    status_code = 404
    title = "Not found"
    type_slug = "not-found"


class Conflict(AppError):
    """The request clashes with what is stored (duplicate code, cycle, wrong state)."""

    status_code = 409
    title = "Conflict"
    type_slug = "conflict"


class InvalidInput(AppError):
    """A field holds a value the domain refuses."""

    status_code = 422
    title = "Invalid input"
    type_slug = "invalid-input"

    def __init__(self, detail: str, *, field: str | None = None, errors: list[dict[str, Any]] | None = None) -> None:
        if errors is None and field is not None:
            errors = [{"field": field, "message": detail}]
        super().__init__(detail, errors=errors)


class ImportRefused(InvalidInput):
    """An import found bad rows and wrote nothing; `errors` lists every row and why."""

    title = "Import refused"
    type_slug = "import-refused"


class Unauthenticated(AppError):
    """No valid credentials."""

    status_code = 401
    title = "Unauthenticated"
    type_slug = "unauthenticated"


class FailedLogin(Unauthenticated):
    """Wrong credentials; the recorded failure is kept."""

    keep_changes = True


class TooManyAttempts(AppError):
    """Too many failed logins lately; retry after the given number of seconds."""

    status_code = 429
    title = "Too many requests"
    type_slug = "too-many-requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class ScopeDenied(AppError):
    """The caller's role or org-unit scope does not allow this."""

    status_code = 403
    title = "Forbidden"
    type_slug = "forbidden"


class PreconditionFailed(AppError):
    """If-Match named a version that is no longer current."""

    status_code = 412
    title = "Precondition failed"
    type_slug = "precondition-failed"


class PreconditionRequired(AppError):
    """An update came without If-Match."""

    status_code = 428
    title = "Precondition required"
    type_slug = "precondition-required"


class PayloadTooLarge(AppError):
    """An upload exceeds the configured limit."""

    status_code = 413
    title = "Payload too large"
    type_slug = "payload-too-large"


class UnsupportedMediaType(AppError):
    """An upload of a type the platform refuses."""

    status_code = 415
    title = "Unsupported media type"
    type_slug = "unsupported-media-type"
