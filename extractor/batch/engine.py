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
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from extractor.batch.plan import BatchPlan, PathsArg, plan_batch
from extractor.batch.progress import BatchProgress
from extractor.engine import Extractor
from extractor.errors import UsageError
from extractor.output import JsonlWriter, Summary
from extractor.runner import result_for


async def run_batch(
    extractor: Extractor,
    input_path: PathsArg,
    out_path: str | Path,
    *,
    concurrency: int,
    resume: bool,
    progress: bool | None = None,
    overwrite: bool = False,
    plan: BatchPlan | None = None,
    summary: Summary | None = None,
) -> Summary:
    """Run every article of `input_path` not yet done in `out_path`; see the module docstring.

    Rate limits belong to the extractor (`Extractor(options, limiter=RateLimiter(rpm, tpm))`),
    so every runner that shares it shares them. Pass a `plan` from `plan_batch` to skip
    planning (it repairs the output).
    Pass a `summary` to read it even when the run is interrupted. The progress bar goes to
    stderr, by default only when that is a terminal.
    """
    if concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, got {concurrency}")
    plan = plan or plan_batch(input_path, Path(out_path), resume=resume, overwrite=overwrite)
    summary = summary if summary is not None else Summary()
    writer = JsonlWriter(plan.out, append=True)
    todo = plan.items()

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
