"""Throughput of `run_batch` against a fake server with fixed latency, and a lossy server.

Prints achieved articles/s, the ideal concurrency / latency, and their ratio (target >= 0.9);
then the whole `extractor batch` command (interpreter start-up included) next to a bare
`AsyncOpenAI` script that sends the same bodies at the same concurrency and writes each answer
(target: at least 0.95 of its throughput); then runs the same input against a server that
fails every 10th request and checks that no article is lost; then compares peak memory for N
and 4N articles (flat: the input is streamed). The fake server (tests/fake_openai.py) answers
a SCRIPTED extraction; it is not a model.
Usage: python bench/batch_throughput.py [-n 640] [-c 16] [--latency 0.5 2]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from extractor.batch.engine import run_batch
from extractor.engine import Extractor, Options

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


def _fake_module():
    spec = importlib.util.spec_from_file_location("fake_openai", ROOT / "tests/fake_openai.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["fake_openai"] = module
    spec.loader.exec_module(module)
    return module


def write_input(path: Path, n: int) -> None:
    """n articles cycling through the seeds, each with its own id and last line (so that no
    two requests are the same and a cache cannot answer one)."""
    seeds = sorted(SEEDS.glob("*.txt"))
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            text = seeds[i % len(seeds)].read_text(encoding="utf-8") + f"\n\nArchiv-Nr. {i}"
            f.write(json.dumps({"id": f"bench-{i:05d}", "text": text, "language": "de"}) + "\n")


def _serve(conn, latency: float, fail_every: int | None) -> None:
    """Child process: the fake server, so its JSON work does not share our interpreter's GIL."""
    fake = _fake_module()
    answer = json.dumps(json.loads((ROOT / "tests/data/pipeline/answer_000.json").read_text()))
    server = fake.FakeOpenAI(
        default=fake.Step(content=answer), latency=latency, fail_every=fail_every
    ).start()
    conn.send(server.base_url)
    conn.recv()  # until the parent is done
    conn.send(len(server.requests))
    server.stop()


class Server:
    """The fake server in its own process, like a real model server on another machine."""

    def __init__(self, latency: float, fail_every: int | None = None) -> None:
        self.conn, child = mp.Pipe()
        self.proc = mp.get_context("spawn").Process(
            target=_serve, args=(child, latency, fail_every), daemon=True
        )
        self.requests = 0

    def __enter__(self) -> Server:
        self.proc.start()
        self.base_url = self.conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.send("stop")
        self.requests = self.conn.recv()
        self.proc.join(timeout=10)


async def run(base_url: str, src: Path, out: Path, concurrency: int) -> tuple[float, Any]:
    """Seconds for the whole batch, after one warm-up batch of `concurrency` articles.

    The warm-up (imports, the language model, TCP connections) is a one-off second of a run
    that lasts hours; it is not what concurrency buys, so it is left out of the timing.
    """
    options = Options(model="openai:bench-model", base_url=base_url, use_cache=False)
    extractor = Extractor(options)
    try:
        warm = out.with_name("warmup.jsonl")
        with src.open(encoding="utf-8") as f, warm.with_suffix(".in.jsonl").open("w") as w:
            for _, line in zip(range(concurrency), f, strict=False):
                w.write(line)
        await run_batch(
            extractor,
            warm.with_suffix(".in.jsonl"),
            warm,
            concurrency=concurrency,
            resume=False,
            progress=False,
            overwrite=True,
        )
        started = time.perf_counter()
        summary = await run_batch(
            extractor,
            src,
            out,
            concurrency=concurrency,
            resume=False,
            progress=False,
            overwrite=True,
        )
        return time.perf_counter() - started, summary
    finally:
        await extractor.aclose()


#: the reference: read each input line, send its article's body, write the answer; `concurrency`
#: requests in flight, like `extractor batch`
BARE_CLIENT = """
import asyncio, json, sys
import openai

async def main(base_url, src, bodies, out, concurrency):
    bodies = json.load(open(bodies))
    client = openai.AsyncOpenAI(api_key="x", base_url=base_url, max_retries=0)
    queue = asyncio.Queue(concurrency)
    with open(out, "w") as sink:
        async def worker():
            while (line := await queue.get()) is not None:
                article = json.loads(line)
                answer = await client.chat.completions.create(**bodies[article["id"]])
                sink.write(json.dumps({"id": article["id"], "answer": answer.model_dump()}) + "\\n")
        workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
        with open(src) as f:
            for line in f:
                await queue.put(line)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
"""


def request_bodies(base_url: str, src: Path, path: Path) -> None:
    """The body our engine sends for each input article, by article id."""
    from extractor.articles import iter_articles

    extractor = Extractor(Options(model="openai:bench-model", base_url=base_url))
    assert extractor.caller is not None
    bodies = {}
    for article in iter_articles([src]):
        (messages,) = extractor.requests(extractor.prepare(article))
        bodies[article.id] = extractor.caller.request_body(messages)
    path.write_text(json.dumps(bodies), encoding="utf-8")


def cli_vs_bare(src: Path, tmp: Path, latency: float, concurrency: int) -> float:
    """Wall seconds of `extractor batch` and of the bare script, each a fresh process."""
    times = {}
    with Server(latency) as server:
        request_bodies(server.base_url, src, tmp / "bodies.json")
        commands = {
            "extractor batch": [
                str(Path(sys.executable).with_name("extractor")), "batch", str(src), "--out",
                str(tmp / "cli.jsonl"), "--model", "openai:bench-model", "--base-url",
                server.base_url, "--concurrency", str(concurrency), "--cache",
                str(tmp / "cache"), "--no-progress",
            ],
            "bare AsyncOpenAI": [
                sys.executable, "-c", BARE_CLIENT, server.base_url, str(src),
                str(tmp / "bodies.json"), str(tmp / "bare.jsonl"), str(concurrency),
            ],
        }  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        for name, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, check=True, env=env, capture_output=True)
            times[name] = time.perf_counter() - started
    lines = {name: (tmp / out).read_text().count("\n") for name, out in
             (("extractor batch", "cli.jsonl"), ("bare AsyncOpenAI", "bare.jsonl"))}  # fmt: skip
    n = lines["bare AsyncOpenAI"]
    for name, seconds in times.items():
        print(f"  {name:18s} {lines[name]} lines in {seconds:.2f}s = {n / seconds:.1f}/s")
    return times["bare AsyncOpenAI"] / times["extractor batch"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--articles", type=int, default=640)
    parser.add_argument("-c", "--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, nargs="+", default=[0.5, 2.0])
    parser.add_argument("--fail-every", type=int, default=10)
    args = parser.parse_args()
    ok = True
    print(f"load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        write_input(src, args.articles)
        for latency in args.latency:
            with Server(latency) as server:
                cpu = time.process_time()
                elapsed, summary = asyncio.run(
                    run(server.base_url, src, Path(tmp) / "out.jsonl", args.concurrency)
                )
                cpu = time.process_time() - cpu
            achieved = args.articles / elapsed
            ideal = args.concurrency / latency
            ratio = achieved / ideal
            print(
                f"latency {latency}s, concurrency {args.concurrency}: {args.articles} articles "
                f"in {elapsed:.2f}s = {achieved:.1f}/s; ideal {ideal:.1f}/s; "
                f"ratio {ratio:.3f} ({'ok' if ratio >= 0.9 else 'below 0.9'}); "
                f"client CPU {cpu / (args.articles + args.concurrency) * 1000:.1f} ms/article"
            )
            ok &= ratio >= 0.9 and summary.failed == 0

        latency = args.latency[0]
        print(
            f"whole command, latency {latency}s, concurrency {args.concurrency} "
            f"(load average {os.getloadavg()[0]:.2f}):"
        )
        ratio = cli_vs_bare(src, Path(tmp), latency, args.concurrency)
        print(f"  ratio {ratio:.3f} ({'ok' if ratio >= 0.95 else 'below 0.95'})")
        ok &= ratio >= 0.95

        with Server(0.05, args.fail_every) as server:
            out = Path(tmp) / "lossy.jsonl"
            elapsed, summary = asyncio.run(run(server.base_url, src, out, args.concurrency))
        injected = server.requests - args.articles - args.concurrency  # minus the warm-up
        ids = {json.loads(line)["article_id"] for line in out.read_text().splitlines()}
        lost = args.articles - len(ids)
        print(
            f"fail_every={args.fail_every}: {server.requests} requests "
            f"({injected} retries), {summary.ok} ok, {summary.failed} failed, "
            f"{lost} lost, {elapsed:.2f}s"
        )
        ok &= lost == 0 and summary.failed == 0

        peaks = []
        with Server(0.0) as server:
            for n in (args.articles // 4, args.articles):
                write_input(src, n)
                tracemalloc.start()
                asyncio.run(run(server.base_url, src, Path(tmp) / "mem.jsonl", args.concurrency))
                peaks.append(tracemalloc.get_traced_memory()[1] / 1e6)
                tracemalloc.stop()
        growth = peaks[1] / peaks[0]
        print(
            f"peak memory: {peaks[0]:.1f} MB for {args.articles // 4} articles, "
            f"{peaks[1]:.1f} MB for {args.articles} ({growth:.2f}x for 4x the input)"
        )
        ok &= growth < 1.5
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
