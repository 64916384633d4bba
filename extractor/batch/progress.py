"""The batch progress bar (rich, on stderr)."""

from __future__ import annotations

import sys
from typing import Any

from extractor.output import failure_line
from extractor.records import ArticleResult


class BatchProgress:
    """A rich progress bar on stderr: done/total, rate, ETA, errors and tokens so far.

    `enabled=None` shows it only when stderr is a terminal (not in logs or CI).
    """

    def __init__(
        self, total: int, *, enabled: bool | None = None, description: str = "articles"
    ) -> None:
        self.errors = 0
        self.tokens = 0
        self._progress: Any = None
        if not (sys.stderr.isatty() if enabled is None else enabled):
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[errors]} errors · {task.fields[tokens]} tokens"),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._progress.add_task(
            description, total=total, errors=0, tokens=0, rate="-/s"
        )

    def __enter__(self) -> BatchProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, *, completed: int | None = None, total: int | None = None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=completed, total=total)

    def advance(self, result: ArticleResult) -> None:
        """Count a finished article; a failed one also gets its one line on stderr."""
        self.errors += result.error is not None
        self.tokens += result.usage.total_tokens
        if result.error is not None:
            line = failure_line(result)
            if self._progress is not None:
                self._progress.console.print(line, markup=False, highlight=False)
            else:
                print(line, file=sys.stderr, flush=True)
        if self._progress is None:
            return
        self._progress.advance(self._task)
        speed = self._progress.tasks[0].speed
        self._progress.update(
            self._task,
            errors=self.errors,
            tokens=self.tokens,
            rate=f"{speed:.1f}/s" if speed else "-/s",
        )
