"""`extractor batch --engine ray` on a real local Ray cluster (2 CPUs), against the scripted fake
server on loopback (its answers are SCRIPTED test data from tests/data/pipeline/, not model
output). One cluster serves the module; command-line runs in a subprocess join it by address.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, read_jsonl, scripted
from fake_openai import FakeOpenAI, Step

from extractor.engine import Extractor, Options
from extractor.model.limits import RateLimiter

ANSWER = Step(content=scripted("answer_000.json"))
TEXT = (SEEDS / "000_bc9a927a736966c8.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def cluster():
    """A local Ray with 2 CPUs for the whole module; yields its address for `--address`."""
    ray = pytest.importorskip(
        "ray", reason="Ray is not installed: pip install 'grounded-news-extractor[ray]'"
    )
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture
def shared_cache(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A Redis URL when a server can start (a cluster's shared cache), else a diskcache folder,
    which the workers of a one-machine cluster share as well."""
    try:
        return request.getfixturevalue("redis_url")
    except pytest.skip.Exception:
        return str(tmp_path / "shared-cache")


def write_input(path: Path, n: int) -> set[str]:
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            row = {"id": f"a{i:03d}", "title": f"Artikel {i}", "text": TEXT, "language": "de"}
            f.write(json.dumps(row) + "\n")  # the title makes each request its own
    return {f"a{i:03d}" for i in range(n)}


def options(server: FakeOpenAI, **kw: object) -> Options:
    kw.setdefault("use_cache", False)  # the workers' environment is not the test's
    return Options(model="openai:test-model", base_url=server.base_url, **kw)


def run(server: FakeOpenAI, src: Path, out: Path, **kw: object):
    from extractor.batch.ray_engine import run_ray_batch

    opts = kw.pop("options", None) or options(server)
    kw.setdefault("resume", False)
    return run_ray_batch(Extractor(opts), src, out, progress=False, **kw)


def ids_of(path: Path) -> list[str]:
    return [line["article_id"] for line in read_jsonl(path)]


@pytest.mark.slow
def test_import_extractor_never_imports_ray():
    code = (
        "import sys, extractor, extractor.batch.cli, extractor.cli\n"
        "assert 'ray' not in sys.modules, 'ray was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_without_ray_installed_the_engine_says_how_to_get_it(cli, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` does when it is missing
    result = cli("batch", SEEDS, "--out", tmp_path / "out.jsonl", "--engine", "ray")
    assert result.exit_code == 2
    assert "pip install 'grounded-news-extractor[ray]'" in result.output


def test_a_pause_holds_the_next_acquire_even_without_limits():
    now, slept = [0.0], []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(clock=lambda: now[0], sleep=sleep)
    limiter.pause(2.0)
    limiter.pause(1.0)  # a shorter pause never shortens a longer one
    assert asyncio.run(limiter.acquire(10)) == 2.0
    assert slept == [2.0]


def count_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def wait_for_lines(path: Path, n: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while count_lines(path) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return count_lines(path)


@pytest.mark.cluster
@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")
def test_300_articles_once_each_through_a_killed_worker_then_a_rerun_from_the_shared_cache(
    cluster, fake, shared_cache, tmp_path
):
    """A worker process killed mid-run: Ray restarts the actor and runs its batch again, and
    still every id is one line. A rerun asks the model nothing: the shared cache answers."""
    psutil = pytest.importorskip("psutil", reason="pip install psutil")
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_input(src, 300)
    some = tmp_path / "some.jsonl"  # 40 of them again, into a new output
    some.write_text("".join(src.read_text(encoding="utf-8").splitlines(True)[:40]))
    from extractor.model.cache import open_cache

    open_cache(shared_cache).clear()
    killed: list[int] = []

    def kill_a_worker() -> None:
        wait_for_lines(out, 60)
        for proc in psutil.Process().children(recursive=True):
            if "MapWorker" in " ".join(proc.cmdline()):
                proc.send_signal(signal.SIGKILL)
                killed.append(proc.pid)
                return

    with fake(default=ANSWER, latency=0.05) as server:
        opts = options(server, use_cache=True, cache_dir=shared_cache)
        killer = threading.Thread(target=kill_a_worker)
        killer.start()
        summary = run(server, src, out, options=opts, workers=2, concurrency_per_worker=8)
        killer.join()
        asked = len(server.requests)
        # in two windows (25 and 15 articles), each on an actor pool of its own
        rerun = run(server, some, tmp_path / "again.jsonl", options=opts, workers=2, window=25)
        assert len(server.requests) == asked  # every answer came from the shared cache
    assert killed, "no worker process was found to kill"
    got = ids_of(out)
    assert sorted(got) == sorted(ids) and len(got) == len(set(got))
    assert all(line["error"] is None and len(line["figures"]) == 3 for line in read_jsonl(out))
    assert (summary.articles, summary.failed, summary.ok) == (300, 0, 300)
    assert asked >= 300
    assert (rerun.articles, rerun.cached, rerun.failed) == (40, 40, 0)
    assert sorted(ids_of(tmp_path / "again.jsonl")) == sorted(ids)[:40]


@pytest.mark.cluster
@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")
def test_killed_driver_then_resume_writes_each_id_once(cluster, fake, tmp_path):
    """The killed driver joined the module's cluster (`--address`); the rerun starts a local
    Ray of its own, as a command without `--address` does, and stops it."""
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_input(src, 60)
    with fake(default=ANSWER, latency=0.1) as server:
        args = [
            "batch", src, "--out", out, "--engine", "ray", "--workers", "1",
            "--concurrency-per-worker", "4", "--model", "openai:test-model",
            "--base-url", server.base_url, "--no-cache",
        ]  # fmt: skip
        command = [sys.executable, "-c", "from extractor.cli import main; main()", *map(str, args)]
        driver = subprocess.Popen(
            [*command, "--address", cluster],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            killed_at = wait_for_lines(out, 15)
        finally:
            driver.send_signal(signal.SIGKILL)
            driver.wait()
        done = count_lines(out)
        assert 15 <= killed_at <= done < 60
        rerun = subprocess.run(
            [*command, "--resume"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert rerun.returncode == 0, rerun.stderr
    assert f"resume: {done} articles already done" in rerun.stderr
    assert f"articles: {60 - done} ({60 - done} ok, 0 failed)" in rerun.stderr
    assert "INFO" not in rerun.stderr  # Ray Data's chatter stays in its logs
    got = ids_of(out)  # every line parses
    assert sorted(got) == sorted(ids) and len(got) == len(set(got))


class TimedFake(FakeOpenAI):
    """The fake server, also noting when each chat request arrived."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)
        self.times: list[float] = []

    def _chat_reply(self, request: dict) -> object:
        with self._lock:
            self.times.append(time.monotonic())
        return super()._chat_reply(request)


@pytest.mark.cluster
@pytest.mark.slow
def test_rate_limit_and_a_429_pause_hold_for_all_workers_together(cluster, tmp_path):
    """rpm=1200 is 20 requests/s with a burst of 20 for the cluster, not per worker; the first
    request's 429 Retry-After 1.5 s holds every worker's next request until then."""
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_input(src, 80)
    refusal = Step(status=429, headers={"retry-after": "1.5"})
    with TimedFake([refusal], default=ANSWER) as server:
        summary = run(server, src, out, workers=2, concurrency_per_worker=8, rpm=1200)
        times = list(server.times)
    assert (summary.articles, summary.failed, len(times)) == (80, 0, 81)
    refused = times[0]
    assert not [t for t in times if refused + 0.5 < t < refused + 1.4]  # everyone paused
    after = [t for t in times if t >= refused + 1.4]
    assert len(after) >= 50
    # 20/s after a refilled burst of 20; per-worker limits would take half the time
    assert after[-1] - after[0] >= (len(after) - 20) / 20 * 0.9
    assert max(sum(t <= u < t + 1 for u in times) for t in times) <= 41


@pytest.mark.cluster
@pytest.mark.slow
def test_progress_and_summary_add_up_what_every_worker_did(cluster, fake, cli, tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ids = write_input(src, 20)
    with src.open("a", encoding="utf-8") as f:
        f.write('{"id": "broken", "text": \n')  # cannot load: its error line is the driver's
    with fake(default=ANSWER, fail_every=4) as server:
        result = cli(
            "batch", src, "--out", out, "--engine", "ray", "--workers", "2", "--progress",
            "--max-attempts", "1", "--model", "openai:test-model", "--base-url", server.base_url,
            "--no-cache",
        )  # fmt: skip
    assert result.exit_code == 1, result.output
    lines = {line["article_id"]: line for line in read_jsonl(out)}
    broken = f"{src}:21"  # a line that cannot be read is named by its place
    assert set(lines) == ids | {broken}
    assert lines[broken]["error"]["kind"] == "input"
    assert sum(line["error"] is not None for line in lines.values()) == 6
    final = " ".join(result.output.split())
    assert "21/21" in final and "/s" in final and "ETA" in final
    assert "6 errors · 1800 tokens" in final  # 15 answers of 120 tokens, from both workers
    assert "articles: 21 (15 ok, 6 failed: 1 input, 5 transport)" in final
    assert "(0 cached); tokens: 1800" in final
