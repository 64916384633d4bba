"""Transport retries: 429 (honouring Retry-After), 5xx, timeouts and resets, under one deadline.

Validation failures are not handled here: instructor re-asks those with the error. This layer
only decides whether the same request is worth sending again.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import openai
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from extractor.errors import TransportError

T = TypeVar("T")

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    deadline_s: float = 300.0  # overall, across every attempt of one request
    initial_wait_s: float = 1.0
    max_wait_s: float = 30.0


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRYABLE_STATUS
    return False


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


async def call_with_retries(fn: Callable[[], Awaitable[T]], policy: RetryPolicy) -> T:
    backoff = wait_exponential_jitter(initial=policy.initial_wait_s, max=policy.max_wait_s)
    started = time.monotonic()

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after_s(exc)
        delay = asked if asked is not None else backoff(state)
        remaining = policy.deadline_s - (time.monotonic() - started)
        return max(0.0, min(delay, remaining))

    retrying = AsyncRetrying(
        retry=retry_if_exception(is_retryable),
        stop=stop_after_attempt(policy.max_attempts) | stop_after_delay(policy.deadline_s),
        wait=wait,
        reraise=True,
    )
    try:
        return await retrying(fn)
    except openai.APIStatusError as exc:
        if exc.status_code in RETRYABLE_STATUS:
            raise TransportError(
                f"server kept failing (HTTP {exc.status_code}) after "
                f"{retrying.statistics.get('attempt_number', '?')} attempts: {_short(exc)}; "
                "check the server, or raise --timeout / --deadline"
            ) from exc
        raise
    except (openai.APITimeoutError, openai.APIConnectionError) as exc:
        raise TransportError(
            f"{type(exc).__name__} after {retrying.statistics.get('attempt_number', '?')} "
            f"attempts: {_short(exc)}; is the server at the base URL up?"
        ) from exc


def _short(exc: BaseException) -> str:
    text = str(exc).replace("\n", " ")
    return text if len(text) <= 200 else text[:197] + "..."
