"""`shopbot serve` as its own process (or processes), for tests and benchmarks.

`Served` starts the real command on a free loopback port with the settings given, waits
until `/healthz` answers 200 (or the process ends, which fails with its log), and stops it
with SIGTERM. `get` and `post` speak plain HTTP to it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["ROOT", "SECRET", "Served", "free_port", "get", "post"]

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-token_for-tests"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


def post(url: str, payload: Any, secret: str | None = None,
         timeout: float = 5) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


class Served:
    """One `shopbot serve` (with its workers) on a free port; see the module docstring."""

    def __init__(self, workdir: Path, *, token: str, api_url: str, database_url: str,
                 workers: int = 1, path: str = "/telegram", **settings: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = self.base + path
        self.log = workdir / f"serve-{self.port}.log"
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith(("SHOPBOT_", "PROMETHEUS_"))}
        self.env.update({
            "SHOPBOT_TELEGRAM_TOKEN": token, "SHOPBOT_TELEGRAM_API_URL": api_url,
            "SHOPBOT_DATABASE_URL": database_url, "SHOPBOT_WEBHOOK_URL": self.url,
            "SHOPBOT_WEBHOOK_LISTEN": f"127.0.0.1:{self.port}",
            "SHOPBOT_WEBHOOK_SECRET": SECRET, "SHOPBOT_WORKERS": str(workers),
            "SHOPBOT_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT),
            **{f"SHOPBOT_{key.upper()}": value for key, value in settings.items()},
        })
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120) -> Served:
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve"], env=self.env, cwd=self.workdir,
                stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"shopbot serve exited with {self.process.returncode}:\n"
                                     f"{self.output()}")
            try:
                if get(self.base + "/healthz", timeout=2)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"shopbot serve did not get healthy:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-6000:]

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as systemd and Docker stop it; the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        return int(self.process.returncode)

    def __enter__(self) -> Served:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
