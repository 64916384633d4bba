"""Every option of a run, with its default and help text, in one place.

The CLI builds its flags from these fields (`cli_options`), the library takes them as keyword
arguments (`extractor.extract(text, **options)`), and the service reads the same defaults, so a
default or a help text is never written twice.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractor.errors import UsageError

DEFAULT_PROMPT_VERSION = "extract-v1"
#: what `--mode` accepts: how the response schema is sent (instructor's modes of those names)
MODES = ("tools", "json_schema", "json", "md_json")


def _meta(help: str, *, flag: str | None = None, min: float | None = None) -> dict[str, Any]:
    """A field's CLI help, flag name (default: the field name) and lower bound.

    A flag starting with "no-" sets the field to False (its help describes the flag).
    """
    return {"help": help, "flag": flag, "min": min}


@dataclass
class Options:
    """Everything that shapes a run. Defaults are what a first-time user should get."""

    model: str | None = field(
        default=None,
        metadata=_meta(
            "openai:<name> | local[:path.gguf] | baseline. Default: $EXTRACTOR_MODEL, "
            "openai:gpt-4o-mini when OPENAI_API_KEY is set, else baseline."
        ),
    )
    base_url: str | None = field(
        default=None,
        metadata=_meta(
            "OpenAI-compatible server (vLLM, llama.cpp server, Ollama), with openai:<name>."
        ),
    )
    mode: str | None = field(
        default=None,
        metadata=_meta(
            "How the schema is sent: tools, json_schema, json or md_json (default: per server)."
        ),
    )
    prompt_version: str = field(
        default=DEFAULT_PROMPT_VERSION, metadata=_meta("Prompt folder under prompts/.")
    )
    output_language: str | None = field(
        default=None, metadata=_meta("Language of summaries and messages (default: the article's).")
    )
    drop_ungrounded: bool = field(
        default=False, metadata=_meta("Drop records whose evidence is not in the article.")
    )
    follow_up_uncovered: bool = field(
        default=False,
        metadata=_meta("One more request for numbers the analyzer sees but no Figure covers."),
    )
    max_retries: int = field(default=2, metadata=_meta("Re-asks after an invalid answer.", min=0))
    timeout_s: float = field(
        default=120.0,
        metadata=_meta(
            "Seconds one HTTP attempt may take, body included.", flag="timeout", min=0.1
        ),
    )
    deadline_s: float = field(
        default=600.0,
        metadata=_meta(
            "Seconds for all attempts of one request, waits included.", flag="deadline", min=0.1
        ),
    )
    max_attempts: int = field(
        default=6, metadata=_meta("Tries per request on 429/5xx/timeouts/resets.", min=1)
    )
    backoff_s: float = field(
        default=1.0,
        metadata=_meta(
            "Seconds before the first retry; doubles with jitter up to 30 s.",
            flag="backoff",
            min=0.0,
        ),
    )
    max_tokens: int = field(default=4096, metadata=_meta("Output tokens per request.", min=16))
    temperature: float = field(default=0.0, metadata=_meta("Sampling temperature.", min=0.0))
    chunk_chars: int = field(
        default=12000,
        metadata=_meta("Characters per chunk; long articles are cut into chunks.", min=500),
    )
    chunk_overlap: int | None = field(
        default=None,
        metadata=_meta("Characters two chunks share (default: min(1000, chunk_chars / 4)).", min=0),
    )
    cache_dir: str | Path | None = field(
        default=None,
        metadata=_meta(
            "Cache folder, or redis://host:port/db shared by many machines "
            "(default: $EXTRACTOR_CACHE_DIR or the per-user cache).",
            flag="cache",
        ),
    )
    use_cache: bool = field(
        default=True, metadata=_meta("Neither read nor write the response cache.", flag="no-cache")
    )
    record_dir: Path | None = field(
        default=None,
        metadata=_meta("Also write every response to DIR as reviewable JSON files.", flag="record"),
    )
    replay_dir: Path | None = field(
        default=None,
        metadata=_meta("Answer only from recordings in DIR; never connect.", flag="replay"),
    )

    def __post_init__(self) -> None:
        if self.mode is not None and self.mode not in MODES:
            raise UsageError(f"unknown --mode {self.mode!r}: use one of {', '.join(MODES)}")

    @classmethod
    def of(cls, **values: Any) -> Options:
        """Options from keyword arguments; an unknown name is an error, never dropped."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise UsageError(
                f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}"
            )
        return cls(**values)

    @property
    def overlap(self) -> int:
        """Small chunks get a smaller overlap, so that they still advance."""
        if self.chunk_overlap is not None:
            return self.chunk_overlap
        return min(1000, self.chunk_chars // 4)


def option_field(name: str) -> dataclasses.Field[Any]:
    return next(f for f in dataclasses.fields(Options) if f.name == name)
