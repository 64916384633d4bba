"""The model caller's own parts; whole calls through instructor are in test_pipeline.py."""

from __future__ import annotations

import asyncio

import instructor.v2.core.patch as instructor_patch
import instructor.v2.validation.async_validators as instructor_validators
import openai
import pytest
from conftest import SEEDS, scripted
from fake_openai import Step
from instructor.v2.validation.async_validators import async_field_validator
from pydantic import BaseModel

from extractor import Extractor, Options
from extractor.articles import Article
from extractor.model.caller import MODES, RESPONSE_MODEL, _ClassesChecked, _schema
from extractor.records import ArticleResult, ExtractionDraft


class _WithAsyncValidator(BaseModel):
    name: str

    @async_field_validator("name")
    async def check_name(self, value: str) -> str:
        return value


def test_instructor_checks_each_response_model_class_once():
    once = instructor_validators.reject_async_validators
    assert isinstance(once, _ClassesChecked)
    assert instructor_patch.reject_async_validators is once  # where the patched create looks

    walks: list[object] = []
    counted = _ClassesChecked(lambda model: walks.append(model) or once.check(model))
    for _ in range(3):
        counted(RESPONSE_MODEL)
    assert walks == [RESPONSE_MODEL]


def test_a_model_with_async_validators_is_still_refused_every_time():
    once = instructor_validators.reject_async_validators
    for _ in range(2):
        with pytest.raises(ValueError, match="async validators"):
            once(_WithAsyncValidator)
    assert _WithAsyncValidator not in once.passed


@pytest.mark.parametrize("mode", ["json_schema", "tools"])
def test_the_provider_sends_what_chat_completions_create_sends(fake, monkeypatch, mode):
    """The engine's request, as instructor builds it in either mode, reaches the server as
    openai's `create` would send it (which first walks it against its types), with the same
    API key header; the answer comes back as the server's JSON and is read."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    article = Article(id="a", text=(SEEDS / "000_bc9a927a736966c8.txt").read_text("utf-8"))

    async def both(base_url: str) -> ArticleResult:
        options = Options(model="openai:test-model", base_url=base_url, mode=mode, use_cache=False)
        async with Extractor(options) as ex:
            result = await ex.run_article(article)
            client = openai.AsyncOpenAI(base_url=base_url, max_retries=0)
            await client.chat.completions.create(**server.requests[0])
            await client.close()
        return result

    answer = scripted("answer_000.json")
    step = Step(tool_arguments=answer) if mode == "tools" else Step(content=answer)
    with fake(default=step) as server:
        result = asyncio.run(both(server.base_url))
    ours, theirs = server.requests
    assert ours == theirs
    assert ("tools" in ours, "response_format" in ours) == (mode == "tools", mode != "tools")
    assert server.authorizations == ["Bearer sk-test", "Bearer sk-test"]
    assert result.error is None and len(result.figures) == 3


def test_no_mode_changes_the_shared_schema(fake):
    """Every request shares the nested parts of one schema: a request built in any mode we
    offer (the Batch API's too), then sent and answered, leaves it as pydantic makes it."""
    article = Article(id="a", text=(SEEDS / "000_bc9a927a736966c8.txt").read_text("utf-8"))
    answer = scripted("answer_000.json")
    pristine = ExtractionDraft.model_json_schema()

    async def run(base_url: str, mode: str) -> ArticleResult:
        options = Options(model="openai:test-model", base_url=base_url, mode=mode, use_cache=False)
        async with Extractor(options) as ex:
            assert ex.caller is not None
            ex.caller.request_body([{"role": "user", "content": "x"}])
            return await ex.run_article(article)

    for mode in MODES:
        step = Step(tool_arguments=answer) if mode == "tools" else Step(content=answer)
        with fake(default=step) as server:
            result = asyncio.run(run(server.base_url, mode))
        assert result.error is None, (mode, result.error)
        assert _schema(RESPONSE_MODEL) == pristine, mode
    assert RESPONSE_MODEL.model_json_schema() is not RESPONSE_MODEL.model_json_schema()
