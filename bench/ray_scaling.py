"""Throughput of `extractor batch --engine ray` for 1, 2 and 4 workers, next to the async engine.

The fake server (tests/fake_openai.py, a SCRIPTED answer, not a model) runs in its own process
with a fixed latency per request. For each worker count W, the ray engine runs N articles with
C requests in flight per worker on a local Ray (started once), and the async engine runs the
same input with W*C in flight in this process. Printed per row: the ideal W*C/latency, the ray
engine's articles/s over the whole run and from its first result on (without the actor pool's
start), the async engine's articles/s, and ray/async for both. Needs the ray extra.
Usage: python bench/ray_scaling.py [-n 480] [-c 8] [--latency 0.5] [--workers 1 2 4]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

from batch_throughput import Server, write_input

from extractor.batch.engine import run_batch
from extractor.batch.ray_engine import run_ray_batch
from extractor.engine import Extractor, Options


def options(base_url: str) -> Options:
    return Options(model="openai:bench-model", base_url=base_url, use_cache=False)


def time_ray(base_url: str, src: Path, out: Path, workers: int, c: int) -> tuple[float, float]:
    """Seconds for the whole run, and from the first result written to the end."""
    first: list[float] = []
    stop = threading.Event()

    def watch() -> None:  # the first line on disk marks the pool's first answer
        while not stop.is_set() and not first:
            if out.exists() and out.stat().st_size:
                first.append(time.perf_counter())
            time.sleep(0.01)

    out.unlink(missing_ok=True)
    watcher = threading.Thread(target=watch)
    started = time.perf_counter()
    watcher.start()
    summary = run_ray_batch(
        Extractor(options(base_url)),
        src,
        out,
        resume=False,
        overwrite=True,
        workers=workers,
        concurrency_per_worker=c,
        progress=False,
    )
    ended = time.perf_counter()
    stop.set()
    watcher.join()
    assert summary.failed == 0, summary.lines()
    return ended - started, ended - (first[0] if first else started)


async def time_async(base_url: str, src: Path, out: Path, concurrency: int) -> float:
    extractor = Extractor(options(base_url))
    try:
        started = time.perf_counter()
        summary = await run_batch(
            extractor, src, out, concurrency=concurrency, resume=False, overwrite=True
        )
        assert summary.failed == 0, summary.lines()
        return time.perf_counter() - started
    finally:
        await extractor.aclose()


def main() -> int:
    import ray

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--articles", type=int, default=480)
    parser.add_argument("-c", "--concurrency-per-worker", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    n, c = args.articles, args.concurrency_per_worker
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    print(
        f"{n} articles, latency {args.latency}s, {c} in flight per worker, local Ray 2 CPUs; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print("workers  ideal/s  ray/s (all)  ray/s (from 1st)  async/s (W*C)  ray/async (all, 1st)")
    try:
        with tempfile.TemporaryDirectory() as tmp, Server(args.latency) as server:
            src = Path(tmp) / "in.jsonl"
            write_input(src, n)
            for w in args.workers:
                total, steady = time_ray(server.base_url, src, Path(tmp) / "ray.jsonl", w, c)
                a = asyncio.run(time_async(server.base_url, src, Path(tmp) / "a.jsonl", w * c))
                print(
                    f"{w:>7}  {w * c / args.latency:>7.1f}  {n / total:>11.1f}  "
                    f"{n / steady:>16.1f}  {n / a:>13.1f}  {a / total:>9.2f} {a / steady:>5.2f}"
                )
    finally:
        ray.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
