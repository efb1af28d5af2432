"""Public catalogue pages kept for PUBLIC_SERVER_CACHE_SECONDS per API process and answered before routing.

The public catalogue is the same for everyone and changes rarely, so a page one resident asked for is served to
the next ones as it is (like a reverse proxy's micro-cache, but inside the process so that it needs no extra
server). Catalogue writes of this process clear it; pages of other processes are at most that many seconds stale.
Only anonymous GETs of /api/v1/public/service-items… are answered from here, with the same ETag, Cache-Control
and 304 as the route."""

import time

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.config import get_settings

CACHED_PREFIX = "/api/v1/public/service-items"


class PageCache:
    """Recently answered public pages by path and query."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.pages: dict[str, tuple[float, bytes, str]] = {}
        self.refreshing: set[str] = set()

    def get_or_claim(self, key: str) -> tuple[bytes, str] | None:
        """A page to answer with, or None when this request is to ask the route: a fresh page; while one request
        refreshes an expired page, the others get the expired one (no stampede on the database when it expires)."""
        hit = self.pages.get(key)
        if hit is None:
            return None
        if hit[0] >= time.monotonic() or key in self.refreshing:
            return hit[1], hit[2]
        self.refreshing.add(key)
        return None

    def put(self, key: str, content: bytes, tag: str) -> None:
        """Keep a page (unless the cache is turned off)."""
        ttl = get_settings().public_server_cache_seconds
        if ttl <= 0:
            return
        if len(self.pages) >= self.size:
            self.pages.clear()
        self.pages[key] = (time.monotonic() + ttl, content, tag)

    def clear(self) -> None:
        """Forget every page (after a catalogue write)."""
        self.pages.clear()
        self.refreshing.clear()


pages = PageCache()


def cache_key(path: str, query: bytes | str) -> str:
    """The key of a page: its path and raw query string."""
    return f"{path}?{query.decode('latin-1') if isinstance(query, bytes) else query}"


def page_response(content: bytes, tag: str, if_none_match: str | None) -> Response:
    """A public page with its ETag and Cache-Control; 304 when the client holds it already."""
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={get_settings().public_cache_seconds}"}
    candidates = {value.strip().removeprefix("W/") for value in (if_none_match or "").split(",")}
    if tag in candidates or "*" in candidates:
        return Response(status_code=304, headers=headers)
    return Response(content, media_type="application/json", headers=headers)


class PublicPageCache:
    """Answer a GET of a cached public catalogue page without routing, dependencies or the database."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(CACHED_PREFIX):
            key = cache_key(scope["path"], scope.get("query_string", b""))
            hit = pages.get_or_claim(key)
            if hit is not None:
                response = page_response(*hit, Headers(scope=scope).get("if-none-match"))
                await response(scope, receive, send)
                return
            try:
                await self.app(scope, receive, send)
            finally:
                pages.refreshing.discard(key)
            return
        await self.app(scope, receive, send)
