"""Settings read from the environment, the same for every process."""

import contextlib
import ipaddress
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The largest page of changes or snapshot rows an instance serves, and so the largest a puller may ask for.
FEDERATION_MAX_PAGE = 5000


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class MissingSecret(RuntimeError):
    """Raised when a production process starts without SECRET_KEY."""


class Settings(BaseSettings):
    """Every setting of CultureZone; one class shared by the three services and the CLI."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str | None = None
    data_dir: Path = Path("./var")
    bind_host: str = "127.0.0.1"
    api_port: int = 8000
    ingest_port: int = 8001
    scheduler_port: int = 8002
    secret_key: str | None = None
    demo_mode: bool = False
    log_level: Annotated[Literal["critical", "error", "warning", "info", "debug"], BeforeValidator(_lower)] = "info"
    log_format: Annotated[Literal["auto", "json", "console"], BeforeValidator(_lower)] = "auto"
    access_token_minutes: int = 8 * 60
    # Password logins: refused for a while once a username, or a client address, has failed this often in the window.
    login_attempts_per_username: int = Field(default=10, ge=1)
    login_attempts_per_address: int = Field(default=50, ge=1)
    login_window_seconds: int = Field(default=15 * 60, ge=1, le=7 * 24 * 3600)
    evidence_max_bytes: int = 20 * 1024 * 1024
    import_max_bytes: int = 10 * 1024 * 1024
    # An xlsx is a zip: its parts' declared sizes and ratios are checked before anything is unpacked.
    import_max_uncompressed_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    import_max_compression_ratio: float = Field(default=100.0, gt=1)
    import_max_rows: int = Field(default=100_000, ge=1)
    evidence_types: list[str] = Field(
        default=[
            "application/pdf",
            "image/jpeg",
            "image/png",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/msword",
            "text/plain",
        ]
    )
    default_timezone: str = "Asia/Shanghai"
    scheduler_tick_seconds: float = 15.0
    # Reporting calendar: reminders this many days before a due date; units down to this level report.
    reminder_days: list[int] = Field(default=[3])
    report_max_level: int = 4
    nightly_hour: int = 2
    catch_up_days: int = 62
    # Outbound deliveries: a WeChat-compatible template-message endpoint, retries with exponential backoff.
    wechat_access_token: str = ""
    delivery_timeout_seconds: float = 5.0
    delivery_max_attempts: int = 5
    delivery_backoff_seconds: float = 60.0
    # Federation: how often the scheduler pulls the peers, how long superseded changes stay in the change log.
    federation_pull_minutes: float = 10.0
    change_log_retention_days: float = 7.0
    # One pull round: peers fetched at once (the puller holds about this many pages), peers writing pages at once,
    # the page size asked of a peer (at most what a peer serves), one request's timeout, tries before a peer fails.
    federation_peers_at_once: int = Field(default=8, ge=1, le=100)
    federation_writers: int = Field(default=2, ge=1, le=100)
    federation_page_limit: int = Field(default=FEDERATION_MAX_PAGE, ge=1, le=FEDERATION_MAX_PAGE)
    federation_timeout_seconds: float = Field(default=20.0, gt=0)
    federation_attempts: int = Field(default=4, ge=1, le=20)
    # Webhooks and peers reach only public addresses, and these (comma-separated CIDRs and host names): intranet peers.
    outbound_allowlist: str = ""
    # Residents' side: WeChat (mini-program login and template messages), request limits, public caching.
    wechat_api_base_url: str = "https://api.weixin.qq.com"
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_timeout_seconds: float = 5.0
    citizen_rate_per_second: float = 20.0  # token bucket per client on public and citizen routes; 0 turns it off
    citizen_rate_burst: int = 60
    json_max_bytes: int = 64 * 1024
    public_cache_seconds: int = 60  # Cache-Control max-age of public reads
    public_server_cache_seconds: float = 2.0  # the API process keeps a public list page this long; 0 turns it off
    booking_max_hours: int = 8
    booking_horizon_days: int = 60
    # The HTTP edge: whose X-Forwarded-For is believed, body caps of staff routes, headers, who reads /metrics.
    forwarded_allow_ips: str = "127.0.0.1"  # the reverse proxy's addresses or networks, comma-separated
    staff_json_max_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    hsts_seconds: int = Field(default=365 * 24 * 3600, ge=0)  # Strict-Transport-Security on https answers; 0: none
    metrics_allow: str = "127.0.0.1,::1"  # addresses or networks that may read /metrics, comma-separated
    metrics_token: str = ""  # or anyone presenting this bearer token

    @field_validator("forwarded_allow_ips", "metrics_allow")
    @classmethod
    def _addresses(cls, value: str) -> str:
        networks(value)
        return value

    @field_validator("outbound_allowlist")
    @classmethod
    def _outbound_allowlist(cls, value: str) -> str:
        from shared.outbound import parse_allowlist  # the policy module reads these settings

        parse_allowlist(value)
        return value

    @property
    def resolved_database_url(self) -> str:
        """The async database URL: DATABASE_URL, else a SQLite file in DATA_DIR."""
        if self.database_url:
            return async_url(self.database_url)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'culturezone.db').resolve()}"

    @property
    def evidence_dir(self) -> Path:
        """Where evidence files are stored."""
        return self.data_dir / "evidence"

    def jwt_secret(self) -> str:
        """The JWT signing key; generated and kept in DATA_DIR in demo mode only."""
        if self.secret_key:
            return self.secret_key
        if not self.demo_mode:
            raise MissingSecret("SECRET_KEY must be set outside demo mode (DEMO_MODE=true)")
        key_file = self.data_dir / "demo_secret_key"
        if not key_file.exists():
            # Three services start at once: write a temp file and link it, so exactly one key wins, whole.
            self.data_dir.mkdir(parents=True, exist_ok=True)
            temp = self.data_dir / f".demo_secret_key.{os.getpid()}"
            write_private(temp, secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):
                os.link(temp, key_file)
            temp.unlink(missing_ok=True)
        return key_file.read_text().strip()


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read (mode 0600), also when it already exists."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


def networks(value: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Comma-separated addresses or CIDR networks; anything else (a host name, `*`) is refused."""
    parsed = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            parsed.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network (name the proxy's addresses)") from None
    return parsed


def async_url(url: str) -> str:
    """Turn a plain postgresql:// or sqlite:// URL into its async-driver form."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings."""
    return Settings()
