"""JSON log lines with request ids, and the Prometheus metrics every process exposes at /metrics."""

import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import structlog
from prometheus_client import Counter, Gauge, Histogram

from shared.config import get_settings
from shared.errors import AppError

# The same tokens nginx forwards (deploy/nginx.conf); anything else gets a fresh id.
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
_process = {"service": "culturezone"}

HTTP_REQUEST_SECONDS = Histogram(
    "culturezone_http_request_duration_seconds",
    "Time from request to the last byte of the response, by route template.",
    ["service", "method", "route"],
)
HTTP_REQUESTS = Counter(
    "culturezone_http_requests",
    "Requests answered, by route template and status class (2xx, 4xx …).",
    ["service", "method", "route", "status_class"],
)
HTTP_ERRORS = Counter(
    "culturezone_http_errors",
    "Requests answered with a 4xx or 5xx status, by route template and status class.",
    ["service", "method", "route", "status_class"],
)
COMPUTATION_SECONDS = Histogram(
    "culturezone_indicator_computation_duration_seconds",
    "Indicator computations for a subtree and period (ok, refused, error).",
    ["outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
IMPORT_SECONDS = Histogram(
    "culturezone_import_duration_seconds",
    "File imports by kind (ok, refused with row errors, error).",
    ["kind", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
SCHEDULER_TICK_SECONDS = Histogram(
    "culturezone_scheduler_tick_duration_seconds",
    "One scheduler tick: the leadership attempt and, on the leader, the jobs.",
)
SCHEDULER_LEADER = Gauge("culturezone_scheduler_leader", "1 while this scheduler instance leads, else 0.")


def _add_service(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    event_dict.setdefault("service", _process["service"])
    return event_dict


FIRST_KEYS = ("timestamp", "level", "event", "service", "request_id", "method", "path", "status", "duration_ms")


def _first_keys_first(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    ordered = {key: event_dict.pop(key) for key in FIRST_KEYS if key in event_dict}
    return ordered | event_dict


_PRE_CHAIN = (
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
    _add_service,
)


def json_formatter() -> logging.Formatter:
    """The formatter that renders every record, from structlog or plain logging, as one JSON line."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=list(_PRE_CHAIN),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _first_keys_first,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )


def console_formatter(*, colors: bool) -> logging.Formatter:
    """The formatter for a person at a terminal: time, level, event, then the fields as key=value."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=list(_PRE_CHAIN),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _first_keys_first,
            structlog.dev.ConsoleRenderer(colors=colors, sort_keys=False),
        ],
    )


def log_formatter(*, stream: Any, log_format: str) -> logging.Formatter:
    """JSON lines for machines (when asked, or when stderr is not a terminal), readable lines for a terminal."""
    at_terminal = bool(getattr(stream, "isatty", lambda: False)())
    if log_format == "json" or (log_format == "auto" and not at_terminal):
        return json_formatter()
    return console_formatter(colors=at_terminal)


class _JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler this module installs, so that configuring again replaces it."""


def configure_logging(*, service: str, level: str | None = None) -> None:
    """Send every log record of the process to stderr (JSON lines unless a person reads it at a terminal);
    uvicorn's access log gives way to ours."""
    _process["service"] = service
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_PRE_CHAIN,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    for handler in [handler for handler in root.handlers if isinstance(handler, _JsonHandler)]:
        root.removeHandler(handler)
    handler = _JsonHandler(sys.stderr)
    handler.setFormatter(log_formatter(stream=sys.stderr, log_format=get_settings().log_format))
    root.addHandler(handler)
    root.setLevel((level or get_settings().log_level).upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True


def sane_request_id(candidate: str | None) -> str | None:
    """The caller's request id when it is a short token (it goes into logs and the audit log), else None."""
    return candidate if candidate and SANE_REQUEST_ID.match(candidate) else None


def current_request_id() -> str | None:
    """The id of the request being served, if any."""
    return request_id_var.get()


def status_class(status: int) -> str:
    """200 → "2xx"."""
    return f"{status // 100}xx"


@contextmanager
def timed(histogram: Histogram, **labels: str) -> Iterator[None]:
    """Observe the duration of a block with an outcome label: ok, refused (an AppError) or error."""
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    except AppError:
        outcome = "refused"
        raise
    finally:
        histogram.labels(**labels, outcome=outcome).observe(time.perf_counter() - started)
