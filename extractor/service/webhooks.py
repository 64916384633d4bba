"""Job webhooks: a POST of the ended job, signed, retried with backoff, failures on the job.

The body is the job as `GET /v1/jobs/{id}` shows it. `X-Extractor-Signature: sha256=HEX` is the
HMAC-SHA256 of the exact body bytes with the key's webhook secret (printed by `keys create`);
receivers compare it with `hmac.compare_digest`. Any 2xx is delivery; anything else (or no
answer within 10 s) is retried after `backoff · 2^(attempt-1)` seconds, up to `attempts` tries,
then the job's webhook is `failed` with the last error. Deliveries are claimed in the database,
so with several replicas each webhook is sent by one of them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import Any

import httpx
from anyio import to_thread

from extractor.service.store import Store

log = logging.getLogger("extractor.service.webhooks")
SIGNATURE_HEADER = "X-Extractor-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    def __init__(
        self,
        store: Store,
        render: Callable[[dict[str, Any]], bytes],
        *,
        attempts: int = 5,
        backoff_s: float = 5.0,
        poll_s: float = 0.5,
        timeout_s: float = 10.0,
    ) -> None:
        self.store = store
        self.render = render
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.poll_s = poll_s
        self.http = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)

    async def run(self) -> None:
        try:
            while True:
                try:
                    due = await to_thread.run_sync(self.store.due_webhooks)
                except Exception as exc:
                    log.warning("webhook poll failed", extra={"error_type": type(exc).__name__})
                    due = []
                for job, secret in due:
                    if await to_thread.run_sync(self.store.claim_webhook, job["id"], 60.0):
                        await self.deliver(job, secret)
                await asyncio.sleep(self.poll_s)
        finally:
            await self.http.aclose()

    async def deliver(self, job: dict[str, Any], secret: str) -> None:
        body = self.render(job)
        attempt = job["webhook"]["attempts"] + 1
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, body),
            "X-Extractor-Job": job["id"],
            "X-Extractor-Attempt": str(attempt),
        }
        error: str | None = None
        try:
            answer = await self.http.post(job["webhook"]["url"], content=body, headers=headers)
            if not answer.is_success:
                error = f"HTTP {answer.status_code} from the webhook"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: no answer from the webhook"
        if error is None:
            status, next_in = "delivered", None
        elif attempt >= self.attempts:
            status, next_in = "failed", None
        else:
            status, next_in = "pending", self.backoff_s * 2 ** (attempt - 1)
        await to_thread.run_sync(
            lambda: self.store.webhook_attempted(
                job["id"], attempt, status=status, error=error, next_in=next_in
            )
        )
        log.info(
            "webhook",
            extra={"job": job["id"], "attempt": attempt, "status": status, "error": error},
        )
