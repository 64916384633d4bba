"""`extractor batch`: a large collection into one resumable JSONL file.

Registered by the main CLI with `app.command()(batch)`. The options shared with `extract` are
declared again here rather than imported, so this module does not import `extractor.cli`
(which imports this one). Exit codes: 0 all ok, 1 some article failed, 2 usage error.
"""

from __future__ import annotations

import asyncio
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from extractor.errors import UsageError

err = Console(stderr=True, highlight=False)


class Engine(str, Enum):
    async_ = "async"
    openai_batch = "openai-batch"


def batch(
    paths: Annotated[
        list[Path], typer.Argument(help="Input JSONL (or any files/folders `extract` takes).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="JSONL output (required).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="openai:<name> | local[:path.gguf] | baseline. Default: $EXTRACTOR_MODEL, "
            "openai:gpt-4o-mini when OPENAI_API_KEY is set, else baseline.",
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(help="OpenAI-compatible server (vLLM, llama.cpp server, Ollama)."),
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Articles in flight at once.")] = 8,
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
        typer.Option(help="async: requests from here; openai-batch: the OpenAI Batch API."),
    ] = Engine.async_,
    poll_interval: Annotated[
        float, typer.Option(min=0.0, help="Seconds between Batch API status polls.")
    ] = 30.0,
    progress: Annotated[
        bool | None,
        typer.Option("--progress/--no-progress", help="Progress bar (default: if a terminal)."),
    ] = None,
    mode: Annotated[
        str | None, typer.Option(help="instructor mode override, e.g. tool_call.")
    ] = None,
    prompt_version: Annotated[
        str | None, typer.Option(help="Prompt folder under prompts/.")
    ] = None,
    output_language: Annotated[
        str | None, typer.Option(help="Language of summaries/messages (default: the article's).")
    ] = None,
    drop_ungrounded: Annotated[
        bool, typer.Option(help="Drop records whose evidence is not in the article.")
    ] = False,
    cache: Annotated[
        Path | None, typer.Option("--cache", help="Cache directory (default: per-user cache).")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor write the cache.")
    ] = False,
    record: Annotated[
        Path | None,
        typer.Option("--record", help="Also write every response to DIR as JSON files."),
    ] = None,
    replay: Annotated[
        Path | None,
        typer.Option("--replay", help="Answer only from recordings in DIR; never connect."),
    ] = None,
    max_retries: Annotated[int, typer.Option(min=0, help="Re-asks after invalid output.")] = 2,
    timeout: Annotated[float, typer.Option(help="Seconds per HTTP request.")] = 120.0,
    deadline: Annotated[
        float, typer.Option(help="Seconds for all retries of one request.")
    ] = 600.0,
    max_attempts: Annotated[
        int, typer.Option(min=1, help="Tries per request on 429/5xx/timeouts/resets.")
    ] = 6,
    max_tokens: Annotated[int, typer.Option(min=16, help="Output tokens per request.")] = 4096,
    chunk_chars: Annotated[int, typer.Option(min=500, help="Characters per chunk.")] = 12000,
) -> None:
    """Run a whole collection concurrently into OUT, resumable after a crash or kill -9."""
    from extractor.batch import plan_batch, resume_lines, run_batch
    from extractor.pipeline import Extractor, Options, resolve_model

    if out is None:
        _usage_exit(UsageError("--out is required: name the JSONL file to write, e.g. --out out.jsonl"))
    show = sys.stderr.isatty() if progress is None else progress
    given = {
        "model": model,
        "base_url": base_url,
        "mode": mode,
        "prompt_version": prompt_version,
        "output_language": output_language,
        "cache_dir": cache,
        "record_dir": record,
        "replay_dir": replay,
    }
    try:
        plan = plan_batch(paths, out, resume=resume, overwrite=overwrite)
        _, fell_back = resolve_model(model)
        extractor = Extractor(
            Options(
                **{k: v for k, v in given.items() if v is not None},  # type: ignore[arg-type]
                drop_ungrounded=drop_ungrounded,
                use_cache=not no_cache,
                max_retries=max_retries,
                timeout_s=timeout,
                deadline_s=deadline,
                max_attempts=max_attempts,
                max_tokens=max_tokens,
                chunk_chars=chunk_chars,
            )
        )
    except UsageError as exc:
        _usage_exit(exc)
    if fell_back:
        err.print("note: no model configured, using the offline baseline (--model to pick one)")
    if resume:
        for line in resume_lines(plan):
            err.print(line)

    async def go():  # type: ignore[no-untyped-def]
        try:
            if engine is Engine.openai_batch:
                from extractor.openai_batch import run_openai_batch

                return await run_openai_batch(
                    extractor,
                    paths,
                    out,
                    resume=resume,
                    poll_interval=poll_interval,
                    progress=show,
                    plan=plan,
                    log=err.print,
                )
            return await run_batch(
                extractor,
                paths,
                out,
                concurrency=concurrency,
                resume=resume,
                rpm=rpm,
                tpm=tpm,
                progress=show,
                plan=plan,
            )
        finally:
            await extractor.aclose()

    try:
        summary = asyncio.run(go())
    except UsageError as exc:
        _usage_exit(exc)
    except KeyboardInterrupt:
        err.print(f"interrupted: {out} holds every finished article; rerun with --resume")
        raise typer.Exit(130) from None
    for line in summary.lines():
        err.print(line)
    raise typer.Exit(1 if summary.failed else 0)


def _usage_exit(exc: UsageError) -> NoReturn:
    err.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(2)
