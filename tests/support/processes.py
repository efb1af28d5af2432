"""Start the real `culturezone` command and services as child processes on loopback."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


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
