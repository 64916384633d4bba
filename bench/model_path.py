"""Our CPU per article on the model path, next to a bare `AsyncOpenAI` request with the same body.

The fake server (tests/fake_openai.py) runs in a child process so its work is not counted, and
answers each seed article with a SCRIPTED answer written for it (tests/data/pipeline/answer_*.json,
not a model's): three quotes verbatim, one Figure value wrong, one quote not in the article. The
worst case row answers seed 004 with seed 000's answer, so that no quote is in the article and
every one costs a fuzzy search.

For each row we take the CPU time (process_time) of blocks of N calls of `Extractor.run_article`
(clean, chunk, prompt, instructor, validate, ground, check) and of N bare
`client.chat.completions.create(**body)` calls sending the very body our engine sent,
alternating ours and bare for R rounds so both see the same load; we print the median per
article of each and the median of the rounds' ratios (issue target: at most 1.5x, goal 1.15x).
The last column is the cheapest request the client can make with that body, `client.post`
handing back the JSON (what our provider sends): what is left above it is our own work.
Run: python bench/model_path.py [-n 40] [--rounds 11]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from batch_throughput import _fake_module  # noqa: E402

from extractor import Extractor, Options  # noqa: E402
from extractor.articles import Article  # noqa: E402

#: (row, seed article, scripted answer)
ROWS = [
    ("000", "000_bc9a927a736966c8", "answer_000.json"),
    ("004", "004_8a3114eecaafb72d", "answer_004.json"),
    ("004, worst case", "004_8a3114eecaafb72d", "answer_000.json"),
]


def _serve(conn) -> None:
    fake = _fake_module()
    server = fake.FakeOpenAI().start()
    # only the last body is asked for: keeping thousands of them grew the server's heap until
    # its collector's passes disturbed the later rows' timings
    server.requests = collections.deque(maxlen=1)
    conn.send(server.base_url)
    while (command := conn.recv()) != "done":
        if command == "last":  # the body of the last request, as our engine sent it
            conn.send(server.requests[-1])
        else:  # the name of the answer to give from now on
            answer = (ROOT / "tests/data/pipeline" / command).read_text(encoding="utf-8")
            server.default = fake.Step(content=json.dumps(json.loads(answer)))
            conn.send("ok")
    server.stop()


async def measure(base_url: str, article: Article, body: dict, n: int, rounds: int):
    """Per-round CPU seconds per call of ours, of the bare client and of its bare `post`,
    alternating."""
    import openai

    client = openai.AsyncOpenAI(api_key="x", base_url=base_url, max_retries=0)
    options = Options(model="openai:bench", base_url=base_url, use_cache=False)

    async def create() -> None:
        await client.chat.completions.create(**body)

    async def post() -> None:
        await client.post("/chat/completions", body=body, cast_to=dict[str, Any])

    async with Extractor(options) as ex:

        async def ours() -> None:
            await ex.run_article(article)

        calls = (ours, create, post)
        times: list[list[float]] = [[] for _ in calls]
        for call in calls:  # warm-up: imports, schema
            await call()
        for _ in range(rounds):
            for call, spent in zip(calls, times, strict=True):
                started = time.process_time()
                for _ in range(n):
                    await call()
                spent.append((time.process_time() - started) / n)
    await client.close()
    return times


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
    print(f"{'article':16s} {'ours':>6s} {'bare':>6s} {'ratio':>6s} {'post':>6s} {'ratio':>6s}")
    for row, seed, answer in ROWS:
        parent.send(answer)
        parent.recv()
        path = ROOT / "seeds" / f"{seed}.txt"
        article = Article(id=seed, text=path.read_text(encoding="utf-8"), language="de")
        body = asyncio.run(sent_body(base_url, article, parent))
        mine, bare, post = asyncio.run(measure(base_url, article, body, args.n, args.rounds))
        ratio = statistics.median(m / b for m, b in zip(mine, bare, strict=True))
        to_post = statistics.median(m / p for m, p in zip(mine, post, strict=True))
        ms = [statistics.median(t) * 1000 for t in (mine, bare, post)]
        print(f"{row:16s} {ms[0]:6.2f} {ms[1]:6.2f} {ratio:6.2f} {ms[2]:6.2f} {to_post:6.2f}")
    print("target: ours/bare <= 1.5 (goal 1.15); bare is chat.completions.create(**body)")
    parent.send("done")


if __name__ == "__main__":
    main()
