"""The options `extract` and `batch` share, declared once, and how they become `Options`."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from extractor.errors import ExtractorError

if TYPE_CHECKING:
    from extractor.engine import Extractor
    from extractor.model.limits import Limiter

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
ModeOpt = Annotated[str | None, typer.Option(help="instructor mode override, e.g. tool_call.")]
PromptVersionOpt = Annotated[str | None, typer.Option(help="Prompt folder under prompts/.")]
OutputLanguageOpt = Annotated[
    str | None, typer.Option(help="Language of summaries/messages (default: the article's).")
]
DropUngroundedOpt = Annotated[
    bool, typer.Option(help="Drop records whose evidence is not in the article.")
]
FollowUpOpt = Annotated[bool, typer.Option(help="One more request for numbers no Figure covers.")]
CacheOpt = Annotated[
    str | None,
    typer.Option("--cache", help="Cache directory or redis://host:port/db (default: per-user)."),
]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")]
RecordOpt = Annotated[
    Path | None, typer.Option("--record", help="Also write every response to DIR as JSON files.")
]
ReplayOpt = Annotated[
    Path | None,
    typer.Option("--replay", help="Answer only from recordings in DIR; never connect."),
]
MaxRetriesOpt = Annotated[int, typer.Option(min=0, help="Re-asks after invalid output.")]
TimeoutOpt = Annotated[float, typer.Option(min=0.1, help="Seconds per HTTP request.")]
DeadlineOpt = Annotated[
    float, typer.Option(min=0.1, help="Seconds for all retries of one request.")
]
MaxAttemptsOpt = Annotated[
    int, typer.Option(min=1, help="Tries per request on 429/5xx/timeouts/resets.")
]
MaxTokensOpt = Annotated[int, typer.Option(min=16, help="Output tokens per request.")]
ChunkCharsOpt = Annotated[
    int, typer.Option(min=500, help="Characters per chunk; long articles are cut into chunks.")
]

#: command parameter -> Options field, where the names differ
_FIELD = {
    "cache": "cache_dir",
    "record": "record_dir",
    "replay": "replay_dir",
    "timeout": "timeout_s",
    "deadline": "deadline_s",
}


def extractor_from(params: dict[str, Any], limiter: Limiter | None = None) -> Extractor:
    """The Extractor a command's parameters ask for (pass `locals()`); parameters that are not
    options are ignored. Says so when no model is configured and the baseline runs."""
    from extractor.engine import Extractor, Options  # imports instructor: not for --help

    fields = {f.name for f in dataclasses.fields(Options)}
    values = {_FIELD.get(name, name): value for name, value in params.items()}
    values["use_cache"] = not values.pop("no_cache", False)
    extractor = Extractor(
        Options(**{k: v for k, v in values.items() if k in fields and v is not None}),
        limiter=limiter,
    )
    if extractor.fell_back:
        err.print(
            "note: no model configured, using the offline baseline; connect one with "
            "--model openai:<name> (OPENAI_API_KEY), --base-url URL, or --model local"
        )
    return extractor


def usage_exit(exc: ExtractorError) -> typer.Exit:
    """Print the problem and exit 2: the command was used wrongly, nothing ran."""
    err.print(f"[bold red]error:[/] {escape(str(exc))}")  # a message's [brackets] are text
    return typer.Exit(2)
