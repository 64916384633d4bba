"""Time our own code adds per article: everything except waiting for the model.

The model is the scripted fake server on loopback (no latency); per article we take the wall
time of `Extractor.run_article` minus the time spent inside model calls (`usage.latency_s`).
Run: python bench/overhead.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_openai import FakeOpenAI, Step  # noqa: E402

from extractor import Extractor, Options  # noqa: E402
from extractor.articles import Article  # noqa: E402

ANSWER = (ROOT / "tests/data/pipeline/answer_000.json").read_text(encoding="utf-8")


async def measure(extractor: Extractor, article: Article, runs: int) -> tuple[float, float]:
    own: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await extractor.run_article(article)
        assert result.error is None, result.error
        own.append(time.perf_counter() - started - result.usage.latency_s)
    return statistics.median(own), max(own)


async def main() -> None:
    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    texts = {p.stem: p.read_text(encoding="utf-8") for p in seeds}
    big = "\n\n".join(texts.values())
    texts["200kB"] = (big * (200_000 // len(big) + 1))[:200_000]
    with FakeOpenAI(default=Step(content=ANSWER)) as server:
        for model in ("openai:bench", "baseline"):
            extractor = Extractor(
                Options(
                    model=model,
                    base_url=server.base_url if model != "baseline" else None,
                    use_cache=False,
                )
            )
            for name, text in texts.items():
                runs = 3 if len(text) > 10_000 else 10
                median, worst = await measure(
                    extractor, Article(id=name, text=text, language="de"), runs
                )
                print(
                    f"{model:13s} {name:22s} {len(text):>8,d} chars  "
                    f"own time median {median * 1000:8.1f} ms  max {worst * 1000:8.1f} ms"
                )
            await extractor.aclose()


if __name__ == "__main__":
    asyncio.run(main())
