"""`extractor batch`: a large collection into one resumable JSONL file.

Exit codes: 0 all ok, 1 some article failed, 2 usage error (also: another run holds OUT, OUT
cannot be written), 130 interrupted by Ctrl-C, 143 stopped by SIGTERM (both: resume it).
"""

from __future__ import annotations

import asyncio
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from extractor import cli_options as opt
from extractor.cli_options import err
from extractor.errors import UsageError
from extractor.options import Options


class Engine(StrEnum):
    async_ = "async"
    openai_batch = "openai-batch"
    ray = "ray"


@opt.with_options()
def batch(
    paths: Annotated[
        list[Path], typer.Argument(help="Input JSONL (or any files/folders `extract` takes).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="JSONL output (required).")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight at once.")] = 8,
    resume: Annotated[
        bool,
        typer.Option(
            help="Continue OUT: repair a torn last line, skip articles done, retry failed ones."
        ),
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Start OUT over if it exists.")] = False,
    rpm: Annotated[
        float | None, typer.Option(min=0.001, help="Requests per minute, at most.")
    ] = None,
    tpm: Annotated[
        float | None,
        typer.Option(min=1, help="Tokens per minute, at most (estimated as characters / 4)."),
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(help="async: requests from here; openai-batch: the OpenAI Batch API; ray."),
    ] = Engine.async_,
    address: Annotated[str | None, typer.Option(help="ray: cluster (auto, ray://h:10001).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="ray: worker actors.")] = 2,
    concurrency_per_worker: Annotated[int, typer.Option(min=1, help="ray: per actor.")] = 8,
    poll_interval: Annotated[
        float, typer.Option(min=0.0, help="Seconds between Batch API status polls.")
    ] = 30.0,
    progress: Annotated[
        bool | None,
        typer.Option("--progress/--no-progress", help="Progress bar (default: if a terminal)."),
    ] = None,
    *,
    options: Options,
) -> None:
    """Run a whole collection concurrently into OUT, resumable after a crash or kill -9."""
    from extractor.batch.engine import run_batch
    from extractor.batch.plan import plan_batch, resume_lines
    from extractor.output import OutputLock, Summary

    if out is None:
        raise opt.usage_exit(
            UsageError("--out is required: name the JSONL file to write, e.g. --out out.jsonl")
        )
    lock = OutputLock(out) if OutputLock.needed(out) else None
    try:
        from extractor.model.limits import RateLimiter

        limiter = RateLimiter(rpm, tpm) if rpm or tpm else None
        extractor = opt.open_extractor(options, limiter)
        if engine is Engine.openai_batch:
            from extractor.batch.openai_batch import batch_caller

            batch_caller(extractor)  # refuses a model the Batch API cannot run
        if lock is not None:
            lock.acquire()  # before the plan: it repairs or empties OUT
        plan = plan_batch(paths, out, resume=resume, overwrite=overwrite)
    except UsageError as exc:
        if lock is not None:
            lock.release()
        raise opt.usage_exit(exc) from None
    if resume:
        for line in resume_lines(plan):
            err.print(line)

    summary = Summary()  # filled as articles finish, so an interrupted run can report it

    async def go() -> Summary:
        try:
            if engine is Engine.openai_batch:
                from extractor.batch.openai_batch import run_openai_batch

                return await run_openai_batch(
                    extractor,
                    paths,
                    out,
                    resume=resume,
                    poll_interval=poll_interval,
                    progress=progress,
                    plan=plan,
                    log=err.print,
                )
            if engine is Engine.ray:
                from extractor.batch.ray_engine import run_ray_batch

                return run_ray_batch(
                    extractor,
                    paths,
                    out,
                    resume=resume,
                    address=address,
                    workers=workers,
                    concurrency_per_worker=concurrency_per_worker,
                    rpm=rpm,
                    tpm=tpm,
                    progress=progress,
                    plan=plan,
                    summary=summary,
                )
            return await run_batch(
                extractor,
                paths,
                out,
                concurrency=concurrency,
                resume=resume,
                progress=progress,
                plan=plan,
                summary=summary,
            )
        finally:
            await extractor.aclose()

    try:
        with opt.stop_signals() as stopped:
            summary = asyncio.run(go())
    except KeyboardInterrupt:
        if engine is Engine.openai_batch:
            err.print("interrupted: the batch goes on at the server; --resume re-attaches to it")
        else:
            for line in summary.lines():
                err.print(line)
            err.print(f"interrupted: {out} holds every finished article; rerun with --resume")
        raise typer.Exit(stopped[0]) from None
    except (UsageError, ExceptionGroup) as exc:  # e.g. OUT could not be written: the run stops
        problem = _usage_error_in(exc)
        if problem is None:
            raise
        for line in summary.lines():
            err.print(line)
        raise opt.usage_exit(problem) from None
    finally:
        if lock is not None:
            lock.release()
    for line in summary.lines():
        err.print(line)
    raise typer.Exit(1 if summary.failed else 0)


def _usage_error_in(exc: BaseException) -> UsageError | None:
    """The UsageError itself, or the first one a TaskGroup's ExceptionGroup holds."""
    if isinstance(exc, UsageError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            if (found := _usage_error_in(inner)) is not None:
                return found
    return None
