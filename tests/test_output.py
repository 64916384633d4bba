"""The run summary (counts and latency percentiles in bounded memory), the writer and the lock."""

from __future__ import annotations

import os

import pytest
from conftest import read_jsonl

from extractor.errors import UsageError
from extractor.output import JsonlWriter, OutputLock, Summary, redact
from extractor.records import ArticleError, ArticleResult, Usage


def result(latency: float, error: str | None = None) -> ArticleResult:
    return ArticleResult(
        article_id="a",
        model="m",
        usage=Usage(latency_s=latency, total_tokens=10),
        error=ArticleError(kind=error, message="x") if error else None,
    )


def test_percentiles_are_nearest_rank_over_milliseconds():
    summary = Summary()
    for latency in [0.5, 1.0, 3.0, 2.0]:
        summary.add(result(latency))
    assert summary.percentile(50) == 1.0
    assert summary.percentile(95) == 3.0
    assert Summary().percentile(50) == 0.0


def test_memory_is_bounded_by_distinct_latencies_not_articles():
    summary = Summary()
    for i in range(10_000):
        summary.add(result(1.0 + (i % 7) / 1000))
    assert len(summary.latencies) == 7
    assert summary.articles == 10_000 and summary.tokens == 100_000


def test_lines_count_failures_by_kind():
    summary = Summary()
    for latency, error in [(1.0, None), (2.0, "transport"), (3.0, "transport")]:
        summary.add(result(latency, error))
    first, _, last = summary.lines()
    assert first == "articles: 3 (1 ok, 2 failed: 2 transport)"
    assert "tokens: 30" in last and "p50 2.00s p95 3.00s" in last


def test_lock_is_exclusive_names_the_holder_and_is_removed_on_release(tmp_path):
    out = tmp_path / "out.jsonl"
    with OutputLock(out) as held:
        assert held.path.read_text().strip() == str(os.getpid())
        with pytest.raises(UsageError, match=f"pid {os.getpid()}"):
            OutputLock(out).acquire()  # a second open file: flock says no, even in-process
    assert not held.path.exists()
    OutputLock(out).acquire().release()  # free again


def test_a_result_json_cannot_hold_becomes_that_articles_error_line(tmp_path):
    out = tmp_path / "out.jsonl"
    writer = JsonlWriter(out)
    writer.write(ArticleResult(article_id="bad-\ud800", model="m"))
    writer.close()
    (line,) = read_jsonl(out)
    assert line["article_id"] == "bad-\\ud800" and line["error"]["kind"] == "internal"


def test_redact_cuts_our_key_only(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-abcdefgh12345")
    assert redact("key sk-abcdefgh12345 rejected") == "key [OPENAI_API_KEY redacted] rejected"
    monkeypatch.setenv("OPENAI_API_KEY", "x")  # too short to be a secret: text stays whole
    assert redact("x marks the spot") == "x marks the spot"
