"""Where the platform may send a request whose address a user chose (webhook channels, federation peers).

A URL is checked twice: when it is registered (its form, and the addresses its host resolves to) and when a request
goes out. At send time the host is resolved once, every address is checked, and the connection goes to a checked
address: a name that resolves to a public address at the first lookup and to loopback at the next (DNS rebinding)
never reaches loopback. Addresses that are not public are refused unless OUTBOUND_ALLOWLIST names them (CIDRs) or the
URL's host (host names), for intranets where peers live on private addresses.
"""

import asyncio
import ipaddress
import socket
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from shared.config import get_settings
from shared.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RESOLVE_TIMEOUT_S = 5.0
NAT64 = ipaddress.ip_network("64:ff9b::/96")

# The generic reasons a failed outbound request is recorded with: never the peer's answer, never the socket error
# (which would tell an open port from a closed one).
REFUSED = "address not allowed"
UNREACHABLE = "unreachable"
INVALID_ANSWER = "invalid answer"


class AddressRefused(Exception):
    """The host resolved to an address the outbound policy refuses (raised instead of connecting)."""


@dataclass(frozen=True)
class Allowlist:
    """OUTBOUND_ALLOWLIST parsed: networks and host names that may be reached although not public."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    def covers_host(self, host: str) -> bool:
        """Whether the URL's host is named in the allowlist."""
        return _host_key(host) in self.hosts

    def covers_address(self, address: IPAddress) -> bool:
        """Whether an address lies in one of the allowlisted networks."""
        candidates = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        return any(candidate in network for candidate in candidates for network in self.networks)


def _host_key(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def parse_allowlist(text: str) -> Allowlist:
    """Comma-separated CIDRs (or single addresses) and host names; ValueError naming a bad entry."""
    networks, hosts = [], set()
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        name = _host_key(entry)
        if not name or any(not (c.isalnum() or c in "-._") for c in name):
            raise ValueError(f"OUTBOUND_ALLOWLIST entry {entry!r} is neither a CIDR nor a host name")
        hosts.add(name)
    return Allowlist(networks=tuple(networks), hosts=frozenset(hosts))


def allowlist() -> Allowlist:
    """The allowlist of the current settings."""
    return parse_allowlist(get_settings().outbound_allowlist)


def is_public(address: IPAddress) -> bool:
    """A globally routable unicast address (and no private address embedded in an IPv6 one)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour]
        if address.teredo is not None:
            embedded.extend(address.teredo)
        if address in NAT64:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if any(inner is not None and not is_public(inner) for inner in embedded):
            return False
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def address_allowed(address: IPAddress, *, host: str, allowed: Allowlist) -> bool:
    """Whether a request for `host` may connect to `address`."""
    return is_public(address) or allowed.covers_address(address) or allowed.covers_host(host)


def _has_control_or_space(text: str) -> bool:
    return any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Zs") for c in text)


def check_url(url: str, *, field: str, base: bool = False) -> str:
    """An absolute http(s) URL without whitespace, control characters or userinfo (a base URL: nor query or fragment);
    422 naming `field` otherwise."""

    def refuse(why: str) -> InvalidInput:
        return InvalidInput(f"the URL {why}", field=field)

    if not isinstance(url, str) or not url:
        raise refuse("is empty")
    if _has_control_or_space(url):
        raise refuse("must not contain whitespace or control characters (tab, CR, LF …)")
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in ("http", "https") or not rest:
        raise refuse("must be an absolute http:// or https:// URL")
    if "\\" in url:
        raise refuse("must not contain a backslash")
    try:
        parts = urlsplit(url)
        port = parts.port
        parsed = httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        raise refuse("is not a valid URL (host or port)") from None
    if "@" in parts.netloc:
        raise refuse("must not carry a user name or password")
    if base and ("?" in url or "#" in url):
        raise refuse("of a peer must not have a query (?…) or a fragment (#…): give the instance's base URL")
    if not parts.hostname or not parsed.host or port == 0:
        raise refuse("must name a host")
    return url.rstrip("/") if base else url


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (numeric spellings such as 127.1 or 0x7f000001 included, as a socket would)."""
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM), timeout=RESOLVE_TIMEOUT_S
    )
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))


def _refused(host: str) -> str:
    return (
        f"the host {host} is or resolves to an address that is not public (loopback, private, link-local …); "
        "only public addresses, or those an operator allowed in OUTBOUND_ALLOWLIST, may be reached"
    )


async def check_destination(url: str, *, field: str) -> None:
    """Refuse (422 naming `field`) a URL whose host is or resolves to an address the policy refuses.

    A name that does not resolve now is accepted: every request checks the address again when it goes out."""
    parsed = httpx.URL(url)
    host, allowed = parsed.host, allowlist()
    if allowed.covers_host(host):
        return
    try:
        addresses = await resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80))
    except (OSError, TimeoutError, UnicodeError):
        return
    if any(not address_allowed(address, host=host, allowed=allowed) for address in addresses):
        raise InvalidInput(_refused(host), field=field)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves each host once, checks every address, and connects to a checked one (never to a second lookup)."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        allowed = allowlist()
        try:
            addresses = await resolve(host, port)
        except (OSError, TimeoutError, UnicodeError) as exc:
            raise httpcore.ConnectError(UNREACHABLE) from exc
        if not addresses or any(not address_allowed(a, host=host, allowed=allowed) for a in addresses):
            raise AddressRefused(REFUSED)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout, OSError) as exc:
                last = exc
        raise httpcore.ConnectError(UNREACHABLE) from last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused(REFUSED)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """An httpx transport whose connections only reach addresses the outbound policy allows (no proxies)."""

    def __init__(self, *, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits()
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(),
        )


def guarded_client(*, timeout: float | None = None, limits: httpx.Limits | None = None) -> httpx.AsyncClient:
    """An httpx client for user-chosen URLs: the outbound policy at connect time, no proxies, no redirects."""
    return httpx.AsyncClient(
        transport=GuardedTransport(limits=limits), timeout=timeout, trust_env=False, follow_redirects=False
    )


def reason(exc: BaseException) -> str:
    """The generic reason recorded for a failed outbound request."""
    if isinstance(exc, AddressRefused):
        return REFUSED
    if isinstance(exc, ValueError):
        return INVALID_ANSWER
    return UNREACHABLE
