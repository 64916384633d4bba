"""Many articles, concurrently, into one JSONL file that survives `kill -9` and can be resumed.

Guarantees, and how they are kept:

* Every input article ends up as exactly one output line. Lines are written (and flushed) in
  completion order as each article finishes, so a killed run leaves every finished article on
  disk and at most one torn last line.
* `resume=True` first repairs the output: a torn last line is cut off (that article runs
  again), and the file is rewritten without the failed lines of articles that are still in the
  input (a temporary file in the same folder, then `os.replace`, so a kill during the rewrite
  leaves the old file). Those articles are retried; articles with a successful line are
  skipped. So the file never holds two lines for one id.
* Without `resume`, an existing non-empty output is refused rather than overwritten, unless
  `overwrite=True`: a night's results are one typo away from being lost otherwise.
* Duplicate ids in the input are refused before any work (`UsageError`), by a first pass that
  reads only the ids (a set of id strings, not the texts). Two articles with one id could not
  be told apart on resume.
* The input is streamed: `concurrency` workers pull the next article as each frees up, so at
  most `concurrency` articles are loaded at once. What grows with the input is only the set of
  ids (for the duplicate check and the ids already done), never the texts or results.

Rate limits are token buckets refilled continuously, holding at most one second's worth, so
requests are spread evenly instead of bursting a minute's allowance at the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openai.types.chat import ChatCompletion

from extractor.articles import iter_articles, iter_ids
from extractor.errors import UsageError
from extractor.output import JsonlWriter, Summary
from extractor.pipeline import Extractor
from extractor.records import ArticleResult
from extractor.runner import result_for

PathsArg = str | Path | Sequence[str | Path]

#: characters per token for estimating a request before it is sent
CHARS_PER_TOKEN = 4


# --- rate limits -----------------------------------------------------------------------------


class _Bucket:
    """Refills `rate` per second up to `capacity`; may go negative (debt) after a large take."""

    def __init__(self, per_minute: float, now: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)  # one second's worth: no burst of a whole minute
        self.level = self.capacity
        self.stamp = now

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` may be taken; a take larger than the bucket waits for full."""
        need = min(amount, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate


class RateLimiter:
    """Requests-per-minute and tokens-per-minute limits shared by every request of a run.

    `acquire(tokens)` waits until one request and `tokens` (an estimate) fit, then takes them;
    `settle(estimate, actual)` corrects the token bucket once the answer's usage is known.
    Waiters are served in arrival order. `waits` records each acquire's wait in seconds.
    """

    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        for name, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and value <= 0:
                raise UsageError(f"--{name} must be a positive number, got {value}")
        self.clock = clock
        self.sleep = sleep
        now = clock()
        self.requests = _Bucket(rpm, now) if rpm else None
        self.tokens = _Bucket(tpm, now) if tpm else None
        self.waits: list[float] = []
        self._lock = asyncio.Lock()

    @property
    def active(self) -> bool:
        return self.requests is not None or self.tokens is not None

    async def acquire(self, tokens: int = 0) -> float:
        waited = 0.0
        async with self._lock:
            while True:
                now = self.clock()
                wait = 0.0
                for bucket, amount in ((self.requests, 1), (self.tokens, tokens)):
                    if bucket is not None:
                        bucket.refill(now)
                        wait = max(wait, bucket.wait_for(amount))
                if wait <= 0:
                    break
                waited += wait
                await self.sleep(wait)
            if self.requests is not None:
                self.requests.level -= 1
            if self.tokens is not None:
                self.tokens.level -= tokens
        self.waits.append(waited)
        return waited

    def settle(self, estimated: int, actual: int) -> None:
        if self.tokens is not None:
            self.tokens.refill(self.clock())
            self.tokens.level = min(self.tokens.capacity, self.tokens.level + estimated - actual)


def estimate_tokens(request: dict[str, Any]) -> int:
    """Prompt tokens before sending: characters of messages and schema over four."""
    sent = {k: request.get(k) for k in ("messages", "tools", "response_format")}
    return math.ceil(len(json.dumps(sent, ensure_ascii=False)) / CHARS_PER_TOKEN)


class LimitedProvider:
    """A provider whose every request (retries included) first passes the rate limiter."""

    def __init__(self, inner: Any, limiter: RateLimiter) -> None:
        self.inner = inner
        self.limiter = limiter
        self.spec = inner.spec
        self.mode = inner.mode

    async def complete(self, request: dict[str, Any]) -> ChatCompletion:
        estimate = estimate_tokens(request)
        await self.limiter.acquire(estimate)
        completion = await self.inner.complete(request)  # a failed request keeps its estimate
        if completion.usage is not None:
            self.limiter.settle(estimate, completion.usage.total_tokens)
        return completion

    async def aclose(self) -> None:
        await self.inner.aclose()


def limit_extractor(extractor: Extractor, limiter: RateLimiter) -> None:
    """Route the extractor's model requests through `limiter` (cache hits bypass it).

    An extractor limited by an earlier run takes this run's limiter instead.
    """
    caller = extractor.caller
    if caller is None:
        return
    if isinstance(caller.provider, LimitedProvider):
        caller.provider.limiter = limiter
    elif limiter.active:
        caller.provider = LimitedProvider(caller.provider, limiter)


# --- planning: input ids, duplicate check, output repair -------------------------------------


def as_paths(inputs: PathsArg) -> list[Path]:
    if isinstance(inputs, str | Path):
        return [Path(inputs)]
    return [Path(p) for p in inputs]


def scan_input(paths: Sequence[Path]) -> set[str]:
    """The input's ids; a duplicate raises UsageError naming it before anything runs."""
    seen: set[str] = set()
    for article_id, where in iter_ids(paths):
        if article_id in seen:
            raise UsageError(
                f"duplicate article id {article_id!r} (again at {where}): every article needs "
                "its own id, or its results cannot be told apart; fix the input"
            )
        seen.add(article_id)
    return seen


@dataclass
class OutputState:
    """What an existing output already holds, after repair."""

    done: set[str] = field(default_factory=set)  # ids with a successful line
    torn_bytes: int = 0  # cut off the end
    dropped_failed: int = 0  # failed lines removed so their articles run again
    dropped_other: int = 0  # unreadable or second lines for one id


def repair_output(out: Path, input_ids: set[str]) -> OutputState:
    """Cut a torn last line and drop lines that will be rewritten; return the done ids."""
    state = OutputState()
    if not out.exists():
        return state
    with out.open("rb+") as f:
        size = f.seek(0, os.SEEK_END)
        end = _end_of_last_line(f, size)
        if end < size:
            f.truncate(end)
            state.torn_bytes = size - end
    keep: list[bool] = []  # one bool per line: cheap next to the texts we never hold
    with out.open("rb") as f:
        for line in f:
            keep.append(_keep_line(line, input_ids, state))
    if all(keep):
        return state
    handle, tmp_name = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(handle, "wb") as tmp, out.open("rb") as f:
            for line, kept in zip(f, keep, strict=True):
                if kept:
                    tmp.write(line)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    return state


def _end_of_last_line(f: Any, size: int) -> int:
    """Offset just past the last newline (0 when there is none)."""
    pos = size
    while pos > 0:
        step = min(65536, pos)
        f.seek(pos - step)
        block = f.read(step)
        cut = block.rfind(b"\n")
        if cut >= 0:
            return pos - step + cut + 1
        pos -= step
    return 0


def _keep_line(line: bytes, input_ids: set[str], state: OutputState) -> bool:
    try:
        obj = json.loads(line)
        article_id = str(obj["article_id"])
    except (ValueError, KeyError, TypeError):
        state.dropped_other += 1
        return False
    if obj.get("error") is None:
        if article_id in state.done:
            state.dropped_other += 1
            return False
        state.done.add(article_id)
        return True
    if article_id in input_ids:
        state.dropped_failed += 1
        return False
    return True  # a failure for an article no longer in the input: keep the record of it


@dataclass
class BatchPlan:
    paths: list[Path]
    out: Path
    total: int  # articles in the input
    todo: int  # articles this run will process
    output: OutputState

    @property
    def skipped(self) -> int:
        return self.total - self.todo


def plan_batch(inputs: PathsArg, out: Path, *, resume: bool, overwrite: bool = False) -> BatchPlan:
    """Check the input and the output before any work; repair the output when resuming."""
    paths = as_paths(inputs)
    iter_articles(paths)  # raises UsageError for a missing path
    out = Path(out)
    if out.is_dir():
        raise UsageError(f"--out {out} is a directory; give a file name like results.jsonl")
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: folder {out.parent} does not exist; create it first")
    if not resume and not overwrite and out.exists() and out.stat().st_size > 0:
        raise UsageError(
            f"{out} already exists: pass --resume to continue that run, --overwrite to start "
            "over, or choose another --out"
        )
    ids = scan_input(paths)
    if resume:
        state = repair_output(out, ids)
    else:
        state = OutputState()
        out.write_bytes(b"")
    return BatchPlan(paths, out, len(ids), len(ids - state.done), state)


def resume_lines(plan: BatchPlan) -> list[str]:
    s = plan.output
    lines = [f"resume: {plan.skipped} articles already done, {plan.todo} to run"]
    if s.torn_bytes:
        lines.append(f"resume: cut a torn last line ({s.torn_bytes} bytes); its article reruns")
    if s.dropped_failed:
        lines.append(f"resume: retrying {s.dropped_failed} failed articles")
    if s.dropped_other:
        lines.append(f"resume: dropped {s.dropped_other} unreadable or repeated lines")
    return lines


# --- progress --------------------------------------------------------------------------------


class BatchProgress:
    """A rich progress bar on stderr: done/total, rate, ETA, errors and tokens so far.

    `enabled=None` shows it only when stderr is a terminal (not in logs or CI).
    """

    def __init__(
        self, total: int, *, enabled: bool | None = None, description: str = "articles"
    ) -> None:
        self.errors = 0
        self.tokens = 0
        self._progress: Any = None
        if not (sys.stderr.isatty() if enabled is None else enabled):
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[errors]} errors · {task.fields[tokens]} tokens"),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._progress.add_task(
            description, total=total, errors=0, tokens=0, rate="-/s"
        )

    def __enter__(self) -> BatchProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, *, completed: int | None = None, total: int | None = None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=completed, total=total)

    def advance(self, result: ArticleResult) -> None:
        self.errors += result.error is not None
        self.tokens += result.usage.total_tokens
        if self._progress is None:
            return
        self._progress.advance(self._task)
        speed = self._progress.tasks[0].speed
        self._progress.update(
            self._task,
            errors=self.errors,
            tokens=self.tokens,
            rate=f"{speed:.1f}/s" if speed else "-/s",
        )


# --- the async engine ------------------------------------------------------------------------


async def run_batch(
    extractor: Extractor,
    input_path: PathsArg,
    out_path: str | Path,
    *,
    concurrency: int,
    resume: bool,
    rpm: float | None = None,
    tpm: float | None = None,
    progress: bool | None = None,
    overwrite: bool = False,
    limiter: RateLimiter | None = None,
    plan: BatchPlan | None = None,
    summary: Summary | None = None,
) -> Summary:
    """Run every article of `input_path` not yet done in `out_path`; see the module docstring.

    Pass `limiter` to share one across runs or to inspect its waits; otherwise `rpm`/`tpm`
    build one. Pass a `plan` from `plan_batch` to skip planning (it repairs the output).
    Pass a `summary` to read it even when the run is interrupted. The progress bar goes to
    stderr, by default only when that is a terminal.
    """
    if concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, got {concurrency}")
    plan = plan or plan_batch(input_path, Path(out_path), resume=resume, overwrite=overwrite)
    limiter = limiter or RateLimiter(rpm, tpm)
    limit_extractor(extractor, limiter)
    summary = summary if summary is not None else Summary()
    writer = JsonlWriter(plan.out, append=True)
    todo = (item for item in iter_articles(plan.paths) if item.id not in plan.output.done)

    async def worker(bar: BatchProgress) -> None:
        # Each worker pulls the next article itself: no hop through a dispatcher task, so a
        # slot is refilled the moment it frees. The generator is only advanced between awaits.
        for item in todo:
            result = await result_for(extractor, item)
            writer.write(result)
            summary.add(result)
            bar.advance(result)

    try:
        with BatchProgress(plan.todo, enabled=progress) as bar:
            async with asyncio.TaskGroup() as group:
                for _ in range(concurrency):
                    group.create_task(worker(bar))
    finally:
        writer.close()
    return summary
