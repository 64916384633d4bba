"""Transport retries: 429 (honouring Retry-After), 5xx, timeouts and resets, under one deadline.

Validation failures are not handled here: instructor re-asks those with the error. This layer
only decides whether the same request is worth sending again, and bounds its wall time: each
attempt, body included, gets at most `timeout_s` and never more than what is left of
`deadline_s` (a server that drips one byte at a time cannot hold a request open longer).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import openai
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    wait_exponential,
    wait_random,
)

from extractor.errors import TransportError
from extractor.model.limits import Limiter

T = TypeVar("T")

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long one request may be tried; values come from `Options`."""

    max_attempts: int
    deadline_s: float  # overall, across every attempt of one request, waits included
    timeout_s: float  # one attempt, body included
    initial_wait_s: float
    max_wait_s: float = 30.0
    #: injected so tests never sleep for real
    sleep: Callable[[float], Awaitable[Any]] = field(default=asyncio.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)


class ServerFault(Exception):
    """A 200 answer that is not a chat completion (an HTML page, no choices): worth retrying."""


class AttemptTimeout(Exception):
    """One attempt ran past its time (e.g. a server dripping its body)."""


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError):
        return True
    if isinstance(exc, ServerFault | AttemptTimeout):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRYABLE_STATUS and not is_mode_rejection(exc)
    return False


def is_mode_rejection(exc: openai.APIStatusError) -> bool:
    """The server cannot take the response format (llama.cpp's server answers 500 so)."""
    text = str(exc).lower()
    return exc.status_code in (400, 422, 500) and (
        "response_format" in text or "json_schema" in text or "grammar" in text
    )


def check_completion(answer: Any) -> dict[str, Any]:
    """A chat completion's JSON dict, or a retryable ServerFault saying what came instead.

    openai hands back the text of an answer not labelled JSON: it is read as JSON if it is
    (text nested too deep to read is not).
    """
    if isinstance(answer, str):
        with contextlib.suppress(ValueError, RecursionError):
            answer = json.loads(answer)
    if not isinstance(answer, dict):
        shown = str(answer).strip().replace("\n", " ")[:120]
        raise ServerFault(f"the server answered with something else than JSON: {shown!r}")
    if not answer.get("choices"):
        raise ServerFault("the server answered with no choices")
    return answer


def retry_after_s(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait (Retry-After or retry-after-ms), if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


async def call_with_retries(
    fn: Callable[[float], Awaitable[T]],
    policy: RetryPolicy,
    *,
    limiter: Limiter | None = None,
    tokens: int = 0,
) -> T:
    """Call `fn(timeout)` until it succeeds, fails for good, or the deadline passes.

    `fn` gets the seconds its attempt may take; the attempt is also cancelled after them. Each
    attempt first passes `limiter` (its wait does not count against the deadline), and a
    Retry-After from the server pauses the limiter, so every request sharing it slows down.
    """
    started = policy.clock()
    queued = 0.0  # time spent waiting on our own rate limiter
    asked_too_long: list[float] = []

    def remaining() -> float:
        return policy.deadline_s - (policy.clock() - started - queued)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after_s(exc)
        if asked is not None and limiter is not None:
            limiter.pause(asked)
        delay = asked if asked is not None else backoff(state)
        return max(0.0, min(delay, remaining()))

    def stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.max_attempts or remaining() <= 0:
            return True
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after_s(exc)
        if asked is not None and asked > remaining():
            asked_too_long.append(asked)
            return True
        return False

    async def attempt() -> T:
        nonlocal queued
        if limiter is not None:
            queued += await limiter.acquire(tokens)
        budget = min(policy.timeout_s, remaining())
        try:
            async with asyncio.timeout(budget):
                return await fn(budget)
        except TimeoutError as exc:
            raise AttemptTimeout(f"no complete answer within {budget:.1f}s") from exc

    failed: list[BaseException] = []  # the first attempt's failure, for tenacity to see

    async def attempt_again() -> T:
        if failed:
            raise failed.pop()
        return await attempt()

    retrying: AsyncRetrying | None = None
    try:
        try:  # most requests succeed at once: tenacity's set-up is for those that do not
            return await attempt()
        except Exception as exc:
            if not is_retryable(exc):
                raise
            failed.append(exc)
        backoff = wait_exponential(multiplier=policy.initial_wait_s, max=policy.max_wait_s)
        backoff += wait_random(0, policy.initial_wait_s)
        retrying = AsyncRetrying(
            retry=retry_if_exception(is_retryable),
            stop=stop,
            wait=wait,
            sleep=policy.sleep,
            reraise=True,
        )
        return await retrying(attempt_again)
    except openai.APIStatusError as exc:
        if asked_too_long:
            raise TransportError(
                f"the server asked to wait {asked_too_long[0]:.0f}s (Retry-After, HTTP "
                f"{exc.status_code}), longer than the {max(remaining(), 0):.0f}s left of "
                "--deadline; raise --deadline or --rpm less, or try later"
            ) from exc
        if exc.status_code in RETRYABLE_STATUS and not is_mode_rejection(exc):
            raise TransportError(
                f"server kept failing (HTTP {exc.status_code}) after "
                f"{_attempts(retrying)} attempts: {_short(exc)}; "
                "check the server, or raise --timeout / --deadline"
            ) from exc
        raise
    except (openai.APITimeoutError, openai.APIConnectionError, AttemptTimeout) as exc:
        raise TransportError(
            f"{_describe(exc)} after {_attempts(retrying)} attempts "
            f"({policy.clock() - started:.1f}s); is the server at the base URL up? "
            "(--timeout, --deadline and --max-attempts bound the wait)"
        ) from exc
    except ServerFault as exc:
        raise TransportError(
            f"{exc} after {_attempts(retrying)} attempts; check the base URL points at an "
            "OpenAI-compatible API"
        ) from exc


def _attempts(retrying: AsyncRetrying | None) -> Any:
    return 1 if retrying is None else retrying.statistics.get("attempt_number", "?")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, AttemptTimeout):
        return f"timeout ({exc})"
    return f"{type(exc).__name__}: {_short(exc)}"


def _short(exc: BaseException) -> str:
    text = str(exc).replace("\n", " ")
    return text if len(text) <= 200 else text[:197] + "..."
