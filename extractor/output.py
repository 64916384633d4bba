"""Result lines out: a flushed JSONL writer and the run summary."""

from __future__ import annotations

import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from extractor.records import ArticleResult, Grounding


class JsonlWriter:
    """One line per result, flushed at once, so a killed run leaves at most a torn last line."""

    def __init__(self, path: Path | None, *, append: bool = False) -> None:
        self.path = path
        self._fh: IO[str] = (
            open(path, "a" if append else "w", encoding="utf-8")  # noqa: SIM115
            if path
            else sys.stdout
        )

    def write(self, result: ArticleResult) -> None:
        self._fh.write(result.model_dump_json() + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self.path:
            self._fh.close()


@dataclass
class Summary:
    articles: int = 0
    failed: int = 0
    records: dict[str, int] = field(
        default_factory=lambda: {"events": 0, "claims": 0, "figures": 0}
    )
    grounded: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    cached: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    #: latency in milliseconds -> articles: bounded, so a run of millions stays small
    latencies: Counter[int] = field(default_factory=Counter)

    def add(self, result: ArticleResult) -> None:
        self.articles += 1
        if result.error:
            self.failed += 1
            self.errors[result.error.kind] = self.errors.get(result.error.kind, 0) + 1
        for name in self.records:
            items = getattr(result, name)
            self.records[name] += len(items)
            self.grounded += sum(r.grounding != Grounding.NOT_FOUND for r in items)
        self.requests += result.usage.requests
        self.cached += result.usage.cached
        self.tokens += result.usage.total_tokens
        self.cost_usd += result.usage.cost_usd
        self.latencies[round(result.usage.latency_s * 1000)] += 1

    @property
    def ok(self) -> int:
        return self.articles - self.failed

    def percentile(self, q: float) -> float:
        """Latency in seconds that q% of the articles did not exceed (nearest rank)."""
        rank = math.ceil(q / 100 * self.articles)
        seen = 0
        for ms in sorted(self.latencies):
            seen += self.latencies[ms]
            if seen >= rank:
                return ms / 1000
        return 0.0

    def lines(self) -> list[str]:
        total = sum(self.records.values())
        share = f"{self.grounded / total:.0%}" if total else "n/a"
        by_type = ", ".join(f"{n} {k}" for k, n in self.records.items())
        errors = ", ".join(f"{n} {k}" for k, n in sorted(self.errors.items()))
        return [
            f"articles: {self.articles} ({self.ok} ok, {self.failed} failed"
            + (f": {errors})" if errors else ")"),
            f"records: {total} ({by_type}); grounded: {share}",
            f"requests: {self.requests} ({self.cached} cached); tokens: {self.tokens}; "
            f"cost: ${self.cost_usd:.4f}; latency p50 {self.percentile(50):.2f}s "
            f"p95 {self.percentile(95):.2f}s",
        ]
