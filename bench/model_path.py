"""Our CPU per article on the model path, next to a bare `AsyncOpenAI` request with the same body.

The fake server (tests/fake_openai.py, a SCRIPTED answer, not a model) runs in a child process so
its work is not counted. For each seed article we take the CPU time (process_time) of blocks of
N calls of `Extractor.run_article` (clean, chunk, prompt, instructor, validate, ground, check)
and of N bare `client.chat.completions.create(**body)` calls sending the very body our engine
sent, alternating ours and bare for R rounds so both see the same load; we print the median per
article of each and the median of the rounds' ratios (issue target: at most 1.5x, goal 1.15x).
Run: python bench/model_path.py [-n 40] [--rounds 11]
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


async def measure(base_url: str, article: Article, body: dict, n: int, rounds: int):
    """Per-round CPU seconds per call of ours and of the bare client, alternating."""
    import openai

    client = openai.AsyncOpenAI(api_key="x", base_url=base_url, max_retries=0)
    options = Options(model="openai:bench", base_url=base_url, use_cache=False)
    async with Extractor(options) as ex:
        assert (await ex.run_article(article)).error is None  # warm-up: imports, schema
        await client.chat.completions.create(**body)
        mine, bare = [], []
        for _ in range(rounds):
            started = time.process_time()
            for _ in range(n):
                await ex.run_article(article)
            mine.append((time.process_time() - started) / n)
            started = time.process_time()
            for _ in range(n):
                await client.chat.completions.create(**body)
            bare.append((time.process_time() - started) / n)
    await client.close()
    return mine, bare


async def sent_body(base_url: str, article: Article, parent) -> dict:
    async with Extractor(Options(model="openai:bench", base_url=base_url, use_cache=False)) as ex:
        assert (await ex.run_article(article)).error is None
    parent.send("last")
    return parent.recv()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=40, help="calls per block")
    parser.add_argument("--rounds", type=int, default=11, help="alternating blocks of each")
    args = parser.parse_args()
    parent, child = mp.Pipe()
    proc = mp.Process(target=_serve, args=(child,), daemon=True)
    proc.start()
    base_url = parent.recv()
    print(
        f"load average {os.getloadavg()[0]:.2f}; {args.rounds} rounds of {args.n} calls each; "
        "CPU ms per article, medians"
    )
    print(f"{'article':24s} {'ours':>8s} {'bare':>8s} {'ratio':>6s}")
    ratios = []
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        article = Article(id=path.stem, text=path.read_text(encoding="utf-8"), language="de")
        body = asyncio.run(sent_body(base_url, article, parent))
        mine, bare = asyncio.run(measure(base_url, article, body, args.n, args.rounds))
        ratio = statistics.median(m / b for m, b in zip(mine, bare, strict=True))
        ratios.append(ratio)
        ours_ms, bare_ms = statistics.median(mine) * 1000, statistics.median(bare) * 1000
        print(f"{path.stem:24s} {ours_ms:8.2f} {bare_ms:8.2f} {ratio:6.2f}")
    print(f"median ratio {statistics.median(ratios):.2f} (target <= 1.5, goal 1.15)")
    parent.send("done")


if __name__ == "__main__":
    main()
