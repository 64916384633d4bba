"""Request body size (413) and per-key requests per minute (429 with Retry-After)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from extractor.model.limits import Bucket
from extractor.service.problems import Problem, problem_response, title_for


class BodyLimitMiddleware:
    """Refuses bodies over `max_bytes` before a route reads them: by Content-Length, or by
    counting a chunked body as it arrives (it is buffered, at most `max_bytes`)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _problem(self, scope: Scope, size: str) -> Problem:
        mb = self.max_bytes / 1e6
        return Problem(
            413,
            title_for(413),
            f"the request body is {size}, over the {mb:g} MB limit (--max-body-mb); "
            "send fewer articles per request or split the job",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            problem = self._problem(scope, f"{int(length) / 1e6:.1f} MB")
            await problem_response(Request(scope), problem)(scope, receive, send)
            return
        if length is not None:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                problem = self._problem(scope, f"over {self.max_bytes / 1e6:g} MB")
                await problem_response(Request(scope), problem)(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


@dataclass
class KeyRateLimiter:
    """A token bucket per key: up to `rpm` requests at once, refilled at `rpm` per minute.

    Per process: with several replicas each allows a key its rpm (documented in docs/service.md).
    Called from the threadpool that runs the auth dependency, hence the lock.
    """

    clock: Callable[[], float] = time.monotonic
    buckets: dict[int, Bucket] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, key_id: int, rpm: int | None) -> None:
        """Take one request from the key's bucket or raise a 429 Problem."""
        if not rpm:
            return
        with self.lock:
            now = self.clock()
            bucket = self.buckets.setdefault(key_id, Bucket(rpm, now, capacity=rpm))
            bucket.refill(now)
            wait = bucket.wait_for(1)
            if wait == 0:
                bucket.level -= 1
                return
        wait = math.ceil(wait)
        raise Problem(
            429,
            title_for(429),
            f"this key allows {rpm} requests per minute; retry after {wait} s "
            "(or ask for a key with a higher --rpm)",
            headers={"Retry-After": str(wait)},
        )
