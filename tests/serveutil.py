"""A running `adsgen serve` subprocess for tests: a free port, wait until it answers, stop."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx

from cliutil import ADSGEN, subprocess_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(url: str, *args: str, **env: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`adsgen serve --db url` on a free loopback port: (base URL, process), stopped after.

    Fails when the server does not answer /api/v1/health within 30 s."""
    port = free_port()
    process = subprocess.Popen(
        [ADSGEN, "serve", "--db", url, "--port", str(port), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env(**env))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                _, err = process.communicate()
                raise AssertionError(f"adsgen serve did not start: {err[-2000:]}")
            time.sleep(0.1)
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
