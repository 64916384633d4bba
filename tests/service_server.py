"""`extractor serve` started for real: a uvicorn subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

ROOT = Path(__file__).parent.parent
_MAIN = "from extractor.cli import main; main()"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_key(db: str, name: str, *extra: str) -> str:
    """`extractor keys create NAME --db DB`: the key is the last line of stdout."""
    return create_key_and_secret(db, name, *extra)[0]


def create_key_and_secret(db: str, name: str, *extra: str) -> tuple[str, str]:
    """The key and its webhook secret, as `keys create` prints them."""
    from extractor.cli import app

    result = CliRunner().invoke(app, ["keys", "create", name, "--db", db, *extra])
    assert result.exit_code == 0, result.output
    *_, secret_line, key = result.stdout.strip().splitlines()
    return key, secret_line.removeprefix("webhook secret: ")


class ServiceProcess:
    """One `extractor serve` process; `log` is its stderr (JSON lines)."""

    def __init__(self, db: str, *args: str, log: Path, env: dict[str, str] | None = None) -> None:
        self.db = db
        self.args = list(args)
        self.log_path = log
        self.env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def in_folder(cls, folder: Path, *args: str) -> ServiceProcess:
        """A server whose SQLite database, response cache and log are in `folder`."""
        db = f"sqlite:///{folder / 'service.db'}"
        return cls(db, *args, log=folder / "serve.log", env={"EXTRACTOR_CACHE_DIR": str(folder)})

    def start(self, timeout: float = 90.0) -> ServiceProcess:
        return self.launch().wait_ready(timeout)

    def launch(self) -> ServiceProcess:
        """Start the process without waiting for it to answer."""
        command = [sys.executable, "-c", _MAIN, "serve", "--port", str(self.port), "--db", self.db]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*command, *self.args],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT), **self.env},
                stdout=log,
                stderr=log,
            )
        return self

    def wait_ready(self, timeout: float = 90.0) -> ServiceProcess:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited {self.proc.returncode}: {self.log[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"serve did not answer within {timeout} s: {self.log[-2000:]}")

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def client(self, key: str | None = None, **kw: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kw)

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM; the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()
