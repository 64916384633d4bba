"""`extractor batch` (async engine) against the scripted fake server on loopback.

The fake server's answers are SCRIPTED test data (tests/data/pipeline/), not model output.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DATA, ROOT, read_jsonl, scripted
from fake_openai import Step

from extractor.batch.engine import run_batch
from extractor.batch.plan import plan_batch
from extractor.engine import Extractor, Options
from extractor.errors import UsageError
from extractor.model.limits import RateLimiter

BATCH = DATA / "batch"
ARTICLES = BATCH / "articles.jsonl"  # a1..a20, each the text of seed 000
ALL_IDS = {f"a{i}" for i in range(1, 21)}
ANSWER = Step(content=scripted("answer_000.json"))


@pytest.fixture
def run_cli(cli):
    """`extractor batch ARGS` through the real command line."""
    return lambda *args: cli("batch", *args)


def model_args(server) -> list[str]:
    """The fake server, no cache, and retries without real sleeps."""
    return ["--model", "openai:test-model", "--base-url", server.base_url, "--no-cache",
            "--backoff", "0"]  # fmt: skip


def extractor_for(server, limiter=None, **opts) -> Extractor:
    return Extractor(
        Options(
            model="openai:test-model",
            base_url=server.base_url,
            use_cache=False,
            **{"backoff_s": 0.0, **opts},
        ),
        limiter=limiter,
    )


def run(extractor: Extractor, src: Path, out: Path, **kw) -> object:
    async def go():
        try:
            return await run_batch(extractor, src, out, progress=False, **kw)
        finally:
            await extractor.aclose()

    return asyncio.run(go())


def ids_of(path: Path) -> list[str]:
    return [line["article_id"] for line in read_jsonl(path)]


# --- end to end ------------------------------------------------------------------------------


def test_every_article_written_once_with_summary(fake, run_cli, tmp_path):
    out = tmp_path / "out.jsonl"
    with fake(default=ANSWER) as server:
        result = run_cli(ARTICLES, "--out", out, "--concurrency", "4", *model_args(server))
        assert len(server.requests) == 20
    assert result.exit_code == 0, result.output
    lines = read_jsonl(out)
    assert sorted(ids_of(out)) == sorted(ALL_IDS)
    assert all(line["error"] is None and len(line["figures"]) == 3 for line in lines)
    assert "articles: 20 (20 ok, 0 failed)" in result.output
    assert "records: 100 (20 events, 20 claims, 60 figures)" in result.output
    assert "tokens: 2400" in result.output and "p95" in result.output


def test_resume_repairs_torn_line_and_skips_done(fake, run_cli, tmp_path):
    out = tmp_path / "out.jsonl"
    shutil.copy(BATCH / "torn_output.jsonl", out)
    done_before = out.read_bytes().split(b"\n")[:2]  # a1, a2 ok; a3 failed; a4 torn
    with fake(default=ANSWER) as server:
        result = run_cli(ARTICLES, "--out", out, "--resume", *model_args(server))
        requests = len(server.requests)
    assert result.exit_code == 0, result.output
    ids = ids_of(out)  # every line parses: the torn one is gone
    assert sorted(ids) == sorted(ALL_IDS) and len(ids) == len(set(ids))
    assert requests == 18  # a3 (failed) and a4 (torn) ran again, a1 and a2 did not
    assert out.read_bytes().split(b"\n")[:2] == done_before
    assert "cut a torn last line" in result.output
    assert "articles: 18 (18 ok, 0 failed)" in result.output


def test_resume_retries_failed_lines_without_duplicates(fake, run_cli, tmp_path):
    out = tmp_path / "out.jsonl"
    shutil.copy(BATCH / "failed_output.jsonl", out)  # a1 ok; a3, a5 failed; one unknown id
    with fake(default=ANSWER) as server:
        first = run_cli(ARTICLES, "--out", out, "--resume", *model_args(server))
        after_first = len(server.requests)
        again = run_cli(ARTICLES, "--out", out, "--resume", *model_args(server))
        after_again = len(server.requests)
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    lines = read_jsonl(out)
    ids = [line["article_id"] for line in lines]
    assert len(ids) == len(set(ids)) == 21
    assert set(ids) == ALL_IDS | {"not-in-input"}  # a failure for a dropped article is kept
    assert all(line["error"] is None for line in lines if line["article_id"] in ALL_IDS)
    assert after_first == 19 and after_again == 19  # a finished file needs nothing more


def test_duplicate_ids_are_refused_before_any_work(fake, run_cli, tmp_path):
    out = tmp_path / "out.jsonl"
    with fake(default=ANSWER) as server:
        result = run_cli(BATCH / "duplicate_ids.jsonl", "--out", out, *model_args(server))
        assert server.requests == []
    assert result.exit_code == 2
    assert "duplicate article id 'a1'" in result.output
    assert "duplicate_ids.jsonl:3" in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "OUT"], "no such file or directory"),
        ([str(ARTICLES)], "--out is required"),
        ([str(ARTICLES), "--out", "EXISTING"], "--resume"),
        ([str(ARTICLES), "--out", "OUT", "--model", "nonsense:x"], "unknown model"),
    ],
)
def test_usage_errors_exit_2(run_cli, tmp_path, args, message):
    existing = tmp_path / "existing.jsonl"
    existing.write_text('{"article_id": "a1", "error": null}\n')
    subst = {"OUT": str(tmp_path / "out.jsonl"), "EXISTING": str(existing)}
    argv = [subst.get(a, a) for a in args]
    if argv[0] == "--out":
        argv = [str(tmp_path / "missing.jsonl"), *argv]
    result = run_cli(*argv)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert existing.read_text() == '{"article_id": "a1", "error": null}\n'  # never clobbered


def test_server_failing_one_in_ten_loses_nothing(fake, run_cli, tmp_path):
    out = tmp_path / "out.jsonl"
    with fake(default=ANSWER, fail_every=10) as server:
        result = run_cli(ARTICLES, "--out", out, "--concurrency", "5", *model_args(server))
        requests = len(server.requests)
    assert result.exit_code == 0, result.output
    assert sorted(ids_of(out)) == sorted(ALL_IDS)
    assert all(line["error"] is None for line in read_jsonl(out))
    assert requests >= 22  # the injected failures were retried


def test_progress_shows_rate_errors_and_tokens(fake, run_cli, tmp_path):
    out = tmp_path / "out.jsonl"
    with fake(default=ANSWER) as server:
        result = run_cli(ARTICLES, "--out", out, "--progress", *model_args(server))
    assert result.exit_code == 0, result.output
    final = " ".join(result.output.split())
    assert "20/20" in final and "/s" in final and "ETA" in final
    assert "0 errors · 2400 tokens" in final


def test_small_chunks_split_long_articles(fake, run_cli, tmp_path):
    src = tmp_path / "two.jsonl"
    src.write_text("".join(ARTICLES.read_text(encoding="utf-8").splitlines(True)[:2]))
    out = tmp_path / "out.jsonl"
    with fake(default=ANSWER) as server:
        result = run_cli(src, "--out", out, "--chunk-chars", "500", *model_args(server))
        requests = len(server.requests)
    assert result.exit_code == 0, result.output
    assert requests > 2 * 4  # a 2.6 kB article in chunks of at most 500 characters
    assert all(line["error"] is None for line in read_jsonl(out))


def test_failures_that_stay_are_error_lines_and_exit_1(fake, run_cli, tmp_path):
    out = tmp_path / "out.jsonl"
    with fake(default=ANSWER, fail_every=4) as server:
        result = run_cli(ARTICLES, "--out", out, "--max-attempts", "1", *model_args(server))
    assert result.exit_code == 1
    lines = read_jsonl(out)
    assert sorted(ids_of(out)) == sorted(ALL_IDS)
    failed = [line for line in lines if line["error"]]
    assert len(failed) == 5  # requests 4, 8, ... 20 of 20: no retries allowed
    assert all("HTTP 500" in line["error"]["message"] for line in failed)
    assert "(15 ok, 5 failed" in result.output
    # one clear line per failed article on stderr, and no retry chatter from the libraries
    said = [x for x in result.output.splitlines() if x.startswith("failed: ")]
    assert sorted(x.split(":")[1].strip() for x in said) == sorted(x["article_id"] for x in failed)
    assert "Max retries" not in result.output and "API call failed" not in result.output


# --- bounds and limits -----------------------------------------------------------------------


@pytest.mark.slow  # waits on real time
def test_concurrency_bound_holds_and_is_used(fake, tmp_path):
    with fake(default=ANSWER, latency=0.1) as server:
        extractor = extractor_for(server)
        provider = extractor.caller.provider
        complete = provider.complete
        now = {"in_flight": 0, "max": 0}

        async def counting(request, **kw):
            now["in_flight"] += 1
            now["max"] = max(now["max"], now["in_flight"])
            try:
                return await complete(request, **kw)
            finally:
                now["in_flight"] -= 1

        provider.complete = counting
        summary = run(extractor, ARTICLES, tmp_path / "out.jsonl", concurrency=3, resume=False)
    assert summary.ok == 20
    assert now["max"] == 3  # never more than asked, and the slots were really used


class StampedLimiter(RateLimiter):
    """Records when each request was let through."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.stamps: list[float] = []

    async def acquire(self, tokens: int = 0) -> float:
        waited = await super().acquire(tokens)
        self.stamps.append(time.monotonic())
        return waited


@pytest.mark.slow  # waits on real time
def test_rpm_limit_spaces_requests(fake, tmp_path):
    src = tmp_path / "four.jsonl"
    src.write_text("".join(ARTICLES.read_text(encoding="utf-8").splitlines(True)[:4]))
    limiter = StampedLimiter(rpm=120)  # two a second; the bucket holds one second's worth
    with fake(default=ANSWER) as server:
        summary = run(
            extractor_for(server, limiter), src, tmp_path / "out.jsonl", concurrency=4, resume=False
        )
    assert summary.ok == 4
    assert len(limiter.stamps) == 4
    # two at once, then one every half second: the fourth goes out a second after the first
    assert limiter.stamps[3] - limiter.stamps[0] >= 0.9


@pytest.mark.slow  # waits on real time
def test_two_extractors_share_one_injected_limiter(fake, tmp_path):
    src = tmp_path / "four.jsonl"
    src.write_text("".join(ARTICLES.read_text(encoding="utf-8").splitlines(True)[:4]))
    shared = StampedLimiter(rpm=240)  # four a second, for both runs together
    with fake(default=ANSWER) as server:

        async def go():
            async with extractor_for(server, shared) as a, extractor_for(server, shared) as b:
                await asyncio.gather(
                    *(
                        run_batch(
                            ex,
                            src,
                            tmp_path / f"out{n}.jsonl",
                            concurrency=4,
                            resume=False,
                            progress=False,
                        )
                        for n, ex in enumerate((a, b))
                    )
                )

        asyncio.run(go())
    assert len(shared.stamps) == 8  # both runs asked the one limiter
    assert shared.stamps[-1] - shared.stamps[0] >= 0.95  # 4 at once, then one per 0.25 s


def test_rate_limiter_buckets_with_a_fake_clock():
    clock = {"t": 0.0}

    async def sleep(seconds: float) -> None:
        clock["t"] += seconds

    async def go():
        limiter = RateLimiter(rpm=60, tpm=600, clock=lambda: clock["t"], sleep=sleep)
        waits = [await limiter.acquire(5), await limiter.acquire(5)]  # 1 request/s burst
        limiter.settle(5, 25)  # the answer took 20 tokens more than estimated
        waits.append(await limiter.acquire(5))
        return waits

    waits = asyncio.run(go())
    assert waits[0] == 0.0
    assert waits[1] == pytest.approx(1.0)  # the request bucket holds one
    assert waits[2] == pytest.approx(2.0)  # 10 tokens/s: 20 tokens of debt to pay off first


def test_rate_limits_must_be_positive():
    with pytest.raises(UsageError, match="--rpm"):
        RateLimiter(rpm=0)


# --- planning --------------------------------------------------------------------------------


def test_plan_counts_what_is_left(tmp_path):
    out = tmp_path / "out.jsonl"
    shutil.copy(BATCH / "torn_output.jsonl", out)
    plan = plan_batch(ARTICLES, out, resume=True)
    assert (plan.total, plan.todo, plan.skipped) == (20, 18, 2)
    assert plan.output.done == {"a1", "a2"}
    assert plan.output.dropped_failed == 1 and plan.output.torn_bytes == 150


# --- kill -9 ---------------------------------------------------------------------------------

_CHILD = """
import asyncio, sys
from extractor.batch.engine import run_batch
from extractor.engine import Extractor, Options
ex = Extractor(Options(model="openai:test-model", base_url=sys.argv[1], use_cache=False))
asyncio.run(run_batch(ex, sys.argv[2], sys.argv[3], concurrency=2, resume=False, progress=False))
"""


@pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")
@pytest.mark.slow
def test_kill_9_leaves_a_file_that_resume_completes(fake, run_cli, tmp_path):
    out = tmp_path / "out.jsonl"
    with fake(default=ANSWER, latency=0.2) as server:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, server.base_url, str(ARTICLES), str(out)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            not out.exists() or out.read_bytes().count(b"\n") < 4
        ):
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait()
        killed_at = out.read_bytes().count(b"\n")
        assert 4 <= killed_at < 20
        result = run_cli(ARTICLES, "--out", out, "--resume", *model_args(server))
    assert result.exit_code == 0, result.output
    ids = ids_of(out)
    assert sorted(ids) == sorted(ALL_IDS) and len(ids) == len(set(ids))
    assert json.loads(out.read_text().splitlines()[0])["error"] is None


@pytest.mark.skipif(os.name != "posix", reason="needs SIGINT")
@pytest.mark.slow
def test_ctrl_c_reports_what_is_done_and_exits_130(fake, run_cli, tmp_path):
    out = tmp_path / "out.jsonl"
    with fake(default=ANSWER, latency=0.2) as server:
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from extractor.cli import main; sys.argv[0] = 'extractor'; main()",
                "batch",
                str(ARTICLES),
                "--out",
                str(out),
                "--concurrency",
                "1",
                *model_args(server),
            ],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            not out.exists() or out.read_bytes().count(b"\n") < 3
        ):
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
        done = len(read_jsonl(out))
        result = run_cli(ARTICLES, "--out", out, "--resume", *model_args(server))
    assert child.returncode == 130
    assert f"articles: {done} ({done} ok, 0 failed)" in stderr
    assert "rerun with --resume" in stderr
    assert result.exit_code == 0 and f"{done} articles already done" in result.output
    assert sorted(ids_of(out)) == sorted(ALL_IDS)
