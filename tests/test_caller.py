"""The model caller's own parts; whole calls through instructor are in test_pipeline.py."""

from __future__ import annotations

import asyncio

import instructor.v2.core.patch as instructor_patch
import instructor.v2.validation.async_validators as instructor_validators
import openai
import pytest
from conftest import scripted
from fake_openai import Step
from instructor.v2.validation.async_validators import async_field_validator
from pydantic import BaseModel

from extractor.model.caller import RESPONSE_MODEL, _ClassesChecked
from extractor.model.providers import OpenAIProvider
from extractor.model.spec import parse_model_spec


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


def test_the_provider_sends_what_chat_completions_create_sends(fake, monkeypatch):
    """`complete` posts instructor's body as it is; openai's `create` would send the same bytes
    (after walking them against its types) with the same API key header."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    request = {
        "model": "test-model",
        "messages": [{"role": "user", "content": "Wer sagt was? «Zitat» – 12.000"}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "X", "schema": RESPONSE_MODEL.model_json_schema()},
        },
        "temperature": 0.0,
        "max_tokens": 100,
        "seed": 0,
    }

    async def both(base_url: str) -> dict:
        provider = OpenAIProvider(parse_model_spec("openai:test-model", base_url), timeout=5.0)
        answer = await provider.complete(request, timeout=5.0)
        client = openai.AsyncOpenAI(base_url=base_url, max_retries=0)
        await client.chat.completions.create(**request)
        await client.close()
        await provider.aclose()
        return answer

    with fake(default=Step(content=scripted("answer_000.json"))) as server:
        answer = asyncio.run(both(server.base_url))
    ours, theirs = server.requests
    assert ours == theirs == request
    assert server.authorizations == ["Bearer sk-test", "Bearer sk-test"]
    assert answer["choices"][0]["message"]["content"] == scripted("answer_000.json")
