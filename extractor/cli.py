"""The `extractor` command. Exit codes: 0 all articles ok, 1 some failed, 2 usage error."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from extractor.errors import ExtractorError, UsageError

app = typer.Typer(
    help="Grounded Events, Claims and Figures from news articles.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
cache_app = typer.Typer(help="Inspect and manage the response cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")

err = Console(stderr=True, highlight=False)

ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="openai:<name> | local[:path.gguf] | baseline. Default: $EXTRACTOR_MODEL, "
        "openai:gpt-4o-mini when OPENAI_API_KEY is set, else baseline.",
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(help="OpenAI-compatible server (vLLM, llama.cpp server, Ollama), with openai:"),
]
CacheOpt = Annotated[
    Path | None, typer.Option("--cache", help="Cache directory (default: per-user cache).")
]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")]
RecordOpt = Annotated[
    Path | None, typer.Option("--record", help="Also write every response to DIR as JSON files.")
]
ReplayOpt = Annotated[
    Path | None,
    typer.Option("--replay", help="Answer only from recordings in DIR; never connect."),
]


def _fail_usage(exc: ExtractorError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(2)


@app.command()
def extract(
    paths: Annotated[list[Path], typer.Argument(help="Files (.txt .md .html .jsonl) or folders.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="JSONL output (default: stdout).")
    ] = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
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
    follow_up_uncovered: Annotated[
        bool, typer.Option(help="One more request for numbers no Figure covers.")
    ] = False,
    cache: CacheOpt = None,
    no_cache: NoCacheOpt = False,
    record: RecordOpt = None,
    replay: ReplayOpt = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Articles in flight at once.")] = 1,
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
    """Extract grounded records from articles: one JSONL line per input article."""
    from extractor.articles import iter_articles
    from extractor.output import JsonlWriter, Summary
    from extractor.pipeline import Extractor, Options, resolve_model
    from extractor.prompts import DEFAULT_VERSION
    from extractor.runner import run_in_order

    try:
        items = iter_articles(paths)  # checks that every path exists before anything runs
        _, fell_back = resolve_model(model)
        extractor = Extractor(
            Options(
                model=model,
                base_url=base_url,
                mode=mode,
                prompt_version=prompt_version or DEFAULT_VERSION,
                output_language=output_language,
                drop_ungrounded=drop_ungrounded,
                follow_up_uncovered=follow_up_uncovered,
                cache_dir=cache,
                use_cache=not no_cache,
                record_dir=record,
                replay_dir=replay,
                max_retries=max_retries,
                timeout_s=timeout,
                deadline_s=deadline,
                max_attempts=max_attempts,
                max_tokens=max_tokens,
                chunk_chars=chunk_chars,
            )
        )
        items = iter(items)
        first = next(items, None)
    except UsageError as exc:
        raise _fail_usage(exc) from None
    if fell_back:
        err.print(
            "note: no model configured, using the offline baseline; connect one with "
            "--model openai:<name> (OPENAI_API_KEY), --base-url URL, or --model local"
        )
    summary = Summary()
    writer = JsonlWriter(out)

    async def run() -> None:
        import itertools

        stream = itertools.chain([first] if first is not None else [], items)
        try:
            async for result in run_in_order(extractor, stream, concurrency):
                writer.write(result)
                summary.add(result)
        finally:
            await extractor.aclose()

    try:
        asyncio.run(run())
    finally:
        writer.close()
    for line in summary.lines():
        err.print(line)
    raise typer.Exit(1 if summary.failed else 0)


@cache_app.command("stats")
def cache_stats(cache: CacheOpt = None) -> None:
    """Entries and size of the response cache."""
    from extractor.cache import ResponseCache

    stats = ResponseCache(cache).stats()
    err.print(
        f"{stats['directory']}: {stats['entries']} responses, {stats['size_bytes'] / 1e6:.1f} MB"
    )


@cache_app.command("clear")
def cache_clear(cache: CacheOpt = None) -> None:
    """Remove every cached response."""
    from extractor.cache import ResponseCache

    removed = ResponseCache(cache).clear()
    err.print(f"removed {removed} cached responses")


@app.command()
def schemas(
    directory: Annotated[Path, typer.Argument(help="Where to write them.")] = Path("schemas"),
) -> None:
    """Export the JSON Schema of every record type (the contract for gold files)."""
    from extractor.schemas import export

    for path in export(directory):
        err.print(f"wrote {path}")


def _mount_eval() -> None:
    from extractor.eval_cli import app as eval_app

    app.add_typer(eval_app, name="eval")


_mount_eval()


def main() -> None:
    try:
        app()
    except ExtractorError as exc:  # anything that escaped a command is a usage problem
        err.print(f"[bold red]error:[/] {exc}")
        sys.exit(2)
