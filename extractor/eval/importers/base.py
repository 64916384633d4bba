"""What every importer shares: the converted documents, and writing them out as a suite."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from extractor import errors, records
from extractor.eval.gold import problems
from extractor.eval.suite import SUITE_FILE, Suite, suite_toml

ARTICLES = "articles"
GOLD = "gold"
#: what an import may replace in an existing output folder (replay data is kept)
IDS = "ids.tsv"
README = "README.md"
#: renames tried when concurrent imports replace the same folder
_MOVE_ATTEMPTS = 10
_ID_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Document:
    """One benchmark document: its text and its gold records."""

    id: str
    text: str
    #: the benchmark's own id when `id` had to differ from it (listed in ids.tsv)
    upstream_id: str | None = None
    events: list[records.Event] = field(default_factory=list)
    claims: list[records.Claim] = field(default_factory=list)
    figures: list[records.Figure] = field(default_factory=list)

    def gold(self) -> records.GoldArticle:
        return records.GoldArticle(
            article_id=self.id,
            source=f"{ARTICLES}/{self.id}.txt",
            events=sorted(self.events, key=_start),
            claims=sorted(self.claims, key=_start),
            figures=sorted(self.figures, key=_start),
        )


def _start(rec: records.Event | records.Claim | records.Figure) -> tuple[int, int]:
    return rec.span or (0, 0)


@dataclass
class Converted:
    documents: list[Document] = field(default_factory=list)
    #: reason -> how many upstream annotations were left out for it
    dropped: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Importer:
    format: str
    convert: Callable[[Path], Converted]
    #: the suite's settings: name, types, task metrics, language, licence, source
    suite: Suite
    #: README text: source, licence, citation, and what maps to what
    about: str
    #: the licence does not allow the data (or anything converted from it) in the repository
    keep_out_of_repo: bool = False


def safe_id(raw: str) -> str:
    """A document id usable as a file name; ids that need changing keep a readable prefix."""
    cleaned = _ID_CHARS.sub("-", raw).strip("-.")
    return cleaned[:80] or "doc"


def evidence_at(text: str, start: int, end: int) -> tuple[str, tuple[int, int]]:
    """The verbatim evidence for [start, end), trimmed of surrounding whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return text[start:end], (start, end)


def clip(text: str, limit: int) -> str:
    """`text` cut at a word boundary to fit a schema's length limit."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"


def _inside_this_repository(path: Path) -> Path | None:
    for parent in [path, *path.parents]:
        pyproject = parent / "pyproject.toml"
        if pyproject.is_file() and 'name = "grounded-news-extractor"' in pyproject.read_text(
            encoding="utf-8", errors="replace"
        ):
            return parent
    return None


def write_suite(importer: Importer, converted: Converted, out: Path, suite: Suite) -> None:
    """Write articles, gold, suite.toml and README.md into `out` (replacing an earlier import).

    Everything is written to a staging folder beside `out` first and then moved in by renames:
    a run reading `out` meanwhile reads the earlier import or this one, never a half-written
    or emptied folder. What else `out` holds (replay data) stays."""
    out = out.resolve()
    if importer.keep_out_of_repo and (repo := _inside_this_repository(out)) is not None:
        raise errors.UsageError(
            f"{importer.format} data may not enter the repository ({suite.license}); "
            f"{out} is inside {repo}: pick an --out outside it"
        )
    if out.exists() and any(out.iterdir()) and not (out / SUITE_FILE).is_file():
        raise errors.UsageError(
            f"{out} exists and is not an imported suite (no {SUITE_FILE}); pick an empty folder"
        )
    if not converted.documents:
        raise errors.UsageError(f"no {importer.format} documents found; check the data path")
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-import-", dir=out.parent))
    try:
        _write_files(importer, converted, staging, suite)
        for name in (ARTICLES, GOLD):
            _move_folder(staging / name, out / name)
        for name in (IDS, SUITE_FILE, README):
            if (staging / name).is_file():
                os.replace(staging / name, out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_files(importer: Importer, converted: Converted, out: Path, suite: Suite) -> None:
    for name in (ARTICLES, GOLD):
        (out / name).mkdir()
    for doc in converted.documents:
        gold = doc.gold()
        found = problems(gold, doc.text)
        if found:  # a converter bug, never the user's: refuse rather than write bad gold
            raise errors.GoldError(f"{importer.format} document {doc.id}: {found[0]}")
        (out / ARTICLES / f"{doc.id}.txt").write_text(doc.text, encoding="utf-8", newline="")
        (out / GOLD / f"{doc.id}.json").write_text(
            json.dumps(gold.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
    renamed = [d for d in converted.documents if d.upstream_id is not None]
    if renamed:
        (out / IDS).write_text(
            "article_id\tupstream_id\n" + "".join(f"{d.id}\t{d.upstream_id}\n" for d in renamed),
            encoding="utf-8",
        )
    suite = suite.model_copy(
        update={"articles": [Path(ARTICLES)], "gold": Path(GOLD), "importer": None}
    )
    comment = (
        f"{suite.name}: imported by `extractor eval import {importer.format}`; "
        "see README.md for source, licence and mapping."
    )
    (out / SUITE_FILE).write_text(suite_toml(suite, comment), encoding="utf-8")
    (out / README).write_text(readme(importer, converted, suite), encoding="utf-8")


def _move_folder(new: Path, target: Path) -> None:
    """`new` becomes `target` by two renames (the earlier `target` is moved into `new`'s parent,
    deleted with it); when another import puts its folder there in between, that one goes too."""
    last: OSError | None = None
    for attempt in range(_MOVE_ATTEMPTS):
        with contextlib.suppress(FileNotFoundError):
            target.rename(new.parent / f"{target.name}.old{attempt}")
        try:
            new.rename(target)
            return
        except OSError as exc:
            if not target.exists():
                raise
            last = exc
    raise errors.UsageError(
        f"cannot replace {target}: other imports keep writing it ({last}); run one import at a time"
    )


def readme(importer: Importer, converted: Converted, suite: Suite) -> str:
    docs = converted.documents
    counts = {
        kind: sum(len(getattr(d, kind)) for d in docs) for kind in ("events", "claims", "figures")
    }
    lines = [
        importer.about.strip(),
        "",
        "## This import",
        "",
        f"- documents: {len(docs)}; gold records: "
        + ", ".join(f"{n} {kind}" for kind, n in counts.items() if n),
        f"- scored record types: {', '.join(suite.types)}; matching: {suite.matching}; "
        f"task metrics: {', '.join(suite.task) or 'none'}",
    ]
    if converted.dropped:
        lines.append("- left out of the gold, or approximated:")
        lines += [f"  - {reason}: {n}" for reason, n in sorted(converted.dropped.items())]
    return "\n".join(lines) + "\n"
