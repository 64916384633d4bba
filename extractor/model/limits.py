"""Rate limits shared by every request of a run: requests and tokens per minute.

Token buckets refilled continuously, holding at most one second's worth, so requests are spread
evenly instead of bursting a minute's allowance at the start. The limiter is injected into the
model caller (`Extractor(options, limiter=...)`); cache hits never pass it. One limiter may be
shared by many extractors; a 429 with Retry-After pauses all of them.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from extractor.errors import UsageError

#: characters per token for estimating a request before it is sent
CHARS_PER_TOKEN = 4


class Bucket:
    """Refills `rate` per second up to `capacity`; may go negative (debt) after a large take.

    The default capacity is one second's worth, so a minute's allowance is not spent in one
    burst; the service's per-key limits allow a minute's worth.
    """

    def __init__(self, per_minute: float, now: float, capacity: float | None = None) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate) if capacity is None else capacity
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
        """The server asked (429 Retry-After) for a pause: hold every request back."""


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
        self.requests = Bucket(rpm, now) if rpm else None
        self.tokens = Bucket(tpm, now) if tpm else None
        self.waits: list[float] = []
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self, tokens: int = 0) -> float:
        waited = 0.0
        async with self._lock:
            while True:
                now = self.clock()
                wait = max(0.0, self._paused_until - now)
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

    def settle(self, estimated: int, actual: int) -> None:
        if self.tokens is not None:
            self.tokens.refill(self.clock())
            self.tokens.level = min(self.tokens.capacity, self.tokens.level + estimated - actual)

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self.clock() + seconds)


def estimate_tokens(request: dict[str, Any]) -> int:
    """Prompt tokens before sending: characters of messages and schema over four."""
    sent = {k: request.get(k) for k in ("messages", "tools", "response_format")}
    return math.ceil(len(json.dumps(sent, ensure_ascii=False)) / CHARS_PER_TOKEN)
