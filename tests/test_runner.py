"""Every input item ends as exactly one result, in input order, even when our code fails."""

from __future__ import annotations

import asyncio

from extractor.articles import Article
from extractor.engine import Extractor, Options
from extractor.runner import run_in_order


def test_a_bug_costs_one_article_not_the_run(monkeypatch):
    extractor = Extractor(Options(model="baseline"))
    real = extractor.run_article

    async def flaky(article):
        if article.id == "a2":
            raise RuntimeError("boom")
        return await real(article)

    monkeypatch.setattr(extractor, "run_article", flaky)
    items = [Article(id=f"a{i}", text="Die Polizei nahm 3 Personen fest.") for i in (1, 2, 3)]

    async def go():
        return [r async for r in run_in_order(extractor, items, concurrency=2)]

    results = asyncio.run(go())
    assert [r.article_id for r in results] == ["a1", "a2", "a3"]
    assert results[1].error.kind == "internal" and "RuntimeError: boom" in results[1].error.message
    assert results[0].error is None and results[2].error is None
