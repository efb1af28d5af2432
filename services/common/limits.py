"""Protection of the public and residents' routes (what a mini-program calls): a token bucket per client (429 with
Retry-After), answered as problem+json before any route or database work. Body caps: services.common.edge."""

import hashlib
import math
import time
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.problems import problem
from shared.config import get_settings

# Routes a mini-program or app calls: public reads and the residents' own actions.
CITIZEN_PREFIXES = (
    "/api/v1/public/",
    "/api/v1/auth/wechat",
    "/api/v1/orders",
    "/api/v1/bookings",
    "/api/v1/ratings",
    "/api/v1/feedback",
    "/api/v1/volunteers",
    "/api/v1/proposals",
    "/api/v1/me",
)
MAX_CLIENTS = 100_000


@dataclass
class TokenBucket:
    """Tokens per client, refilled at `rate` per second up to `burst`; rate 0 lets everything through."""

    rate: float
    burst: int
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: str, *, at: float | None = None) -> float:
        """0 when the client may go on, else the seconds until its next token."""
        if self.rate <= 0:
            return 0.0
        moment = time.monotonic() if at is None else at
        tokens, last = self.buckets.get(key, (float(self.burst), moment))
        tokens = min(float(self.burst), tokens + (moment - last) * self.rate)
        if tokens < 1:
            self.buckets[key] = (tokens, moment)
            return (1 - tokens) / self.rate
        if len(self.buckets) >= MAX_CLIENTS and key not in self.buckets:
            self.buckets.clear()  # a crude bound on memory: a flood of new clients starts everyone afresh
        self.buckets[key] = (tokens - 1, moment)
        return 0.0

    def configure(self, *, rate: float, burst: int) -> None:
        """New limits (tests, operators), every bucket full again."""
        self.rate, self.burst = rate, burst
        self.buckets.clear()


limiter = TokenBucket(rate=get_settings().citizen_rate_per_second, burst=get_settings().citizen_rate_burst)


PUBLIC_PREFIXES = ("/api/v1/public/", "/api/v1/auth/wechat")


def _client_key(scope: Scope) -> str:
    """The client address on public routes (made-up tokens must not buy fresh buckets); on residents' routes the
    bearer token's digest (each resident their own bucket), else the address."""
    if scope["path"].startswith(PUBLIC_PREFIXES):
        client = scope.get("client")
        return "a:" + (client[0] if client else "unknown")
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return "t:" + hashlib.sha256(value[7:]).hexdigest()[:32]
    client = scope.get("client")
    return "a:" + (client[0] if client else "unknown")


class CitizenProtection:
    """Rate-limit the public and residents' routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if not path.startswith(CITIZEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        wait = limiter.take(_client_key(scope))
        if wait > 0:
            retry = str(max(1, math.ceil(wait)))
            response = problem(
                status=429,
                title="Too many requests",
                detail=f"slow down: retry in {retry} s",
                slug="rate-limited",
                headers={"Retry-After": retry},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
