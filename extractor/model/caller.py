"""One model call for one chunk: instructor (validate + re-ask) over cache/replay over transport.

instructor gets our `create` instead of the client's, so every attempt it makes, re-asks
included, passes through the cache, the recorder and the retry policy, and is counted in the
article's usage.
"""

from __future__ import annotations

import contextvars
import functools
import json
import time
from dataclasses import dataclass
from typing import Any

import instructor
import openai
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from openai.types.chat import ChatCompletion

from extractor.model.cache import ReplayStore, ResponseCache, request_key
from extractor.errors import ExtractorError, ModelError, OutputInvalidError
from extractor.model.providers import ModelSpec, Provider
from extractor.records import ExtractionDraft, Usage
from extractor.model.transport import RetryPolicy, call_with_retries

_usage: contextvars.ContextVar[Usage] = contextvars.ContextVar("usage")
_article: contextvars.ContextVar[str] = contextvars.ContextVar("article", default="")


@dataclass
class CallSettings:
    max_retries: int = 2  # instructor re-asks after a validation failure
    temperature: float = 0.0
    max_tokens: int = 4096
    seed: int = 0


class _SchemaOnce(instructor.ResponseSchema):
    """Generates the JSON schema once per class; instructor asks for it on every request.

    Generating it is about 7 ms of CPU, a third of all our own work per article, which is what
    bounds a batch's throughput. Every caller gets a fresh copy (instructor edits it).
    """

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if args or kwargs:
            return super().model_json_schema(*args, **kwargs)
        return json.loads(_schema_json(cls))


@functools.cache
def _schema_json(cls: type[_SchemaOnce]) -> str:
    return json.dumps(super(_SchemaOnce, cls).model_json_schema())


#: what instructor's `response_schema` builds from ExtractionDraft on every call (same name,
#: docstring and schema), built once: a ResponseSchema subclass passes through unchanged
RESPONSE_MODEL: type[ExtractionDraft] = type(
    "ExtractionDraft",
    (ExtractionDraft, _SchemaOnce),
    {"__doc__": ExtractionDraft.__doc__, "__module__": ExtractionDraft.__module__},
)


class ModelCaller:
    def __init__(
        self,
        provider: Provider,
        *,
        prompt_key: str,
        settings: CallSettings | None = None,
        policy: RetryPolicy | None = None,
        cache: ResponseCache | None = None,
        record: ReplayStore | None = None,
        replay: ReplayStore | None = None,
    ) -> None:
        self.provider = provider
        self.prompt_key = prompt_key
        self.settings = settings or CallSettings()
        self.policy = policy or RetryPolicy()
        self.cache = cache
        self.record = record
        self.replay = replay
        self._patched = instructor.patch(create=self._create, mode=provider.mode)

    async def extract(
        self, messages: list[dict[str, Any]], *, article_id: str
    ) -> tuple[ExtractionDraft, Usage]:
        usage = Usage()
        t_usage = _usage.set(usage)
        t_article = _article.set(article_id)
        try:
            draft = await self._patched(
                model=self.provider.spec.model_id,
                messages=messages,
                response_model=RESPONSE_MODEL,
                max_retries=self.settings.max_retries,
                temperature=self.settings.temperature,
                max_tokens=self.settings.max_tokens,
                seed=self.settings.seed,
            )
        except IncompleteOutputException as exc:
            raise _with_usage(
                OutputInvalidError(
                    f"the model's answer was cut off at max_tokens={self.settings.max_tokens}; "
                    "raise --max-tokens or shorten --chunk-chars"
                ),
                usage,
            ) from exc
        except InstructorRetryException as exc:
            cause = exc.__cause__
            if isinstance(cause, ExtractorError):
                raise _with_usage(cause, usage) from exc
            if isinstance(cause, openai.APIStatusError):
                raise _with_usage(
                    ModelError(
                        f"the server refused the request: HTTP {cause.status_code}: {cause.message}"
                    ),
                    usage,
                ) from exc
            raise _with_usage(
                OutputInvalidError(
                    f"invalid answer after {exc.n_attempts} attempts: {_first_line(cause or exc)}"
                ),
                usage,
            ) from exc
        except ExtractorError as exc:
            raise _with_usage(exc, usage) from exc
        finally:
            _usage.reset(t_usage)
            _article.reset(t_article)
        return draft, usage

    async def _create(self, **request: Any) -> ChatCompletion:
        spec = self.provider.spec
        key = request_key(
            provider=spec.provider,
            mode=self.provider.mode.value,
            prompt=self.prompt_key,
            request=request,
        )
        describe = {"model": spec.label, "prompt": self.prompt_key, "article_id": _article.get()}
        usage = _usage.get(None)
        started = time.monotonic()
        cached = True
        if self.replay is not None:
            raw = self.replay.load(key, describe=describe)
        else:
            raw = self.cache.get(key) if self.cache is not None else None
            if raw is None:
                cached = False

                async def attempt() -> ChatCompletion:  # a coroutine function, as tenacity 9 needs
                    return await self.provider.complete(request)

                completion = await call_with_retries(attempt, self.policy)
                raw = completion.model_dump(mode="json", exclude_unset=True)
                if self.cache is not None:
                    self.cache.set(key, raw)
        if self.record is not None:
            self.record.save(key, describe=describe, request=request, response=raw)
        completion = ChatCompletion.model_validate(raw)
        if usage is not None:
            usage.latency_s += time.monotonic() - started
            usage.cached += cached
            # tokens are what the answer took; a cached answer costs nothing now
            count_answer(usage, completion, spec, price_factor=0.0 if cached else 1.0)
        return completion


def count_answer(
    usage: Usage, completion: ChatCompletion, spec: ModelSpec, *, price_factor: float = 1.0
) -> None:
    """Add one answer to `usage`: a request, its tokens, and its list price times the factor."""
    usage.requests += 1
    if completion.usage is not None:
        u = completion.usage
        usage.prompt_tokens += u.prompt_tokens
        usage.completion_tokens += u.completion_tokens
        usage.total_tokens += u.total_tokens
        usage.cost_usd += spec.cost(u.prompt_tokens, u.completion_tokens) * price_factor


def _with_usage(exc: ExtractorError, usage: Usage) -> ExtractorError:
    exc.usage = usage  # type: ignore[attr-defined]
    return exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 300 else line[:297] + "..."
