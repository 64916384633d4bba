"""Rate limits shared by every request of a run: requests and tokens per minute.

Token buckets refilled continuously, holding at most one second's worth, so requests are spread
evenly instead of bursting a minute's allowance at the start. The limiter is injected into the
model caller; cache hits never pass it.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletion

from extractor.errors import UsageError
from extractor.model.transport import retry_after_s

#: characters per token for estimating a request before it is sent
CHARS_PER_TOKEN = 4


class _Bucket:
    """Refills `rate` per second up to `capacity`; may go negative (debt) after a large take."""

    def __init__(self, per_minute: float, now: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)  # one second's worth: no burst of a whole minute
        self.level = self.capacity
        self.stamp = now

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` may be taken; a take larger than the bucket waits for full."""
        need = min(amount, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate


class Limiter(Protocol):
    """What an extractor asks before each request; a cluster can pass a remote one."""

    async def acquire(self, tokens: int = 0) -> float: ...

    def settle(self, estimated: int, actual: int) -> None: ...

    def pause(self, seconds: float) -> None:
        """The server said 429 Retry-After `seconds`: hold every acquire until then."""


class RateLimiter:
    """Requests-per-minute and tokens-per-minute limits shared by every request of a run.

    `acquire(tokens)` waits until one request and `tokens` (an estimate) fit, then takes them;
    `settle(estimate, actual)` corrects the token bucket once the answer's usage is known.
    Waiters are served in arrival order. `waits` records each acquire's wait in seconds.
    """

    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        for name, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and value <= 0:
                raise UsageError(f"--{name} must be a positive number, got {value}")
        self.clock = clock
        self.sleep = sleep
        now = clock()
        self.requests = _Bucket(rpm, now) if rpm else None
        self.tokens = _Bucket(tpm, now) if tpm else None
        self.waits: list[float] = []
        self.paused_until = -math.inf  # clock time before which no request may start
        self._lock = asyncio.Lock()

    @property
    def active(self) -> bool:
        return self.requests is not None or self.tokens is not None

    async def acquire(self, tokens: int = 0) -> float:
        waited = 0.0
        async with self._lock:
            while True:
                now = self.clock()
                wait = max(0.0, self.paused_until - now)
                for bucket, amount in ((self.requests, 1), (self.tokens, tokens)):
                    if bucket is not None:
                        bucket.refill(now)
                        wait = max(wait, bucket.wait_for(amount))
                if wait <= 0:
                    break
                waited += wait
                await self.sleep(wait)
            if self.requests is not None:
                self.requests.level -= 1
            if self.tokens is not None:
                self.tokens.level -= tokens
        self.waits.append(waited)
        return waited

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self.clock() + seconds)

    def settle(self, estimated: int, actual: int) -> None:
        if self.tokens is not None:
            self.tokens.refill(self.clock())
            self.tokens.level = min(self.tokens.capacity, self.tokens.level + estimated - actual)


def estimate_tokens(request: dict[str, Any]) -> int:
    """Prompt tokens before sending: characters of messages and schema over four."""
    sent = {k: request.get(k) for k in ("messages", "tools", "response_format")}
    return math.ceil(len(json.dumps(sent, ensure_ascii=False)) / CHARS_PER_TOKEN)


class LimitedProvider:
    """A provider whose every request (retries included) first passes the rate limiter."""

    def __init__(self, inner: Any, limiter: Limiter) -> None:
        self.inner = inner
        self.limiter = limiter
        self.spec = inner.spec
        self.mode = inner.mode

    async def complete(self, request: dict[str, Any]) -> ChatCompletion:
        estimate = estimate_tokens(request)
        await self.limiter.acquire(estimate)
        try:
            completion = await self.inner.complete(request)  # a failure keeps its estimate
        except Exception as exc:
            if getattr(exc, "status_code", None) == 429 and (wait := retry_after_s(exc)):
                self.limiter.pause(wait)  # one worker's 429 slows every sharer of the limiter
            raise
        if completion.usage is not None:
            self.limiter.settle(estimate, completion.usage.total_tokens)
        return completion

    async def aclose(self) -> None:
        await self.inner.aclose()
