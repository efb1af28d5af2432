"""Only the reverse proxy names the client: X-Forwarded-For from anyone else cannot buy fresh rate-limit buckets."""

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from shared.config import Settings
from tests.support.processes import ROOT, environment, free_port, start_service

PUBLIC = "/api/v1/public/service-items"
BURST = 3


class _ComposeLoader(yaml.SafeLoader):
    """Reads compose files with their `!reset` tags."""


_ComposeLoader.add_constructor("!reset", lambda loader, node: None)


def _compose_prod() -> dict:
    return yaml.load((ROOT / "deploy" / "compose.prod.yml").read_text(), Loader=_ComposeLoader)


def test_the_shipped_deployments_trust_only_their_proxy() -> None:
    compose = _compose_prod()
    nginx_address = compose["services"]["nginx"]["networks"]["default"]["ipv4_address"]
    for service in ("api", "ingest"):
        assert compose["services"][service]["environment"]["FORWARDED_ALLOW_IPS"] == nginx_address
    configmap = yaml.safe_load((ROOT / "deploy" / "k8s" / "configmap.yaml").read_text())
    env_lines = (ROOT / "deploy" / "culturezone.env.example").read_text().splitlines()
    shipped = [
        nginx_address,
        configmap["data"]["FORWARDED_ALLOW_IPS"],
        next(line.split("=", 1)[1] for line in env_lines if line.startswith("FORWARDED_ALLOW_IPS=")),
    ]
    for value in shipped:
        assert Settings(forwarded_allow_ips=value).forwarded_allow_ips == value
    assert Settings().forwarded_allow_ips == "127.0.0.1"
    # nginx overwrites the header with the address it sees instead of appending to the client's list.
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    directives = re.findall(r"^\s*proxy_set_header\s+X-Forwarded-For\s+(\S+);", nginx, flags=re.MULTILINE)
    assert directives == ["$remote_addr"]


@pytest.mark.parametrize("value", ["*", "nginx", "10.0.0.0/33"])
def test_a_proxy_setting_that_is_not_addresses_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="forwarded_allow_ips"):
        Settings(forwarded_allow_ips=value)


@pytest.fixture
def serve(own_database_url: str, tmp_path: Path) -> Iterator:
    started = []

    def start(forwarded_allow_ips: str) -> str:
        env = environment(
            database_url=own_database_url,
            data_dir=tmp_path,
            SECRET_KEY="forwarded-for-test-secret-0123456789",
            FORWARDED_ALLOW_IPS=forwarded_allow_ips,
            CITIZEN_RATE_PER_SECOND="0.001",
            CITIZEN_RATE_BURST=str(BURST),
            PUBLIC_SERVER_CACHE_SECONDS="0",
        )
        port = free_port()
        started.append(start_service("api", port=port, env=env))
        return f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def _statuses(base_url: str, *, source: str, forwarded: list[str]) -> list[int]:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=base_url, transport=transport, timeout=10) as http:
        return [http.get(PUBLIC, headers={"X-Forwarded-For": address}).status_code for address in forwarded]


def test_rotating_x_forwarded_for_from_a_client_does_not_escape_the_public_limit(serve) -> None:
    # As compose.prod.yml ships it: a client that is not nginx (here 127.0.0.1) writes its own header.
    base_url = serve(_compose_prod()["services"]["api"]["environment"]["FORWARDED_ALLOW_IPS"])
    rotating = [f"203.0.113.{n}, 198.51.100.{n}" for n in range(1, 9)]
    statuses = _statuses(base_url, source="127.0.0.1", forwarded=rotating)
    assert statuses[:BURST] == [200] * BURST
    assert statuses[BURST:] == [429] * (len(rotating) - BURST)


def test_the_trusted_proxy_names_the_client(serve) -> None:
    base_url = serve("127.0.0.2")
    # From the proxy's address, each forwarded client has a bucket of its own ...
    clients = [f"203.0.113.{n}" for n in range(1, 9)]
    assert _statuses(base_url, source="127.0.0.2", forwarded=clients) == [200] * len(clients)
    # ... and one forwarded client is limited like any other,
    again = _statuses(base_url, source="127.0.0.2", forwarded=["203.0.113.1"] * BURST)
    assert again == [200] * (BURST - 1) + [429]
    # while a client beside the proxy cannot rotate its way past the limit.
    rotating = [f"198.51.100.{n}" for n in range(1, 9)]
    statuses = _statuses(base_url, source="127.0.0.1", forwarded=rotating)
    assert statuses[:BURST] == [200] * BURST and statuses[BURST:] == [429] * (len(rotating) - BURST)
