"""The options every running command shares, built once from `Options`, and what they open."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import signal
import threading
import typing
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from extractor.errors import ExtractorError
from extractor.options import Options, option_field
from extractor.output import redact

if TYPE_CHECKING:
    from extractor.engine import Extractor
    from extractor.model.limits import Limiter

err = Console(stderr=True, highlight=False)
T = TypeVar("T")


#: the CLI parameter type of each field whose annotation is not one typer reads as is
_CLI_TYPE: dict[str, Any] = {"cache_dir": str | None}  # a folder or a redis:// URL
_SHORT = {"model": ("-m",)}


def _parameter(field: dataclasses.Field[Any]) -> inspect.Parameter:
    """The typer option of one `Options` field: its flag, help, bound and default, once."""
    meta = field.metadata
    flag = meta["flag"] or field.name.replace("_", "-")
    extra = {"min": meta["min"]} if meta["min"] is not None else {}
    option = typer.Option(f"--{flag}", *_SHORT.get(field.name, ()), help=meta["help"], **extra)
    inverted = flag.startswith("no-")
    default = (not field.default) if inverted else field.default
    annotation = _CLI_TYPE.get(field.name, _HINTS[field.name])
    return inspect.Parameter(
        flag.replace("-", "_"),
        inspect.Parameter.KEYWORD_ONLY,
        default=default,
        annotation=Annotated[annotation, option],
    )


_HINTS = typing.get_type_hints(Options)

#: `--cache`, also for the `cache` commands
CacheOpt = _parameter(option_field("cache_dir")).annotation


def with_options(
    *, exclude: tuple[str, ...] = ()
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Give a command every `Options` field as a flag; it receives them as `options: Options`.

    The command declares only its own parameters (paths, `--out`, `--concurrency` …) plus
    `options: Options`; the flags, their help, bounds and defaults come from `Options`, so no
    command repeats them and none can drop one.
    """
    fields = [f for f in dataclasses.fields(Options) if f.name not in exclude]
    extra = {f.name: _parameter(f) for f in fields}

    def decorate(command: Callable[..., T]) -> Callable[..., T]:
        signature = inspect.signature(command, eval_str=True)  # real annotations, for typer
        own = [p for p in signature.parameters.values() if p.name != "options"]

        @functools.wraps(command)
        def run(**kwargs: Any) -> T:
            values = {}
            for name, parameter in extra.items():
                value = kwargs.pop(parameter.name)
                values[name] = (not value) if parameter.name.startswith("no_") else value
            try:
                options = Options.of(**values)
            except ExtractorError as exc:  # e.g. an unknown --mode
                raise usage_exit(exc) from None
            return command(**kwargs, options=options)

        run.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*own, *extra.values()]
        )
        run.__annotations__ = {
            **{p.name: p.annotation for p in own},
            **{p.name: p.annotation for p in extra.values()},
        }
        return run

    return decorate


def open_extractor(options: Options, limiter: Limiter | None = None) -> Extractor:
    """The Extractor a command runs with. A missing API key fails here, once, before any
    article; says so when no model is configured and the baseline runs."""
    from extractor.engine import Extractor  # imports the prompt and model spec: not for --help

    extractor = Extractor(options, limiter=limiter)
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
