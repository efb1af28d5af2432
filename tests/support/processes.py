"""Start the real `culturezone` command and services as child processes on loopback."""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
FIGURE = re.compile(r"^([a-z0-9_]+): ([0-9.]+)( [A-Za-z]+)?$")


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(*, database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The settings a child process reads."""
    return os.environ | {"DATABASE_URL": database_url, "DATA_DIR": str(data_dir)} | extra


def culturezone(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the console command to completion."""
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def bench_figures(*args: str, database_url: str, data_dir: Path) -> dict[str, float]:
    """Run `culturezone bench ARGS` to completion; its figures by name (every line `name: value [unit]`)."""
    env = environment(database_url=database_url, data_dir=data_dir, SECRET_KEY="bench-smoke-secret-0123456789")
    result = culturezone("bench", *args, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = {}
    for line in result.stdout.strip().splitlines():
        match = FIGURE.match(line)
        assert match, f"not a `name: value [unit]` line: {line!r}"
        figures[match.group(1)] = float(match.group(2))
    assert figures["cpu_reference_s"] > 0  # every bench ends with this machine's speed of the day
    return figures


def start_service(name: str, *, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start `culturezone serve NAME` and wait until /healthz answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "serve", name, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{name} did not start on port {port} (exit code {process.poll()})")
