"""Run many articles with bounded concurrency, streaming the input, results in input order."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable

from extractor.articles import Article, LoadFailure
from extractor.engine import Extractor
from extractor.records import ArticleError, ArticleResult


def failure_result(failure: LoadFailure, model: str) -> ArticleResult:
    return ArticleResult(
        article_id=failure.id,
        model=model,
        error=ArticleError(kind=failure.error.kind, message=str(failure.error)),
    )


async def result_for(extractor: Extractor, item: Article | LoadFailure) -> ArticleResult:
    """The one result line for one input item, whatever happens."""
    if isinstance(item, LoadFailure):
        return failure_result(item, extractor.model_label)
    try:
        return await extractor.run_article(item)
    except Exception as exc:  # a bug must cost one article, not the whole run
        return ArticleResult(
            article_id=item.id,
            model=extractor.model_label,
            error=ArticleError(kind="internal", message=f"{type(exc).__name__}: {exc}"),
        )


async def run_in_order(
    extractor: Extractor, items: Iterable[Article | LoadFailure], concurrency: int = 1
) -> AsyncIterator[ArticleResult]:
    """At most `concurrency` articles in flight; never more than that read ahead."""
    pending: deque[asyncio.Task[ArticleResult]] = deque()
    try:
        for item in items:
            pending.append(asyncio.create_task(result_for(extractor, item)))
            if len(pending) >= max(1, concurrency):
                yield await pending.popleft()
        while pending:
            yield await pending.popleft()
    finally:
        for task in pending:
            task.cancel()
