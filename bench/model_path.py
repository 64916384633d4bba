"""Our CPU per article on the model path, next to a bare `AsyncOpenAI` request with the same body.

The fake server (tests/fake_openai.py, a SCRIPTED answer, not a model) runs in a child process so
its work is not counted. For each seed article we take the CPU time (process_time) of N calls
of `Extractor.run_article` (clean, chunk, prompt, instructor, validate, ground, check), and of
N bare `client.chat.completions.create(**body)` calls sending the very body our engine sent,
and print both per article and their ratio (issue target: at most 1.5x, goal 1.15x).
Run: python bench/model_path.py [-n 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from batch_throughput import _fake_module  # noqa: E402

from extractor import Extractor, Options  # noqa: E402
from extractor.articles import Article  # noqa: E402


def _serve(conn) -> None:
    fake = _fake_module()
    answer = json.dumps(json.loads((ROOT / "tests/data/pipeline/answer_000.json").read_text()))
    server = fake.FakeOpenAI(default=fake.Step(content=answer)).start()
    conn.send(server.base_url)
    while conn.recv() == "last":  # the body of the last request, as our engine sent it
        conn.send(server.requests[-1])
    server.stop()


async def ours(base_url: str, article: Article, n: int) -> float:
    async with Extractor(Options(model="openai:bench", base_url=base_url, use_cache=False)) as ex:
        assert (await ex.run_article(article)).error is None  # warm-up: imports, schema
        started = time.process_time()
        for _ in range(n):
            await ex.run_article(article)
        return (time.process_time() - started) / n


async def bare(base_url: str, body: dict, n: int) -> float:
    import openai

    client = openai.AsyncOpenAI(api_key="x", base_url=base_url, max_retries=0)
    await client.chat.completions.create(**body)
    started = time.process_time()
    for _ in range(n):
        await client.chat.completions.create(**body)
    spent = (time.process_time() - started) / n
    await client.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200, help="calls per measurement")
    args = parser.parse_args()
    parent, child = mp.Pipe()
    proc = mp.Process(target=_serve, args=(child,), daemon=True)
    proc.start()
    base_url = parent.recv()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.n} calls each; CPU ms per article")
    print(f"{'article':24s} {'ours':>8s} {'bare':>8s} {'ratio':>6s}")
    ratios = []
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        article = Article(id=path.stem, text=path.read_text(encoding="utf-8"), language="de")
        mine = asyncio.run(ours(base_url, article, args.n))
        parent.send("last")
        body = parent.recv()
        reference = asyncio.run(bare(base_url, body, args.n))
        ratios.append(mine / reference)
        print(f"{path.stem:24s} {mine * 1000:8.2f} {reference * 1000:8.2f} {mine / reference:6.2f}")
    print(f"median ratio {statistics.median(ratios):.2f} (target <= 1.5, goal 1.15)")
    parent.send("done")


if __name__ == "__main__":
    main()
