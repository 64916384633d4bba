"""The model path end to end: real openai client over HTTP to a scripted fake server on loopback.

The fake server's answers are SCRIPTED test data (tests/data/pipeline/), not model output.
"""

from __future__ import annotations

import asyncio

import pytest
from conftest import SEEDS, scripted
from fake_openai import Step

from extractor import Extractor, Grounding, Options, extract
from extractor.articles import Article

SEED_000 = (SEEDS / "000_bc9a927a736966c8.txt").read_text(encoding="utf-8")


def run_article(server, text: str = SEED_000, **opts) -> object:
    opts.setdefault("backoff_s", 0.0)  # retries without real sleeps
    options = Options(model="openai:test-model", base_url=server.base_url, use_cache=False, **opts)
    extractor = Extractor(options)

    async def go():
        try:
            return await extractor.run_article(Article(id="000", text=text, language="de"))
        finally:
            await extractor.aclose()

    return asyncio.run(go())


def test_good_answer_is_grounded_and_checked(fake):
    with fake({"content": scripted("answer_000.json")}) as server:
        result = extract(SEED_000, "openai:test-model", base_url=server.base_url, use_cache=False)
        request = server.requests[0]
    assert request["response_format"]["type"] == "json_schema"  # grammar-constrained servers
    assert request["model"] == "test-model"
    for record in result.all_records()[:2]:
        assert record.grounding == Grounding.EXACT
        assert SEED_000[record.span[0] : record.span[1]] == record.evidence
    soldiers, losses, tanks = result.figures
    assert soldiers.value == 11000 and soldiers.flags == []
    # the scripted model said 2000 where the evidence says 200: flagged and corrected
    assert losses.value == 200
    assert any(f.startswith("value_mismatch") for f in losses.flags)
    # invented quote: kept but flagged
    assert tanks.grounding == Grounding.NOT_FOUND and tanks.span is None
    assert any(f.startswith("ungrounded") for f in tanks.flags)


def test_drop_ungrounded_removes_invented_records(fake):
    with fake({"content": scripted("answer_000.json")}) as server:
        result = extract(
            SEED_000,
            "openai:test-model",
            base_url=server.base_url,
            use_cache=False,
            drop_ungrounded=True,
        )
    assert [f.text for f in result.figures] == ["11.000", "200"]


def test_invalid_answer_is_reasked_then_fixed(fake):
    with fake(
        {"content": scripted("answer_invalid.json")}, {"content": scripted("answer_000.json")}
    ) as server:
        result = run_article(server)
        reask = server.requests[1]["messages"]
    assert result.error is None
    assert len(result.events) == 1
    # the re-ask is a new user turn carrying the validation error of the rejected value
    assert reask[-1]["role"] == "user"
    assert "events.0.event_type" in reask[-1]["content"]
    assert "input_value='INVADE'" in reask[-1]["content"]
    # usage is summed over both attempts (the fake reports 120 tokens per answer)
    assert result.usage.requests == 2
    assert result.usage.total_tokens == 240


def test_invalid_forever_is_an_error_record(fake):
    invalid = {"content": scripted("answer_invalid.json")}
    with fake(invalid, invalid, invalid) as server:
        result = run_article(server, max_retries=2)
    assert result.error is not None and result.error.kind == "invalid_output"
    assert "3 attempts" in result.error.message
    assert result.usage.requests == 3


def test_rate_limit_then_success_honours_retry_after(fake):
    with fake(
        {"status": 429, "headers": {"Retry-After": "0"}},
        {"content": scripted("answer_000.json")},
    ) as server:
        result = run_article(server)
    assert result.error is None
    assert len(server.requests) == 2
    assert result.usage.requests == 2  # every HTTP attempt counts, the refused one included


def test_server_error_forever_gives_transport_error(fake):
    with fake(default=Step(status=500, headers={"Retry-After": "0"})) as server:
        result = run_article(server, max_attempts=3)
    assert result.error is not None and result.error.kind == "transport"
    assert "HTTP 500" in result.error.message
    assert len(server.requests) == 3


def test_one_attempt_allowed_reports_the_first_failure(fake):
    with fake(default=Step(status=503)) as server:
        result = run_article(server, max_attempts=1)
    assert result.error is not None and result.error.kind == "transport"
    assert "HTTP 503" in result.error.message and "after 1 attempts" in result.error.message
    assert len(server.requests) == 1


def test_refused_request_is_not_retried(fake):
    with fake(default=Step(status=401)) as server:
        result = run_article(server, max_attempts=3)
    assert result.error is not None and result.error.kind == "model"
    assert "HTTP 401" in result.error.message
    assert len(server.requests) == 1


def test_truncated_output_is_an_error_record(fake):
    with fake({"content": '{"events": [', "finish_reason": "length"}) as server:
        result = run_article(server)
    assert result.error is not None and result.error.kind == "invalid_output"
    assert "max_tokens" in result.error.message


def test_timeout_is_retried_then_reported(fake):
    slow = {"content": scripted("answer_000.json"), "delay": 2.0}
    with fake(slow, slow) as server:
        result = run_article(server, timeout_s=0.2, max_attempts=2)
    assert result.error is not None and result.error.kind == "transport"
    assert "timeout" in result.error.message and "2 attempts" in result.error.message
    assert result.usage.requests == 2


def test_unknown_model_spec_is_a_config_error():
    from extractor import ConfigError

    with pytest.raises(ConfigError, match="openai:<name>"):
        Extractor(Options(model="gpt-4o"))


def test_missing_key_for_hosted_openai_is_explained():
    result = asyncio.run(
        Extractor(Options(model="openai:gpt-4o-mini", use_cache=False)).run_article(
            Article(id="x", text="Ein Text.")
        )
    )
    assert result.error is not None and "OPENAI_API_KEY" in result.error.message


def test_uncovered_numbers_are_reported_and_can_be_followed_up(fake):
    with fake({"content": scripted("answer_000.json")}) as server:
        plain = run_article(server)
    assert "30" in plain.uncovered_figures
    with fake(
        {"content": scripted("answer_000.json")}, {"content": scripted("answer_followup.json")}
    ) as server:
        followed = run_article(server, follow_up_uncovered=True)
        follow_up = server.requests[1]["messages"][-1]["content"]
    assert "- 30" in follow_up
    assert [f.value for f in followed.figures if f.text == "30"] == [30]
    assert "30" not in followed.uncovered_figures
    assert followed.usage.requests == 2


def test_follow_up_sends_the_chunk_that_holds_the_missing_number(fake):
    from extractor.chunking import chunk_text
    from extractor.cleaning import clean

    options = {"chunk_chars": 800, "follow_up_uncovered": True}
    chunks = chunk_text(clean(SEED_000).text, 800, Options(**options).overlap)
    assert "30 getötete" not in chunks[0].text  # the number sits in a later chunk
    answers = [{"content": scripted("answer_000.json")}] * len(chunks)
    with fake(*answers, {"content": scripted("answer_followup.json")}) as server:
        followed = run_article(server, **options)
        follow_up = server.requests[-1]["messages"]
    assert "- 30" in follow_up[-1]["content"]
    assert "30 getötete" in follow_up[-2]["content"]
    assert followed.usage.requests == len(chunks) + 1


def test_the_baseline_reads_the_article_for_numbers_once(monkeypatch):
    """The analyzers, the Figure checks and the uncovered numbers share one scan."""
    from extractor import numbers

    text = (SEEDS / "004_8a3114eecaafb72d.txt").read_text(encoding="utf-8")
    scanned: list[int] = []
    real = numbers.find_numbers

    def counting(chunk: str, language: str | None = None) -> list[numbers.NumberMention]:
        scanned.append(len(chunk))
        return real(chunk, language)

    monkeypatch.setattr(numbers, "find_numbers", counting)
    result = extract(text, model="baseline", language="de")
    assert result.figures and all(f.grounding == Grounding.EXACT for f in result.figures)
    assert sum(size > len(text) // 2 for size in scanned) == 1


def test_the_collector_is_paused_while_records_are_built_and_resumes_as_it_was():
    import gc
    import threading

    from extractor.engine import collector_paused

    assert gc.isenabled()
    inside = threading.Event()
    leave = threading.Event()

    def other_thread() -> None:
        with collector_paused():
            inside.set()
            leave.wait(5)

    worker = threading.Thread(target=other_thread)
    worker.start()
    inside.wait(5)
    assert not gc.isenabled()  # the other thread paused it
    with collector_paused():  # a second caller meanwhile changes nothing
        assert not gc.isenabled()
    assert not gc.isenabled()
    leave.set()
    worker.join()
    assert gc.isenabled()  # resumed when the thread that paused it left

    with collector_paused():
        with collector_paused():  # nested: the inner one leaves it paused
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("an article fails")
    assert gc.isenabled()

    gc.disable()  # a caller that runs without the collector keeps it off
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
