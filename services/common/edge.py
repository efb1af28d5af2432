"""The HTTP edge of every service: request body caps per route, security headers, who reads /metrics."""

import hmac
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.limits import CITIZEN_PREFIXES
from services.common.problems import problem
from shared.config import Settings, get_settings, networks

SMALL_BODY_BYTES = 8 * 1024  # login forms, and routes that take no body at all
MULTIPART_ALLOWANCE = 64 * 1024  # the form fields and part headers around an uploaded file
# Upload routes and the setting that limits their file.
UPLOAD_LIMITS: dict[str, Callable[[Settings], int]] = {
    "/api/v1/tasks/{task_id}/evidence": lambda settings: settings.evidence_max_bytes,
    "/ingest/v1/imports": lambda settings: settings.import_max_bytes,
}
# Answers a shared cache or a browser must never keep: tokens, and a resident's own data; files are recognised by
# their Content-Disposition.
NO_STORE_PATHS = re.compile(r"^/api/v1/(auth/token|auth/wechat|users/[^/]+/api-tokens|me/data)$")


def _limit_kind(path: str, operation: dict[str, Any]) -> Callable[[Settings], int]:
    content = operation.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in content:
        upload = UPLOAD_LIMITS.get(path, lambda settings: max(settings.evidence_max_bytes, settings.import_max_bytes))
        return lambda settings: upload(settings) + MULTIPART_ALLOWANCE
    if any("json" in media_type for media_type in content):
        if path.startswith(CITIZEN_PREFIXES):
            return lambda settings: settings.json_max_bytes
        return lambda settings: settings.staff_json_max_bytes
    return lambda _settings: SMALL_BODY_BYTES  # no body, or a login form


@dataclass(frozen=True)
class _RouteLimit:
    method: str
    pattern: re.Pattern[str]
    limit: Callable[[Settings], int]


def route_limits(schema: dict[str, Any]) -> list[_RouteLimit]:
    """The body cap of every operation of an OpenAPI document, derived from the request body it declares."""
    limits = []
    for path, item in schema.get("paths", {}).items():
        pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")
        for method, operation in item.items():
            if isinstance(operation, dict):
                limits.append(_RouteLimit(method.upper(), pattern, _limit_kind(path, operation)))
    return limits


class BodyLimit:
    """Refuse a request body larger than its route takes (413) while it streams in, before any login is checked.

    The cap is the route's, whatever the Content-Type says; chunked bodies are counted as they arrive.
    """

    def __init__(self, app: ASGIApp, *, schema: Callable[[], dict[str, Any]]) -> None:
        self.app = app
        self.schema = schema
        self._limits: list[_RouteLimit] | None = None

    def limit_for(self, method: str, path: str) -> int:
        """The most a body sent to this method and path may hold."""
        if self._limits is None:
            self._limits = route_limits(self.schema())
        settings = get_settings()
        caps = [entry.limit(settings) for entry in self._limits if entry.method == method and entry.pattern.match(path)]
        return max(caps, default=SMALL_BODY_BYTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > limit:
            await _too_large(scope, receive, send, limit)
            return
        received, exceeded, started = 0, False, False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # whatever the route made of a body cut short, the answer is the 413 below
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await _too_large(scope, receive, send, limit)


class BodyTooLarge(Exception):
    """A request body went past its route's cap."""


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    response = problem(
        status=413,
        title="Payload too large",
        detail=f"the request body may hold at most {limit} bytes on this route",
        slug="payload-too-large",
    )
    await response(scope, receive, send)


class SecurityHeaders:
    """Headers every answer carries: no sniffing, no framing, no referrer; HSTS over https; no-store on tokens
    and files."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hsts = get_settings().hsts_seconds if scope.get("scheme") == "https" else 0
        no_store = bool(NO_STORE_PATHS.match(scope["path"]))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(name, value) for name, value in message.get("headers", [])]
                names = {name.lower() for name, _value in headers}
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", b"frame-ancestors 'none'"))
                if hsts:
                    headers.append((b"strict-transport-security", f"max-age={hsts}".encode()))
                if no_store or b"content-disposition" in names:
                    headers = [(name, value) for name, value in headers if name.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


@lru_cache(maxsize=8)
def _allowed_networks(value: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return networks(value)


def may_read_metrics(*, client: str | None, authorization: str) -> bool:
    """A client address in METRICS_ALLOW, or the bearer token METRICS_TOKEN."""
    settings = get_settings()
    if settings.metrics_token:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), settings.metrics_token.encode()):
            return True
    try:
        address = ipaddress.ip_address(client or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in _allowed_networks(settings.metrics_allow))
