"""The `extractor` command. Exit codes: 0 all articles ok, 1 some failed, 2 usage error."""

from __future__ import annotations

import asyncio
import itertools
import sys
from pathlib import Path
from typing import Annotated

import typer

from extractor import cli_options as opt
from extractor.batch.cli import batch
from extractor.cli_options import err
from extractor.errors import ExtractorError, UsageError

app = typer.Typer(
    help="Grounded Events, Claims and Figures from news articles.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
cache_app = typer.Typer(help="Inspect and manage the response cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@app.command()
def extract(
    paths: Annotated[list[Path], typer.Argument(help="Files (.txt .md .html .jsonl) or folders.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="JSONL output (default: stdout).")
    ] = None,
    model: opt.ModelOpt = None,
    base_url: opt.BaseUrlOpt = None,
    mode: opt.ModeOpt = None,
    prompt_version: opt.PromptVersionOpt = None,
    output_language: opt.OutputLanguageOpt = None,
    drop_ungrounded: opt.DropUngroundedOpt = False,
    follow_up_uncovered: opt.FollowUpOpt = False,
    cache: opt.CacheOpt = None,
    no_cache: opt.NoCacheOpt = False,
    record: opt.RecordOpt = None,
    replay: opt.ReplayOpt = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Articles in flight at once.")] = 1,
    max_retries: opt.MaxRetriesOpt = 2,
    timeout: opt.TimeoutOpt = 120.0,
    deadline: opt.DeadlineOpt = 600.0,
    max_attempts: opt.MaxAttemptsOpt = 6,
    max_tokens: opt.MaxTokensOpt = 4096,
    chunk_chars: opt.ChunkCharsOpt = 12000,
) -> None:
    """Extract grounded records from articles: one JSONL line per input article, in order.

    For large collections use `extractor batch`: resumable, rate-limited, with progress.
    """
    from extractor.articles import iter_articles
    from extractor.output import JsonlWriter, Summary
    from extractor.runner import run_in_order

    params = locals()
    try:
        items = iter(iter_articles(paths))  # checks that every path exists before anything runs
        extractor = opt.extractor_from(params)
        first = next(items, None)
    except UsageError as exc:
        raise opt.usage_exit(exc) from None
    summary = Summary()
    writer = JsonlWriter(out)

    async def run() -> None:
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


app.command()(batch)


@cache_app.command("stats")
def cache_stats(cache: opt.CacheOpt = None) -> None:
    """Entries and size of the response cache."""
    from extractor.model.cache import open_cache

    stats = open_cache(cache).stats()
    size = f", {stats['size_bytes'] / 1e6:.1f} MB" if "size_bytes" in stats else ""
    err.print(f"{stats.get('directory') or stats['url']}: {stats['entries']} responses{size}")


@cache_app.command("clear")
def cache_clear(cache: opt.CacheOpt = None) -> None:
    """Remove every cached response."""
    from extractor.model.cache import open_cache

    removed = open_cache(cache).clear()
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
    from extractor.eval.cli import app as eval_app

    app.add_typer(eval_app, name="eval")


_mount_eval()


def main() -> None:
    try:
        app()
    except ExtractorError as exc:  # anything that escaped a command is a usage problem
        err.print(f"[bold red]error:[/] {exc}")
        sys.exit(2)
