"""The `extractor` command. Exit codes: 0 all articles ok, 1 some failed, 2 usage error."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from extractor import cli_options as opt
from extractor.batch.cli import batch
from extractor.cli_options import err
from extractor.errors import ExtractorError, UsageError
from extractor.options import Options
from extractor.output import RedactingFilter, Summary
from extractor.service.cli import mount as mount_service

app = typer.Typer(
    help="Grounded Events, Claims and Figures from news articles.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
cache_app = typer.Typer(help="Inspect and manage the response cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@app.command()
@opt.with_options()
def extract(
    paths: Annotated[list[Path], typer.Argument(help="Files (.txt .md .html .jsonl) or folders.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="JSONL output (default: stdout).")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Articles in flight at once.")] = 1,
    *,
    options: Options,
) -> None:
    """Extract grounded records from articles: one JSONL line per input article, in order.

    For large collections use `extractor batch`: resumable, rate-limited, with progress.
    """
    from extractor.articles import iter_articles
    from extractor.batch.plan import scan_input
    from extractor.output import JsonlWriter, OutputLock, check_not_input, failure_line
    from extractor.runner import run_in_order

    lock = OutputLock(out) if out is not None and OutputLock.needed(out) else None
    try:
        items = iter(iter_articles(paths))  # checks that every path exists before anything runs
        if out is not None:
            check_not_input(out, paths)
        scan_input(paths)  # duplicate ids, before any article is paid for
        extractor = opt.open_extractor(options)
        first = next(items, None)
        if lock is not None:
            lock.acquire()
        writer = JsonlWriter(out)
    except UsageError as exc:
        if lock is not None:
            lock.release()
        raise opt.usage_exit(exc) from None
    summary = Summary()

    async def run() -> None:
        stream = itertools.chain([first] if first is not None else [], items)
        try:
            async for result in run_in_order(extractor, stream, concurrency):
                writer.write(result)
                summary.add(result)
                if result.error is not None:
                    err.print(failure_line(result), markup=False)
        finally:
            await extractor.aclose()

    try:
        with opt.stop_signals() as stopped:
            asyncio.run(run())
    except KeyboardInterrupt:
        _report(summary)
        err.print(
            f"interrupted: {out or 'the output'} holds the {summary.articles} finished articles; "
            "finish the rest with `extractor batch ... --out OUT --resume`"
        )
        raise typer.Exit(stopped[0]) from None
    except UsageError as exc:  # the output could not be written: the run stops here
        _report(summary)
        raise opt.usage_exit(exc) from None
    finally:
        writer.close()
        if lock is not None:
            lock.release()
    _report(summary)
    raise typer.Exit(1 if summary.failed else 0)


def _report(summary: Summary) -> None:
    for line in summary.lines():
        err.print(line)


app.command()(batch)
mount_service(app)


@cache_app.command("stats")
def cache_stats(cache: opt.CacheOpt = None) -> None:
    """Entries and size of the response cache."""
    from extractor.model.cache import open_cache

    stats = open_cache(cache).stats()
    where = stats.get("directory") or stats["url"]
    if stats["entries"] is None:
        err.print(f"{where}: unreadable; `extractor cache clear` rebuilds it")
        raise typer.Exit(1)
    size = f", {stats['size_bytes'] / 1e6:.1f} MB" if "size_bytes" in stats else ""
    err.print(f"{where}: {stats['entries']} responses{size}")


@cache_app.command("clear")
def cache_clear(cache: opt.CacheOpt = None) -> None:
    """Remove every cached response."""
    from extractor.model.cache import open_cache

    store = open_cache(cache)
    removed = store.clear()
    if removed is None:
        err.print("rebuilt the damaged cache: it is empty now")
    else:
        err.print(f"removed {removed} cached responses")
    store.close()


@app.command()
def schemas(
    directory: Annotated[Path, typer.Argument(help="Where to write them.")] = Path("schemas"),
) -> None:
    """Export the records' JSON Schemas (the contract for gold files) and the OpenAPI document."""
    from extractor.schemas import export
    from extractor.service.app import export_openapi

    for path in [*export(directory), export_openapi(directory)]:
        err.print(f"wrote {path}")


def _mount_eval() -> None:
    from extractor.eval.cli import app as eval_app

    app.add_typer(eval_app, name="eval")


_mount_eval()


#: numpy's and scipy's OpenBLAS start a thread per core at import, which spins there: about
#: 0.25 s of CPU a command, for matrices far too small to share out. A value set already stays.
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "1")


def main() -> None:
    os.environ.setdefault(*BLAS_THREADS)  # before anything imports numpy
    _log_warnings()
    try:
        app()
    except ExtractorError as exc:  # anything that escaped a command is a usage problem
        opt.usage_exit(exc)
        sys.exit(2)


def _log_warnings() -> None:
    """Warnings (cache trouble, retries) to stderr, with our API key cut out of them."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
