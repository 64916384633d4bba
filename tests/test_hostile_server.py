"""A hostile model server: drips, hangs, resets, truncates, sends HTML, no choices, wrong schemas,
or asks to wait past the deadline. Every case ends as one honest result line, within its bounds.

The fake server's answers are SCRIPTED test data, not model output.
"""

from __future__ import annotations

import asyncio

import pytest
from conftest import SEEDS, scripted
from fake_openai import Step

from extractor import Extractor, Options
from extractor.articles import Article

TEXT = (SEEDS / "000_bc9a927a736966c8.txt").read_text(encoding="utf-8")
GOOD = {"content": scripted("answer_000.json")}


def run(server, **opts):
    opts.setdefault("backoff_s", 0.0)
    opts.setdefault("use_cache", False)
    options = Options(model="openai:test-model", base_url=server.base_url, **opts)

    async def go():
        async with Extractor(options) as ex:
            return await ex.run_article(Article(id="a", text=TEXT, language="de"))

    return asyncio.run(go())


@pytest.mark.slow  # waits on real time
def test_a_dripping_body_is_cut_by_the_deadline(fake):
    drip = {**GOOD, "drip": 0.2}  # one byte every 0.2 s: the body would take minutes
    with fake(default=Step(**drip)) as server:
        result = run(server, timeout_s=0.5, deadline_s=1.2)
    assert result.error is not None and result.error.kind == "transport"
    assert "no complete answer within" in result.error.message
    assert result.usage.latency_s < 2.0  # the deadline bounds the wall time, body included
    assert result.usage.requests >= 2


@pytest.mark.slow  # waits on real time
def test_a_hanging_server_is_cut_by_the_deadline(fake):
    with fake(default=Step(**GOOD, delay=60)) as server:
        result = run(server, timeout_s=30.0, deadline_s=0.8)
    assert result.error is not None and result.error.kind == "transport"
    assert result.usage.latency_s < 1.8
    assert result.usage.requests == 1


def test_retry_after_beyond_the_deadline_fails_at_once_and_says_so(fake):
    with fake(default=Step(status=429, headers={"Retry-After": "3600"})) as server:
        result = run(server, deadline_s=30.0)
    assert result.error is not None and result.error.kind == "transport"
    assert "Retry-After" in result.error.message and "3600" in result.error.message
    assert result.usage.requests == 1
    assert result.usage.latency_s < 5.0  # no silent wait


def test_an_html_page_is_a_retried_server_fault(fake):
    page = {"raw": "<html><body>502 Bad Gateway</body></html>"}
    with fake(page, GOOD) as server:
        result = run(server)
    assert result.error is None
    assert result.usage.requests == 2


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
def test_absurdly_nested_json_is_a_retried_server_fault(fake, content_type):
    nested = {"raw": "[" * 100_000, "content_type": content_type}  # a JSON parser would recurse
    with fake(nested, GOOD) as server:
        result = run(server)
    assert result.error is None
    assert result.usage.requests == 2


def test_empty_choices_are_a_retried_server_fault(fake):
    with fake({**GOOD, "empty_choices": True}, GOOD) as server:
        result = run(server)
    assert result.error is None
    assert result.usage.requests == 2


def test_a_truncated_body_and_a_reset_are_retried(fake):
    with fake({**GOOD, "truncate": True}, {"drop": True}, GOOD) as server:
        result = run(server)
    assert result.error is None
    assert result.usage.requests == 3


def test_failed_attempts_are_counted_in_usage(fake):
    with fake(default=Step(status=500)) as server:
        result = run(server, max_attempts=4)
    assert result.error is not None and result.error.kind == "transport"
    assert result.usage.requests == 4 == len(server.requests)
    assert result.usage.latency_s > 0


def test_an_invalid_answer_is_never_cached(fake, tmp_path):
    cache = tmp_path / "cache"
    with fake({"content": '{"events": "not a list"}'}) as server:
        first = run(server, use_cache=True, cache_dir=cache, max_retries=0)
    assert first.error is not None and first.error.kind == "invalid_output"
    with fake(GOOD) as server:
        second = run(server, use_cache=True, cache_dir=cache, max_retries=0)
        assert len(server.requests) == 1  # asked again, not replayed from the cache
    assert second.error is None
    with fake() as server:  # no script: any request would fail
        third = run(server, use_cache=True, cache_dir=cache, max_retries=0)
        assert server.requests == []
    assert third.error is None and third.usage.cached == 1


def test_a_reasked_chain_is_cached_once_it_validates(fake, tmp_path):
    cache = tmp_path / "cache"
    with fake({"content": '{"events": "not a list"}'}, GOOD) as server:
        first = run(server, use_cache=True, cache_dir=cache, max_retries=1)
    assert first.error is None and first.usage.requests == 2
    with fake() as server:
        again = run(server, use_cache=True, cache_dir=cache, max_retries=1)
        assert server.requests == []
    assert again.error is None and again.usage.cached == 2
