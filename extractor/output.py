"""Result lines out: the JSONL writer, the guards around the output file, and the run summary.

The output holds model answers, so it is created owner-only (0600) and made so whenever a run
writes it, fresh or resumed. It is never one of the run's inputs (`check_not_input`), and one
run at a time writes it (`OutputLock`). Our API key is cut out of every line and message we
write (`redact`): a server may echo it in an error message.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import os
import stat
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic_core import PydanticSerializationError

from extractor.articles import input_reading, shown
from extractor.errors import OutputError, UsageError
from extractor.records import ArticleError, ArticleResult, Grounding

#: permissions of the output files we create or rewrite: they hold model answers
OUTPUT_MODE = 0o600
#: environment variables whose values never appear in what we write
SECRET_VARIABLES = ("OPENAI_API_KEY",)
#: shorter values are not secrets worth hiding (and would mangle ordinary text)
_MIN_SECRET_CHARS = 8


def redact(text: str) -> str:
    """`text` without our API key: a server may echo it back in an error message."""
    for name in SECRET_VARIABLES:
        secret = os.environ.get(name, "")
        if len(secret) >= _MIN_SECRET_CHARS and secret in text:
            text = text.replace(secret, f"[{name} redacted]")
    return text


class RedactingFilter(logging.Filter):
    """Log handler filter: every record is redacted before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonlWriter:
    """One line per result, written at once, so a killed run leaves at most a torn last line.

    A write that fails (disk full, file too large) is undone, so the file keeps only whole
    lines, and raises OutputError: the run stops, and `batch --resume` can finish it later.
    """

    def __init__(self, path: Path | None, *, append: bool = False) -> None:
        self.path = path
        self._fd: int | None = None
        if path is None:
            return
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        try:
            self._fd = os.open(path, flags, OUTPUT_MODE)
            self._regular = stat.S_ISREG(os.fstat(self._fd).st_mode)
            if self._regular:  # not /dev/stdout or a pipe
                os.fchmod(self._fd, OUTPUT_MODE)
        except OSError as e:
            if self._fd is not None:
                os.close(self._fd)
            raise OutputError(
                f"cannot write --out {shown(path)}: {e.strerror or e}; choose a writable file"
            ) from e

    def write(self, result: ArticleResult) -> None:
        line = redact(_dump(result)) + "\n"
        if self._fd is None:
            sys.stdout.write(line)
            sys.stdout.flush()
            return
        data = memoryview(line.encode("utf-8"))
        size = os.fstat(self._fd).st_size if self._regular else 0
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError as e:
            if self._regular:
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, size)  # keep whole lines only
            raise OutputError(
                f"cannot write to {shown(self.path or '-')}: {e.strerror or e}; it holds every "
                "article finished before this one: make room, then finish the run with "
                "`extractor batch --resume`"
            ) from e

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _dump(result: ArticleResult) -> str:
    """The result's JSON line; a result that cannot be written as UTF-8 JSON (a lone surrogate
    that slipped through) becomes an error line for its article rather than stopping the run."""
    try:
        return result.model_dump_json()
    except PydanticSerializationError as e:
        safe_id = result.article_id.encode("utf-8", "backslashreplace").decode("utf-8")
        return ArticleResult(
            article_id=safe_id,
            model=result.model,
            error=ArticleError(kind="internal", message=f"cannot write the result as JSON: {e}"),
        ).model_dump_json()


def check_not_input(out: Path, inputs: Sequence[Path]) -> None:
    """Refuse an output that is, or resolves to, a file the run reads (or would read once the
    output exists): it would be truncated, or read back as articles without end."""
    hit = input_reading(inputs, out)
    if hit is not None:
        raise UsageError(
            f"--out {shown(out)} is also an input (read through {shown(hit)}): writing it would "
            "destroy it; choose another --out"
        )


class OutputLock:
    """One run at a time per output: an exclusive `flock` on `OUT.lock`, which holds the pid.

    The kernel drops the lock when its process ends, however it ends, so a crash leaves no
    stale lock: the next run takes it over. POSIX only.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.path = out.with_name(out.name + ".lock")
        self._fd: int | None = None

    @staticmethod
    def needed(out: Path | None) -> bool:
        """Files only: /dev/stdout or a pipe needs no lock (and /dev takes no lock files)."""
        return out is not None and (not out.exists() or out.is_file())

    def acquire(self) -> OutputLock:
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, OUTPUT_MODE)
            except OSError as e:
                raise OutputError(
                    f"cannot create the lock file {shown(self.path)}: {e.strerror or e}; "
                    "--out must be in a writable folder"
                ) from e
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                raise UsageError(
                    f"{shown(self.out)} is being written by another run (pid {holder}, lock "
                    f"{shown(self.path)}); wait for it to end, or choose another --out"
                ) from None
            if _same_inode(fd, self.path):
                break
            os.close(fd)  # the holder removed it as we opened it: take the new one
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)  # while still held, so no one locks a removed file
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _same_inode(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


@dataclass
class Summary:
    articles: int = 0
    failed: int = 0
    records: dict[str, int] = field(
        default_factory=lambda: {"events": 0, "claims": 0, "figures": 0}
    )
    grounded: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    cached: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    #: latency in milliseconds -> articles: bounded, so a run of millions stays small
    latencies: Counter[int] = field(default_factory=Counter)

    def add(self, result: ArticleResult) -> None:
        self.articles += 1
        if result.error:
            self.failed += 1
            self.errors[result.error.kind] = self.errors.get(result.error.kind, 0) + 1
        for name in self.records:
            items = getattr(result, name)
            self.records[name] += len(items)
            self.grounded += sum(r.grounding != Grounding.NOT_FOUND for r in items)
        self.requests += result.usage.requests
        self.cached += result.usage.cached
        self.tokens += result.usage.total_tokens
        self.cost_usd += result.usage.cost_usd
        self.latencies[round(result.usage.latency_s * 1000)] += 1

    @property
    def ok(self) -> int:
        return self.articles - self.failed

    def percentile(self, q: float) -> float:
        """Latency in seconds that q% of the articles did not exceed (nearest rank)."""
        rank = math.ceil(q / 100 * self.articles)
        seen = 0
        for ms in sorted(self.latencies):
            seen += self.latencies[ms]
            if seen >= rank:
                return ms / 1000
        return 0.0

    def lines(self) -> list[str]:
        total = sum(self.records.values())
        share = f"{self.grounded / total:.0%}" if total else "n/a"
        by_type = ", ".join(f"{n} {k}" for k, n in self.records.items())
        errors = ", ".join(f"{n} {k}" for k, n in sorted(self.errors.items()))
        return [
            f"articles: {self.articles} ({self.ok} ok, {self.failed} failed"
            + (f": {errors})" if errors else ")"),
            f"records: {total} ({by_type}); grounded: {share}",
            f"requests: {self.requests} ({self.cached} cached); tokens: {self.tokens}; "
            f"cost: ${self.cost_usd:.4f}; latency p50 {self.percentile(50):.2f}s "
            f"p95 {self.percentile(95):.2f}s",
        ]


def failure_line(result: ArticleResult) -> str:
    """The one line a failed article gets on stderr (its error line holds the same)."""
    assert result.error is not None
    return redact(f"failed: {result.article_id}: {result.error.kind}: {result.error.message}")
