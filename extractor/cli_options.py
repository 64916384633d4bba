"""The options `extract` and `batch` share, declared once, and how they become `Options`."""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from extractor.errors import ExtractorError
from extractor.options import DEFAULTS, Options, option_field
from extractor.output import redact

if TYPE_CHECKING:
    from extractor.engine import Extractor
    from extractor.model.limits import Limiter

err = Console(stderr=True, highlight=False)


def _option(name: str, *short: str) -> Any:
    """A typer option built from the `Options` field: one flag name, help and bound."""
    meta = option_field(name).metadata
    extra = {"min": meta["min"]} if meta["min"] is not None else {}
    return typer.Option(
        f"--{meta['flag'] or name.replace('_', '-')}", *short, help=meta["help"], **extra
    )


#: defaults for the command signatures: `max_retries: opt.MaxRetriesOpt = opt.D.max_retries`
D = DEFAULTS

ModelOpt = Annotated[str | None, _option("model", "-m")]
BaseUrlOpt = Annotated[str | None, _option("base_url")]
ModeOpt = Annotated[str | None, _option("mode")]
PromptVersionOpt = Annotated[str, _option("prompt_version")]
OutputLanguageOpt = Annotated[str | None, _option("output_language")]
DropUngroundedOpt = Annotated[bool, _option("drop_ungrounded")]
FollowUpOpt = Annotated[bool, _option("follow_up_uncovered")]
CacheOpt = Annotated[str | None, _option("cache_dir")]  # a folder or redis:// URL
NoCacheOpt = Annotated[bool, _option("use_cache")]
RecordOpt = Annotated[Path | None, _option("record_dir")]
ReplayOpt = Annotated[Path | None, _option("replay_dir")]
MaxRetriesOpt = Annotated[int, _option("max_retries")]
TimeoutOpt = Annotated[float, _option("timeout_s")]
DeadlineOpt = Annotated[float, _option("deadline_s")]
MaxAttemptsOpt = Annotated[int, _option("max_attempts")]
BackoffOpt = Annotated[float, _option("backoff_s")]
MaxTokensOpt = Annotated[int, _option("max_tokens")]
ChunkCharsOpt = Annotated[int, _option("chunk_chars")]

#: command parameter -> Options field, where the flag is not the field's name
_FIELD = {
    (f.metadata["flag"] or f.name).replace("-", "_"): f.name for f in dataclasses.fields(Options)
}


def extractor_from(
    params: dict[str, Any], *, runner: set[str], limiter: Limiter | None = None
) -> Extractor:
    """The Extractor a command's parameters ask for (pass `locals()`).

    `runner` names the command's parameters that are not extraction options (paths, out,
    concurrency …); any other parameter must be an `Options` field, or this raises, so an
    option cannot be declared on a command and then silently ignored. Says so when no model
    is configured and the baseline runs.
    """
    from extractor.engine import Extractor  # imports the prompt and model spec: not for --help

    values: dict[str, Any] = {}
    for name, value in params.items():
        if name in runner:
            continue
        field = _FIELD.get(name)
        if field is None:
            raise TypeError(f"command parameter {name!r} is neither an option nor in `runner`")
        values[field] = (not value) if field == "use_cache" else value
    extractor = Extractor(
        Options.of(**{k: v for k, v in values.items() if v is not None}), limiter=limiter
    )
    if extractor.caller is not None and extractor.caller.replay is None:
        # a missing API key would fail every article alike: say it once, before any
        extractor.caller.check_ready()
    if extractor.fell_back:
        err.print(
            "note: no model configured, using the offline baseline; connect one with "
            "--model openai:<name> (OPENAI_API_KEY), --base-url URL, or --model local"
        )
    return extractor


def usage_exit(exc: ExtractorError) -> typer.Exit:
    """Print the problem and exit 2: the command was used wrongly, nothing ran."""
    err.print(f"[bold red]error:[/] {escape(redact(str(exc)))}")
    return typer.Exit(2)


#: exit codes of a run stopped by a signal (128 + its number, as a shell reports it)
EXIT_INTERRUPTED = 130  # SIGINT, Ctrl-C
EXIT_TERMINATED = 143  # SIGTERM, e.g. `kill`, a container or job scheduler stopping the run


@contextlib.contextmanager
def stop_signals() -> Iterator[list[int]]:
    """SIGTERM stops a run the way Ctrl-C does (asyncio cancels it, KeyboardInterrupt follows),
    so both report what is done. Yields a one-item list: the exit code for that interrupt."""
    code = [EXIT_INTERRUPTED]
    if threading.current_thread() is not threading.main_thread():
        yield code
        return

    def on_term(signum: int, frame: Any) -> None:
        code[0] = EXIT_TERMINATED
        handler = signal.getsignal(signal.SIGINT)  # asyncio.run's, which cancels the run
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield code
    finally:
        signal.signal(signal.SIGTERM, previous)
