"""The job worker: claims queued articles from the database and runs them on the service's
one `Extractor` through `extractor.runner.result_for`, the same call `extract` and `batch` make.

Up to `concurrency` articles run at once (the model's rate limits are the extractor's limiter,
shared with `/v1/extract`). Claims are leases renewed by a heartbeat; `stop(grace)` stops
claiming, lets running articles finish until the grace runs out, and gives the rest back to the
queue so another server (or the next start) runs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable

from anyio import to_thread

from extractor.engine import Extractor
from extractor.records import ArticleResult
from extractor.runner import result_for
from extractor.service.store import Claimed, Store

log = logging.getLogger("extractor.service.worker")


class JobWorker:
    def __init__(
        self,
        store: Store,
        extractor: Extractor,
        *,
        concurrency: int,
        lease_s: float = 30.0,
        poll_s: float = 0.5,
        on_result: Callable[[ArticleResult], None] | None = None,
        on_job_end: Callable[[str, str], None] | None = None,
    ) -> None:
        self.store = store
        self.extractor = extractor
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.on_result = on_result
        self.on_job_end = on_job_end
        self.name = f"{socket.gethostname()[:30]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.running: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        # SQLite has one server: whatever ran before was killed
        if not self.store.postgres and (requeued := self.store.requeue()):
            log.info("requeued articles of a stopped server", extra={"articles": requeued})
        self._tasks = [asyncio.create_task(self._claim_loop()), asyncio.create_task(self._beat())]

    def wake(self) -> None:
        """A job was submitted: claim now instead of at the next poll."""
        self._wake.set()

    def drain(self) -> None:
        """Stop claiming (SIGTERM); running articles go on."""
        self._stopping = True
        self._wake.set()

    async def stop(self, grace: float) -> None:
        """Finish what runs within `grace` seconds; give the rest back to the queue."""
        self.drain()
        deadline = time.monotonic() + grace
        while self.running and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        left = list(self.running)
        for task in self.running.values():
            task.cancel()
        for task in [*self.running.values(), *self._tasks]:
            task.cancel()
        await asyncio.gather(*self.running.values(), *self._tasks, return_exceptions=True)
        if left:
            requeued = await to_thread.run_sync(lambda: self.store.requeue(self.name, left))
            log.info("requeued unfinished articles", extra={"articles": requeued})

    async def _claim_loop(self) -> None:
        while not self._stopping:
            free = self.concurrency - len(self.running)
            claimed: list[Claimed] = []
            if free > 0:
                try:
                    claimed = await to_thread.run_sync(
                        lambda free=free: self.store.claim(self.name, free, self.lease_s)
                    )
                except Exception as exc:  # the database blinked: try again at the next poll
                    log.warning("claim failed", extra={"error_type": type(exc).__name__})
            for item in claimed:
                if self._stopping:  # claimed while SIGTERM arrived: hand it straight back
                    await to_thread.run_sync(
                        lambda item=item: self.store.requeue(self.name, [item.row_id])
                    )
                    continue
                task = asyncio.create_task(self._run(item))
                self.running[item.row_id] = task
            if claimed and len(self.running) < self.concurrency:
                continue  # there may be more queued work
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)

    async def _run(self, item: Claimed) -> None:
        try:
            result = await result_for(self.extractor, item.item)
            finished = await to_thread.run_sync(lambda: self.store.finish(item, result))
            if finished.recorded and self.on_result:
                self.on_result(result)
            if finished.job_status and self.on_job_end:
                self.on_job_end(item.job_id, finished.job_status)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # recording failed: the lease runs out and it is claimed again
            log.error("could not record a result", extra={"error_type": type(exc).__name__})
        finally:
            self.running.pop(item.row_id, None)
            self._wake.set()

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            if self.running:
                try:
                    await to_thread.run_sync(lambda: self.store.heartbeat(self.name, self.lease_s))
                except Exception as exc:
                    log.warning("heartbeat failed", extra={"error_type": type(exc).__name__})
