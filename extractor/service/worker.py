"""The job worker: claims queued articles from the database and runs them on the service's
one `Extractor` through `extractor.runner.result_for`, the same call `extract` and `batch` make.

Up to `concurrency` articles run at once (the model's rate limits are the extractor's limiter,
shared with `/v1/extract`). Claims are leases renewed by a heartbeat; `stop(grace)` stops
claiming, lets running articles finish until the grace runs out, and gives the rest back to the
queue so another server (or the next start) runs them.

The worker's database writes go through one thread, so they never wait on each other's locks.
The articles that finish while one batch of result lines is written are recorded together in
the next (one transaction), and a slot takes its next article as soon as its article is
extracted, so claims gather too: a claim or a batch costs about what one article's did.
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
from typing import Any, TypeVar

from anyio import CapacityLimiter, to_thread

from extractor.engine import Extractor
from extractor.records import ArticleResult
from extractor.runner import result_for
from extractor.service.store import Claimed, Finished, Store

log = logging.getLogger("extractor.service.worker")
T = TypeVar("T")


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
        self.running: dict[int, asyncio.Task[None]] = {}  # leased rows, until recorded
        self._computing = 0  # of those, articles not yet extracted: the concurrency's slots
        self._wake = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._db_thread = CapacityLimiter(1)
        self._to_record: list[tuple[Claimed, ArticleResult, asyncio.Future[Finished]]] = []
        self._record_wake = asyncio.Event()
        self._written = asyncio.Event()

    def start(self) -> None:
        # SQLite has one server: whatever ran before was killed
        if not self.store.postgres and (requeued := self.store.requeue()):
            log.info("requeued articles of a stopped server", extra={"articles": requeued})
        self._tasks = [
            asyncio.create_task(self._claim_loop()),
            asyncio.create_task(self._record_loop()),
            asyncio.create_task(self._beat()),
        ]

    def results_written(self) -> asyncio.Event:
        """Set when this worker's next batch of result lines is committed: a stream that
        follows a job waits on it instead of polling (other replicas' lines are still polled)."""
        return self._written

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
            requeued = await self._db(self.store.requeue, self.name, left)
            log.info("requeued unfinished articles", extra={"articles": requeued})

    async def _claim_loop(self) -> None:
        while not self._stopping:
            free = self.concurrency - self._computing
            claimed: list[Claimed] = []
            if free > 0:
                try:
                    claimed = await self._db(self.store.claim, self.name, free, self.lease_s)
                except Exception as exc:  # the database blinked: try again at the next poll
                    log.warning("claim failed", extra={"error_type": type(exc).__name__})
            for item in claimed:
                if self._stopping:  # claimed while SIGTERM arrived: hand it straight back
                    await self._db(self.store.requeue, self.name, [item.row_id])
                    continue
                task = asyncio.create_task(self._run(item))
                self.running[item.row_id] = task
                self._computing += 1
            if claimed and self._computing < self.concurrency:
                continue  # there may be more queued work
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)

    async def _run(self, item: Claimed) -> None:
        computing = True
        try:
            result = await result_for(self.extractor, item.item)
            computing = False  # its slot takes the next article while this one is recorded
            self._computing -= 1
            self._wake.set()
            recorded = asyncio.get_running_loop().create_future()
            self._to_record.append((item, result, recorded))
            self._record_wake.set()
            finished = await recorded
            if finished.recorded and self.on_result:
                self.on_result(result)
            if finished.job_status and self.on_job_end:
                self.on_job_end(item.job_id, finished.job_status)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # recording failed: `_record_loop` gave it back to the queue
            log.error("could not record a result", extra={"error_type": type(exc).__name__})
        finally:
            self.running.pop(item.row_id, None)
            if computing:
                self._computing -= 1
                self._wake.set()

    async def _record_loop(self) -> None:
        while True:
            await self._record_wake.wait()
            self._record_wake.clear()
            batch, self._to_record = self._to_record, []
            if not batch:
                continue
            waiting = [recorded for _, _, recorded in batch]
            try:
                outcomes = await self._db(self.store.finish, [(c, r) for c, r, _ in batch])
            except Exception as exc:  # each waiting article logs it, and goes back to the queue
                for recorded in waiting:
                    if not recorded.done():  # done: its article was cancelled (stop)
                        recorded.set_exception(exc)
                with contextlib.suppress(Exception):  # else their leases run out
                    await self._db(self.store.requeue, self.name, [c.row_id for c, _, _ in batch])
                continue
            self._written.set()
            self._written = asyncio.Event()
            for recorded, outcome in zip(waiting, outcomes, strict=True):
                if not recorded.done():
                    recorded.set_result(outcome)

    async def _db(self, call: Callable[..., T], *args: Any) -> T:
        """A store call on the worker's one database thread."""
        return await to_thread.run_sync(call, *args, limiter=self._db_thread)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            if self.running:
                try:
                    await self._db(self.store.heartbeat, self.name, self.lease_s)
                except Exception as exc:
                    log.warning("heartbeat failed", extra={"error_type": type(exc).__name__})
