"""The run summary: counts and latency percentiles in bounded memory."""

from __future__ import annotations

from extractor.output import Summary
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
