"""One model call for one chunk: instructor (validate + re-ask) over cache/replay over transport.

instructor gets our `create` instead of the client's, so every attempt it makes, re-asks
included, passes through the cache, the recorder and the retry policy, and is counted in the
article's usage. Each call carries its own `Call` (article id, usage, answers waiting to be
cached) as a keyword argument that instructor hands to our create on every attempt, so
nothing travels through globals.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import instructor
import openai
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from openai.types.chat import ChatCompletion

from extractor.errors import ExtractorError, ModelError, OutputInvalidError, UsageError
from extractor.model.cache import Cache, ReplayStore, open_cache, request_key
from extractor.model.limits import Limiter, estimate_tokens
from extractor.model.providers import Provider, make_provider
from extractor.model.spec import ModelSpec
from extractor.model.transport import RetryPolicy, call_with_retries, is_mode_rejection
from extractor.records import ExtractionDraft, Usage

if TYPE_CHECKING:
    from extractor.options import Options

# instructor and openai log each failed attempt at WARNING/ERROR; the article's error line and
# the run summary say it once, in our words
for _name in ("instructor", "openai", "httpx"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)

#: `Options.mode` names -> instructor's modes
MODES: dict[str, instructor.Mode] = {
    "tools": instructor.Mode.TOOLS,
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "json": instructor.Mode.JSON,
    "md_json": instructor.Mode.MD_JSON,
}


@dataclass(frozen=True)
class CallSettings:
    max_retries: int  # instructor re-asks after a validation failure
    temperature: float
    max_tokens: int
    seed: int = 0


class _SchemaOnce(instructor.ResponseSchema):
    """Generates the JSON schema once per class; instructor asks for it on every request.

    Generating it is about 7 ms of CPU, a third of all our own work per article, which is what
    bounds a batch's throughput. Every caller gets its own top level, where instructor writes
    for some providers; nothing writes deeper (test_caller checks it for every mode we use),
    so the nested parts are shared, not copied: a deep copy cost 1.5% of our CPU per article.
    """

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if args or kwargs:
            return super().model_json_schema(*args, **kwargs)
        return dict(_schema(cls))


@functools.cache
def _schema(cls: type[_SchemaOnce]) -> dict[str, Any]:
    return super(_SchemaOnce, cls).model_json_schema()


#: what instructor's `response_schema` builds from ExtractionDraft on every call (same name,
#: docstring and schema), built once: a ResponseSchema subclass passes through unchanged
RESPONSE_MODEL: type[ExtractionDraft] = type(
    "ExtractionDraft",
    (ExtractionDraft, _SchemaOnce),
    {"__doc__": ExtractionDraft.__doc__, "__module__": ExtractionDraft.__module__},
)


class _ClassesChecked:
    """instructor's check that a response model has no async validators, once per class.

    instructor walks the model's whole class tree for them four times per call (a third of our
    own CPU per article on the model path); the answer for one class does not change, so a
    class that passed is not walked again. One that fails still fails every time.
    """

    def __init__(self, check: Callable[[Any], None]) -> None:
        self.check = check
        self.passed: weakref.WeakSet[type] = weakref.WeakSet()

    def __call__(self, response_model: Any) -> None:
        if isinstance(response_model, type) and response_model in self.passed:
            return
        self.check(response_model)
        if isinstance(response_model, type):
            self.passed.add(response_model)


def _check_classes_once() -> None:
    """Swap instructor's check for `_ClassesChecked` where instructor looks it up."""
    import instructor.v2.core.patch as patch_module
    import instructor.v2.validation.async_validators as validators_module

    check = getattr(validators_module, "reject_async_validators", None)
    if check is None or isinstance(check, _ClassesChecked):
        return  # another instructor version, or done already
    once = _ClassesChecked(check)
    validators_module.reject_async_validators = once  # looked up at call time by the rest
    if getattr(patch_module, "reject_async_validators", None) is check:
        patch_module.reject_async_validators = once


_check_classes_once()


@dataclass
class Call:
    """One chunk's call through all of instructor's attempts: whose it is and what it cost.

    Answers wait in `answers` until instructor has validated the last one; only then are they
    cached, so an invalid or truncated answer is never replayed from the cache.
    """

    article_id: str
    usage: Usage = field(default_factory=Usage)
    answers: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class ModelCaller:
    def __init__(
        self,
        provider: Provider,
        *,
        prompt_key: str,
        settings: CallSettings,
        policy: RetryPolicy,
        cache: Cache | None = None,
        record: ReplayStore | None = None,
        replay: ReplayStore | None = None,
        limiter: Limiter | None = None,
        mode_forced: bool = False,
    ) -> None:
        self.provider = provider
        self.prompt_key = prompt_key
        self.settings = settings
        self.policy = policy
        self.cache = cache
        self.record = record
        self.replay = replay
        self.limiter = limiter
        #: an OpenAI-compatible server that rejects the json_schema response format is asked
        #: in tools mode instead, unless the user chose the mode
        self.mode_forced = mode_forced
        self._patched: dict[instructor.Mode, Any] = {}

    async def extract(
        self, messages: list[dict[str, Any]], *, article_id: str
    ) -> tuple[ExtractionDraft, Usage]:
        call = Call(article_id)
        try:
            try:
                draft = await self._extract(messages, call)
            except _ModeRejected as rejected:
                fallback = instructor.Mode.TOOLS
                if self.mode_forced or self.provider.mode == fallback:
                    raise rejected.error from rejected
                self.provider.mode = fallback  # for every later call too
                draft = await self._extract(messages, call)
        except ExtractorError as exc:
            exc.usage = call.usage
            raise
        if self.cache is not None:
            for key, raw in call.answers:
                self.cache.set(key, raw)
        return draft, call.usage

    async def _extract(self, messages: list[dict[str, Any]], call: Call) -> ExtractionDraft:
        mode = self.provider.mode
        if mode not in self._patched:  # patching costs 0.7 ms: once per mode, not per call
            self._patched[mode] = instructor.patch(create=self._create, mode=mode)
        try:
            return await self._patched[mode](
                call=call,  # instructor passes it through to `_create` on every attempt
                model=self.provider.spec.model_id,
                messages=messages,
                response_model=RESPONSE_MODEL,
                max_retries=self.settings.max_retries,
                temperature=self.settings.temperature,
                max_tokens=self.settings.max_tokens,
                seed=self.settings.seed,
            )
        except IncompleteOutputException as exc:
            raise OutputInvalidError(
                f"the model's answer was cut off at max_tokens={self.settings.max_tokens}; "
                "raise --max-tokens or shorten --chunk-chars"
            ) from exc
        except InstructorRetryException as exc:
            cause = exc.__cause__
            if isinstance(cause, ExtractorError | _ModeRejected):
                raise cause from exc
            if isinstance(cause, openai.APIStatusError):
                raise _refused(cause) from exc
            if cause is not None and not isinstance(cause, ValueError):
                raise cause from exc  # a bug, not an invalid answer: reported as "internal"
            raise OutputInvalidError(
                f"invalid answer after {exc.n_attempts} attempts: {first_line(cause or exc)}"
            ) from exc

    async def _create(self, *, call: Call, **request: Any) -> ChatCompletion:
        spec = self.provider.spec
        stored = self.replay is not None or self.cache is not None or self.record is not None
        key = (
            request_key(
                provider=spec.provider,
                mode=self.provider.mode.value,
                prompt=self.prompt_key,
                request=request,
            )
            if stored
            else ""  # hashing the request (its schema included) is for the stores only
        )
        describe = {"model": spec.label, "prompt": self.prompt_key, "article_id": call.article_id}
        started = time.monotonic()
        cached = True
        try:
            if self.replay is not None:
                raw = self.replay.load(key, describe=describe)
            else:
                raw = self.cache.get(key) if self.cache is not None else None
                if raw is None:
                    cached = False
                    raw = await self._send(request, call)
                    if self.cache is not None:
                        call.answers.append((key, raw))
        finally:
            call.usage.latency_s += time.monotonic() - started
        if self.record is not None:
            self.record.save(key, describe=describe, request=request, response=raw)
        # a fresh answer takes the same way as a stored one: validated from the JSON dict the
        # cache keeps, so what is cached now is what behaves the same when replayed
        completion = ChatCompletion.model_validate(raw)
        call.usage.requests += cached  # sent requests were counted as they went out
        call.usage.cached += cached
        # tokens are what the answer took; a cached answer costs nothing now
        add_tokens(call.usage, completion, spec, price_factor=0.0 if cached else 1.0)
        return completion

    async def _send(self, request: dict[str, Any], call: Call) -> dict[str, Any]:
        async def attempt(timeout: float) -> dict[str, Any]:
            call.usage.requests += 1  # every HTTP attempt, failed ones included
            return await self.provider.complete(request, timeout=timeout)

        estimate = estimate_tokens(request) if self.limiter is not None else 0
        try:
            completion = await call_with_retries(
                attempt, self.policy, limiter=self.limiter, tokens=estimate
            )
        except openai.APIStatusError as exc:  # not worth retrying: 400, 401, 404 ...
            if is_mode_rejection(exc):
                raise _ModeRejected(_refused(exc)) from exc
            raise _refused(exc) from exc
        used = completion.get("usage")
        total = used.get("total_tokens") if isinstance(used, dict) else None
        if self.limiter is not None and isinstance(total, int):
            self.limiter.settle(estimate, total)
        return completion

    def check_ready(self) -> None:
        """Raise the ConfigError every request would meet (a missing API key), connecting to
        nothing."""
        from extractor.model.providers import OpenAIProvider

        if isinstance(self.provider, OpenAIProvider):
            self.provider.client()

    # --- the same requests for the OpenAI Batch API, which answers hours later -------------

    def openai_client(self) -> Any:
        """The OpenAI client, for the files and batches endpoints; other providers refuse."""
        from extractor.model.providers import OpenAIProvider

        if not isinstance(self.provider, OpenAIProvider):
            raise UsageError(
                f"--engine openai-batch needs --model openai:<name>, not "
                f"{self.provider.spec.label}; use --engine async for other models"
            )
        return self.provider.client()

    def request_body(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """The body `extract` sends first for these messages, built by the same handler."""
        from instructor.processing import handle_response_model

        _, body = handle_response_model(
            RESPONSE_MODEL,
            mode=self.provider.mode,
            model=self.provider.spec.model_id,
            messages=messages,
            temperature=self.settings.temperature,
            max_tokens=self.settings.max_tokens,
            seed=self.settings.seed,
        )
        return body

    def parse(self, completion: ChatCompletion) -> ExtractionDraft:
        """One answer into a draft, validated as `extract` validates it (but never re-asked)."""
        from instructor.processing import process_response

        return process_response(
            completion, response_model=RESPONSE_MODEL, stream=False, mode=self.provider.mode
        )

    async def call_api(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        """A control-endpoint call (upload, poll, download) retried under the same policy."""

        async def attempt(timeout: float) -> Any:
            return await method(*args, **kwargs)

        policy = dataclasses.replace(self.policy, timeout_s=self.policy.deadline_s)  # big files
        try:
            return await call_with_retries(attempt, policy)
        except openai.APIStatusError as exc:  # not worth retrying: 400, 401, 404 ...
            raise ModelError(
                f"the Batch API refused the request: HTTP {exc.status_code}: {exc.message}"
            ) from exc

    async def aclose(self) -> None:
        await self.provider.aclose()
        if self.cache is not None:
            self.cache.close()


class _ModeRejected(Exception):
    """The server cannot take this response format; the call is retried in tools mode."""

    def __init__(self, error: ModelError) -> None:
        super().__init__(str(error))
        self.error = error


def build_caller(
    spec: ModelSpec, opts: Options, *, prompt_key: str, limiter: Limiter | None = None
) -> ModelCaller:
    """The caller an `Options` asks for: provider, cache or replay, recorder, retry policy."""
    mode = MODES[opts.mode] if opts.mode else None  # names checked by Options
    provider = make_provider(spec, timeout=opts.timeout_s, mode=mode)
    replay = ReplayStore(opts.replay_dir) if opts.replay_dir else None
    cache = open_cache(opts.cache_dir) if opts.use_cache and replay is None else None
    return ModelCaller(
        provider,
        prompt_key=prompt_key,
        settings=CallSettings(
            max_retries=opts.max_retries,
            temperature=opts.temperature,
            max_tokens=opts.max_tokens,
        ),
        policy=RetryPolicy(
            # an in-process model cannot be interrupted: one attempt may use the whole deadline
            max_attempts=1 if spec.provider == "local" else opts.max_attempts,
            deadline_s=opts.deadline_s,
            timeout_s=opts.deadline_s if spec.provider == "local" else opts.timeout_s,
            initial_wait_s=opts.backoff_s,
        ),
        cache=cache,
        record=ReplayStore(opts.record_dir) if opts.record_dir else None,
        replay=replay,
        limiter=limiter,
        mode_forced=mode is not None,
    )


def add_tokens(
    usage: Usage, completion: ChatCompletion, spec: ModelSpec, *, price_factor: float = 1.0
) -> None:
    """Add one answer's tokens to `usage`, and its list price times the factor."""
    if completion.usage is not None:
        u = completion.usage
        usage.prompt_tokens += u.prompt_tokens
        usage.completion_tokens += u.completion_tokens
        usage.total_tokens += u.total_tokens
        usage.cost_usd += spec.cost(u.prompt_tokens, u.completion_tokens) * price_factor


def _refused(exc: openai.APIStatusError) -> ModelError:
    return ModelError(f"the server refused the request: HTTP {exc.status_code}: {exc.message}")


def first_line(exc: BaseException) -> str:
    """An exception's first line, at most 300 characters: enough to say what went wrong."""
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 300 else line[:297] + "..."
