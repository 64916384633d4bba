"""Before a batch runs: the input's ids, the duplicate check, and repair of an output to resume.

An output is repaired only when it is ours: every line an extractor result line (a torn last
line aside). Anything else (an input file, someone's JSONL) is refused, not "repaired" away.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractor.articles import Article, LoadFailure, iter_articles, iter_ids, shown
from extractor.errors import OutputError, UsageError
from extractor.output import JsonlWriter, check_not_input

PathsArg = str | Path | Sequence[str | Path]


def as_paths(inputs: PathsArg) -> list[Path]:
    if isinstance(inputs, str | Path):
        return [Path(inputs)]
    return [Path(p) for p in inputs]


def scan_input(paths: Sequence[Path]) -> set[str]:
    """The input's ids; a duplicate raises UsageError naming it before anything runs."""
    seen: set[str] = set()
    for article_id, where in iter_ids(paths):
        if article_id in seen:
            raise UsageError(
                f"duplicate article id {article_id!r} (again at {shown(where)}): every article "
                "needs its own id (a file's id is its name without the extension, so equal "
                "names in two folders clash too), or its results cannot be told apart; fix the "
                "input"
            )
        seen.add(article_id)
    return seen


@dataclass
class OutputState:
    """What an existing output already holds, after repair."""

    done: set[str] = field(default_factory=set)  # ids with a successful line
    torn_bytes: int = 0  # cut off the end
    dropped_failed: int = 0  # failed lines removed so their articles run again
    dropped_other: int = 0  # unreadable or second lines for one id


def repair_output(out: Path, input_ids: set[str]) -> OutputState:
    """Cut a torn last line and drop lines that will be rewritten; return the done ids."""
    state = OutputState()
    if not out.exists():
        return state
    try:
        return _repair(out, input_ids, state)
    except OSError as e:
        raise OutputError(f"cannot repair {shown(out)}: {e.strerror or e}") from e


#: keys every result line has (`model_dump_json` writes every field)
_RESULT_KEYS = frozenset({"article_id", "model", "error"})


def _check_ours(out: Path) -> None:
    """Refuse to repair a file that is not our output: repair drops lines it cannot use."""
    fix = "it is not an extractor output; choose another --out (or move that file away)"
    with out.open("rb") as f:
        for lineno, line in enumerate(f, 1):
            if not line.endswith(b"\n"):  # the last line: torn, if we wrote it
                if _is_result(line) or (line.startswith(b'{"') and _parses(line) is None):
                    return  # cut by the repair: its article runs again
                raise UsageError(f"--resume: line {lineno} of {shown(out)} is cut short; {fix}")
            if not _is_result(line):
                raise UsageError(
                    f"--resume: line {lineno} of {shown(out)} is not a result line; {fix}"
                )


def _parses(line: bytes) -> object | None:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None


def _is_result(line: bytes) -> bool:
    obj = _parses(line)
    return isinstance(obj, dict) and obj.keys() >= _RESULT_KEYS


def _repair(out: Path, input_ids: set[str], state: OutputState) -> OutputState:
    _check_ours(out)
    with out.open("rb+") as f:
        size = f.seek(0, os.SEEK_END)
        end = _end_of_last_line(f, size)
        if end < size:
            f.truncate(end)
            state.torn_bytes = size - end
    keep: list[bool] = []  # one bool per line: cheap next to the texts we never hold
    with out.open("rb") as f:
        for line in f:
            keep.append(_keep_line(line, input_ids, state))
    if all(keep):
        return state
    handle, tmp_name = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(handle, "wb") as tmp, out.open("rb") as f:
            for line, kept in zip(f, keep, strict=True):
                if kept:
                    tmp.write(line)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    return state


def _end_of_last_line(f: Any, size: int) -> int:
    """Offset just past the last newline (0 when there is none)."""
    pos = size
    while pos > 0:
        step = min(65536, pos)
        f.seek(pos - step)
        block = f.read(step)
        cut = block.rfind(b"\n")
        if cut >= 0:
            return pos - step + cut + 1
        pos -= step
    return 0


def _keep_line(line: bytes, input_ids: set[str], state: OutputState) -> bool:
    try:
        obj = json.loads(line)
        article_id = str(obj["article_id"])
    except (ValueError, KeyError, TypeError, RecursionError):
        state.dropped_other += 1
        return False
    if obj.get("error") is None:
        if article_id in state.done:
            state.dropped_other += 1
            return False
        state.done.add(article_id)
        return True
    if article_id in input_ids:
        state.dropped_failed += 1
        return False
    return True  # a failure for an article no longer in the input: keep the record of it


@dataclass
class BatchPlan:
    paths: list[Path]
    out: Path
    total: int  # articles in the input
    todo: int  # articles this run will process
    output: OutputState

    @property
    def skipped(self) -> int:
        return self.total - self.todo

    def items(self) -> Iterator[Article | LoadFailure]:
        """Every input item this run processes (not done yet), in input order, streamed."""
        return (item for item in iter_articles(self.paths) if item.id not in self.output.done)


def plan_batch(inputs: PathsArg, out: Path, *, resume: bool, overwrite: bool = False) -> BatchPlan:
    """Check the input and the output before any work; repair the output when resuming."""
    paths = as_paths(inputs)
    iter_articles(paths)  # raises UsageError for a missing path
    out = Path(out)
    check_not_input(out, paths)
    if out.is_dir():
        raise UsageError(f"--out {out} is a directory; give a file name like results.jsonl")
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: folder {out.parent} does not exist; create it first")
    if not resume and not overwrite and out.exists() and out.stat().st_size > 0:
        raise UsageError(
            f"{out} already exists: pass --resume to continue that run, --overwrite to start "
            "over, or choose another --out"
        )
    ids = scan_input(paths)
    if resume:
        state = repair_output(out, ids)
    else:
        state = OutputState()
        JsonlWriter(out).close()  # empty, owner-only
    return BatchPlan(paths, out, len(ids), len(ids - state.done), state)


def resume_lines(plan: BatchPlan) -> list[str]:
    s = plan.output
    lines = [f"resume: {plan.skipped} articles already done, {plan.todo} to run"]
    if s.torn_bytes:
        lines.append(f"resume: cut a torn last line ({s.torn_bytes} bytes); its article reruns")
    if s.dropped_failed:
        lines.append(f"resume: retrying {s.dropped_failed} failed articles")
    if s.dropped_other:
        lines.append(f"resume: dropped {s.dropped_other} unreadable or repeated lines")
    return lines
