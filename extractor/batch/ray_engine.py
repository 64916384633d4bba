"""`extractor batch --engine ray`: the same per-article engine on a Ray cluster, via Ray Data.

How it runs: the driver (the `extractor batch` process) reads the input with `iter_articles`,
skips ids already done, and hands the articles in windows to Ray Data as a dataset;
`map_batches` runs them on a fixed pool of actors, each holding one `Extractor` (one open
client, built from the driver's `Options`) that calls `runner.result_for` for every article,
`concurrency_per_worker` at a time. Results stream back to the driver (`iter_batches`).

Exactly once, and why: the driver is the only writer of the output. It appends each result
line and flushes it, and skips an id it has already written. A worker killed mid-batch makes
Ray run that batch again on a restarted actor, and its results cannot become a second line; a
killed driver leaves every written line and at most one torn last line, which `--resume`
(`plan_batch`, shared with the async engine) cuts off before skipping the ids done. Nothing
is written on the workers, so no part files need merging and no line is torn by a worker.

Global limits: one limiter actor per run (`RateLimiter` inside it) that every worker's
`Extractor` asks before each request (`RemoteLimiter`), so `--rpm/--tpm` hold for the whole
cluster. A worker that gets a 429 with Retry-After tells the limiter (the transport calls
its `pause`), which holds every worker's next request until then.

Memory: only one window of articles (`window`) is in Ray at once; the driver keeps the set of
ids written, as the async engine does. Each window starts a fresh actor pool (a few seconds),
so windows are large.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from extractor.articles import Article
from extractor.batch.plan import BatchPlan, PathsArg, plan_batch
from extractor.batch.progress import BatchProgress
from extractor.engine import Extractor, Options
from extractor.errors import UsageError
from extractor.model.limits import RateLimiter
from extractor.output import JsonlWriter, Summary
from extractor.records import ArticleResult
from extractor.runner import failure_result, result_for

if TYPE_CHECKING:
    import ray

INSTALL_HINT = "pip install 'grounded-news-extractor[ray]'"
#: articles handed to Ray at once; each window starts a fresh actor pool
DEFAULT_WINDOW = 20_000
#: CPU each worker actor reserves: they mostly wait on the model server
WORKER_CPUS = 0.25


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError(f"--engine ray needs Ray: {INSTALL_HINT}") from None
    return ray


class LimiterActor:
    """The cluster's one rate limiter: an async actor around `RateLimiter`."""

    def __init__(self, rpm: float | None, tpm: float | None) -> None:
        self.limiter = RateLimiter(rpm, tpm)

    async def acquire(self, tokens: int = 0) -> float:
        return await self.limiter.acquire(tokens)

    def settle(self, estimated: int, actual: int) -> None:
        self.limiter.settle(estimated, actual)

    def pause(self, seconds: float) -> None:
        self.limiter.pause(seconds)


class RemoteLimiter:
    """The `Limiter` protocol in a worker, answered by the run's `LimiterActor`."""

    def __init__(self, handle: ray.actor.ActorHandle) -> None:
        self.handle = handle

    async def acquire(self, tokens: int = 0) -> float:
        return await self.handle.acquire.remote(tokens)

    def settle(self, estimated: int, actual: int) -> None:
        self.handle.settle.remote(estimated, actual)  # no need to wait for it

    def pause(self, seconds: float) -> None:
        self.handle.pause.remote(seconds)


class ExtractWorker:
    """A Ray Data actor: one Extractor, on its own event loop, run by `result_for`.

    The loop lives in a thread, so the client's connections outlive each batch; a semaphore
    on it keeps at most `concurrency` articles in flight across the batches Ray sends at once.
    """

    def __init__(self, options: Options, limiter: str, namespace: str, concurrency: int) -> None:
        ray = _ray()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        handle = ray.get_actor(limiter, namespace=namespace)
        self.extractor = Extractor(options, limiter=RemoteLimiter(handle))
        self.slots = asyncio.Semaphore(concurrency)

    def __call__(self, batch: Any) -> dict[str, list[str]]:
        articles = [Article(**row) for row in batch.to_pylist()]
        return {"line": asyncio.run_coroutine_threadsafe(self._run(articles), self.loop).result()}

    async def _run(self, articles: list[Article]) -> list[str]:
        async def one(article: Article) -> str:
            async with self.slots:
                result = await result_for(self.extractor, article)
            return result.model_dump_json()

        return list(await asyncio.gather(*(one(a) for a in articles)))


def run_ray_batch(
    extractor: Extractor,
    input_path: PathsArg,
    out_path: str | Path,
    *,
    resume: bool,
    address: str | None = None,
    workers: int = 2,
    concurrency_per_worker: int = 8,
    rpm: float | None = None,
    tpm: float | None = None,
    progress: bool | None = None,
    overwrite: bool = False,
    plan: BatchPlan | None = None,
    summary: Summary | None = None,
    window: int = DEFAULT_WINDOW,
) -> Summary:
    """Run every article of `input_path` not yet done in `out_path` on Ray; see the docstring.

    The workers' extractors are built from `extractor.options`; `extractor` itself only writes
    the error lines of inputs that could not be loaded. Without `address`, starts a local Ray
    (stopped at the end); with one, joins that cluster (`auto`, `ray://head:10001`).
    """
    if workers < 1 or concurrency_per_worker < 1:
        raise UsageError("--workers and --concurrency-per-worker must be at least 1")
    ray = _ray()
    plan = plan or plan_batch(input_path, Path(out_path), resume=resume, overwrite=overwrite)
    summary = summary if summary is not None else Summary()
    started_here = _connect(ray, address)
    name = f"extractor-limiter-{uuid.uuid4().hex[:12]}"
    namespace = ray.get_runtime_context().namespace
    limiter = ray.remote(LimiterActor).options(name=name, num_cpus=0, max_concurrency=10_000)
    limiter_handle = limiter.remote(rpm, tpm)
    writer = JsonlWriter(plan.out, append=True)
    written: set[str] = set()

    def write(result: ArticleResult, bar: BatchProgress) -> None:
        if result.article_id in written:  # a retried batch's second answer
            return
        written.add(result.article_id)
        writer.write(result)
        summary.add(result)
        bar.advance(result)

    try:
        with BatchProgress(plan.todo, enabled=progress) as bar:
            for rows in _windows(plan, extractor, window, lambda r: write(r, bar)):
                batch = concurrency_per_worker * 2
                dataset = ray.data.from_items(rows, override_num_blocks=_blocks(len(rows), batch))
                results = dataset.map_batches(
                    ExtractWorker,
                    fn_constructor_args=(extractor.options, name, namespace,
                                         concurrency_per_worker),
                    batch_size=batch,
                    batch_format="pyarrow",
                    compute=ray.data.ActorPoolStrategy(
                        size=workers,
                        max_tasks_in_flight_per_actor=4,
                        # two batches at once share the worker's slots: no idle tail per batch
                        max_concurrent_calls_per_actor=2,
                        enable_true_multi_threading=True,
                    ),
                    num_cpus=WORKER_CPUS,  # Ray Data restarts a lost actor and reruns its batches
                )  # fmt: skip
                for batch in results.iter_batches(batch_size=None, batch_format="pyarrow"):
                    for line in batch.column("line").to_pylist():
                        write(ArticleResult.model_validate_json(line), bar)
    finally:
        writer.close()
        ray.kill(limiter_handle)
        if started_here:
            ray.shutdown()
    return summary


def _windows(
    plan: BatchPlan, extractor: Extractor, size: int, write: Any
) -> Iterator[list[dict[str, Any]]]:
    """The articles still to do as rows, `size` at a time; inputs that failed to load are
    written at once (they need no worker)."""
    rows: list[dict[str, Any]] = []
    for item in plan.items():
        if isinstance(item, Article):
            rows.append(dataclasses.asdict(item))
            if len(rows) >= size:
                yield rows
                rows = []
        else:
            write(failure_result(item, extractor.model_label))
    if rows:
        yield rows


def _blocks(rows: int, batch: int) -> int:
    """A block per batch (at most 1000), so every worker gets work from the start."""
    return max(1, min(math.ceil(rows / batch), 1000))


def _connect(ray: Any, address: str | None) -> bool:
    """Join the cluster at `address`, or start a quiet local one; True if connected here."""
    started = not ray.is_initialized()
    if started and address:
        try:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise UsageError(
                f"cannot join the Ray cluster at {address}: {exc}; is `ray start --head` running "
                "there? (leave out --address to start a local Ray)"
            ) from exc
    elif started:
        ray.init(
            num_cpus=os.cpu_count() or 2,
            include_dashboard=False,
            logging_level=logging.WARNING,
            log_to_driver=False,
        )
    ray.data.DataContext.get_current().enable_progress_bars = False  # ours show instead
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # set on `import ray.data`
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "disabled"
    return started  # disconnect at the end what we connected (a cluster stays up)
