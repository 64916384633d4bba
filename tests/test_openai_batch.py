"""`--engine openai-batch` through the fake server's files and batches endpoints.

The fake server's answers are SCRIPTED test data (tests/data/pipeline/), not model output.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from conftest import DATA, read_jsonl, scripted
from fake_openai import Step

from extractor.articles import Article
from extractor.batch.openai_batch import (
    RequestBuilder,
    run_openai_batch,
    state_path,
    submit_or_attach,
)
from extractor.batch.plan import plan_batch
from extractor.engine import Extractor, Options

BATCH = DATA / "batch"
ARTICLES = BATCH / "articles.jsonl"  # a1..a20, each the text of seed 000
ANSWER = Step(content=scripted("answer_000.json"))


def options(server, **kw) -> Options:
    return Options(model="openai:test-model", base_url=server.base_url, use_cache=False, **kw)


def first_lines(tmp_path: Path, n: int) -> Path:
    src = tmp_path / f"first{n}.jsonl"
    src.write_text("".join(ARTICLES.read_text(encoding="utf-8").splitlines(True)[:n]))
    return src


def run_engine(server, src: Path, out: Path, *, resume: bool = False, **kw):
    extractor = Extractor(options(server, **kw))

    async def go():
        try:
            return await run_openai_batch(
                extractor, src, out, resume=resume, poll_interval=0.01, progress=False
            )
        finally:
            await extractor.aclose()

    return asyncio.run(go())


def run_async_engine(server, article: Article):
    extractor = Extractor(options(server))

    async def go():
        try:
            return await extractor.run_article(article)
        finally:
            await extractor.aclose()

    return asyncio.run(go())


def test_round_trip_writes_the_async_engines_format(fake, tmp_path):
    out = tmp_path / "out.jsonl"
    src = first_lines(tmp_path, 3)
    with fake(default=ANSWER) as server:
        summary = run_engine(server, src, out)
        batch_lines = list(server.requests)
        uploaded = [f for f in server.files.values() if f["meta"]["purpose"] == "batch"]
        text = json.loads(src.read_text().splitlines()[0])["text"]
        reference = run_async_engine(server, Article(id="a1", text=text, language="de"))
    assert summary.ok == 3 and summary.failed == 0
    assert len(server.batches) == 1 and len(uploaded) == 1
    assert len(batch_lines) == 3
    # the body is exactly what the async engine sends for the same article
    assert batch_lines[0] == server.requests[-1]
    lines = read_jsonl(out)
    assert [line["article_id"] for line in lines] == ["a1", "a2", "a3"]
    expected = json.loads(reference.model_dump_json())
    for key in ("events", "claims", "figures", "uncovered_figures", "language", "error", "model"):
        assert lines[0][key] == expected[key], key
    assert set(lines[0]) == set(expected)
    assert lines[0]["usage"]["total_tokens"] == 120
    assert not state_path(out).exists()  # consumed: a later --resume submits afresh


def test_invalid_answer_is_an_error_line_without_reask(fake, tmp_path):
    out = tmp_path / "out.jsonl"
    with fake({"content": scripted("answer_invalid.json")}, default=ANSWER) as server:
        summary = run_engine(server, first_lines(tmp_path, 2), out)
        requests = len(server.requests)
    assert requests == 2  # one line per article, nothing re-asked
    first, second = read_jsonl(out)
    assert first["error"]["kind"] == "invalid_output"
    assert "does not re-ask" in first["error"]["message"]
    assert second["error"] is None
    assert summary.failed == 1


def test_failed_lines_become_errors_and_resume_resubmits_only_them(fake, tmp_path):
    out = tmp_path / "out.jsonl"
    src = first_lines(tmp_path, 6)
    with fake(default=ANSWER, fail_every=3) as server:
        first = run_engine(server, src, out)
        failed = [line for line in read_jsonl(out) if line["error"]]
        second = run_engine(server, src, out, resume=True)
        second_batch = list(server.batches.values())[-1]
    assert [line["article_id"] for line in failed] == ["a3", "a6"]
    assert all("HTTP 500" in line["error"]["message"] for line in failed)
    assert first.failed == 2
    assert second_batch["request_counts"]["total"] == 2  # only the failed articles
    lines = read_jsonl(out)
    assert sorted(line["article_id"] for line in lines) == sorted(f"a{i}" for i in range(1, 7))
    assert second.failed == 0  # the fake's 7th and 8th answers are not multiples of 3
    assert len(lines) == 6 and all(line["error"] is None for line in lines)


def test_upload_poll_and_download_failures_are_retried(fake, tmp_path):
    out = tmp_path / "out.jsonl"
    failures = {"POST /v1/files": 1, "POST /v1/batches": 1, "GET /v1/batches/": 2}
    failures["GET /v1/files/"] = 1
    with fake(default=ANSWER, control_failures=failures) as server:
        summary = run_engine(server, first_lines(tmp_path, 2), out)
        failed = list(server.control_failed)
    assert len(failed) == 5 and failed[-1].endswith("/content")
    assert summary.ok == 2 and len(read_jsonl(out)) == 2


def test_long_article_is_one_line_per_chunk_and_merged(fake, tmp_path):
    out = tmp_path / "out.jsonl"
    with fake(default=ANSWER) as server:
        summary = run_engine(
            server, first_lines(tmp_path, 1), out, chunk_chars=800, chunk_overlap=100
        )
        requests = len(server.requests)
    assert requests >= 3
    (line,) = read_jsonl(out)
    assert line["error"] is None and line["usage"]["requests"] == requests
    # every chunk answered the same records: merged without duplicates
    assert len(line["figures"]) == 3 and len(line["events"]) == 1
    assert summary.ok == 1


def test_resume_reattaches_to_a_submitted_batch(fake, tmp_path):
    out = tmp_path / "out.jsonl"
    src = first_lines(tmp_path, 2)
    with fake(default=ANSWER) as server:
        extractor = Extractor(options(server))
        plan = plan_batch(src, out, resume=False)

        async def submit_then_die():
            import openai

            from extractor.batch.openai_batch import write_requests

            client = openai.AsyncOpenAI(api_key="x", base_url=server.base_url)
            requests = tmp_path / "requests.jsonl"
            write_requests(plan, RequestBuilder(extractor), requests)
            await submit_or_attach(client, plan, requests, resume=False, log=print)
            await client.close()
            await extractor.aclose()

        asyncio.run(submit_then_die())
        assert state_path(out).exists()
        summary = run_engine(server, src, out, resume=True)
        batches = len(server.batches)
    assert batches == 1  # re-attached, not paid for twice
    assert summary.ok == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "baseline"], "needs --model openai:"),
        (["--model", "openai:m", "--follow-up-uncovered"], "--follow-up-uncovered needs"),
    ],
)
def test_engine_refuses_what_it_cannot_run(cli, tmp_path, args, message):
    out = tmp_path / "o.jsonl"
    result = cli("batch", ARTICLES, "--out", out, "--engine", "openai-batch", *args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not out.exists()


def test_cli_round_trip_exit_codes(fake, cli, tmp_path):
    out = tmp_path / "out.jsonl"
    with fake(default=ANSWER, fail_every=7) as server:
        result = cli(
            "batch",
            ARTICLES,
            "--out",
            out,
            "--engine",
            "openai-batch",
            "--poll-interval",
            "0.01",
            "--model",
            "openai:test-model",
            "--base-url",
            server.base_url,
        )
    assert result.exit_code == 1  # lines 7 and 14 failed: no retry inside a batch
    assert "articles: 20 (18 ok, 2 failed" in result.output
    assert len(read_jsonl(out)) == 20


def test_a_failed_job_writes_every_article_as_an_error_and_resume_reattaches(fake, tmp_path):
    out = tmp_path / "out.jsonl"
    src = first_lines(tmp_path, 3)
    with fake(default=ANSWER, control_failures={"GET /v1/batches/": 99}) as server:
        failed = run_engine(server, src, out, max_attempts=2)
        server.control_failures.clear()  # the server recovers
        resumed = run_engine(server, src, out, resume=True)
        batches = len(server.batches)
    assert failed.failed == 3
    assert batches == 1  # the submitted batch was re-attached, not paid for twice
    assert resumed.ok == 3
    lines = read_jsonl(out)
    assert len(lines) == 3 and all(line["error"] is None for line in lines)
    assert not state_path(out).exists()


def test_a_refused_submission_says_why_on_every_line(fake, tmp_path):
    out = tmp_path / "out.jsonl"
    with fake(default=ANSWER) as server:
        server.control_failures = {"POST /v1/batches": 1}
        summary = run_engine(server, first_lines(tmp_path, 2), out, max_attempts=1)
    lines = read_jsonl(out)
    assert summary.failed == 2 and len(lines) == 2
    assert all("HTTP 503" in line["error"]["message"] for line in lines)
