"""Gold files: read, validate against their article text, and find the article texts.

A gold record whose span is reversed or out of range, or whose evidence is not the article's
text at its span, would silently turn correct predictions into errors; `load_gold` refuses it
(a `GoldError`, exit 2) naming the file, the record and the reason.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath

from pydantic import ValidationError

from extractor import errors, records

KINDS = ("events", "claims", "figures")
_SHOWN = 60


def find_repo_root(gold_dir: Path) -> Path:
    """Gold `source` paths are relative to the folder that holds `evals/`."""
    resolved = gold_dir.resolve()
    for parent in [resolved, *resolved.parents]:
        if parent.name == "evals":
            return parent.parent
    return resolved.parent


@functools.cache
def _roots(gold_dir: Path) -> tuple[Path, Path]:
    """(repository root, suite folder) of a gold folder, looked up once per folder."""
    return find_repo_root(gold_dir), gold_dir.resolve().parent


def source_candidates(
    article: records.GoldArticle, gold_dir: Path, articles_dir: Path | None = None
) -> list[Path]:
    """Where the article text of a gold file may be, best first.

    Without `articles_dir`: the gold `source` relative to the repository root, then relative to
    the folder that holds the gold folder (an imported suite). With it: `articles_dir/<source>`,
    `articles_dir/<file name of source>` and `articles_dir/<id>.txt`.
    """
    source = PurePosixPath(article.source)
    if source.is_absolute() or ".." in source.parts:
        raise errors.GoldError(
            f"gold file {gold_dir / (article.article_id + '.json')}: source {article.source!r} "
            "must be a relative path inside the repository or suite (no '..', not absolute)"
        )
    if articles_dir is not None:
        return [
            articles_dir / source,
            articles_dir / source.name,
            articles_dir / f"{article.article_id}.txt",
        ]
    root, suite_dir = _roots(gold_dir)
    candidates = [root / source]
    if suite_dir != root:
        candidates.append(suite_dir / source)
    return candidates


def read_source(
    article: records.GoldArticle, gold_dir: Path, articles_dir: Path | None = None
) -> tuple[str | None, str]:
    """(text, where) of a gold file's article; text is None and `where` says what was tried."""
    candidates = source_candidates(article, gold_dir, articles_dir)
    for path in candidates:
        try:  # opened straight away: a stat first costs as much again on a slow disk
            return path.read_text(encoding="utf-8"), str(path)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            continue
        except (OSError, UnicodeDecodeError) as exc:
            return None, f"cannot read {path}: {exc}"
    return None, f"not found (tried {', '.join(map(str, candidates))})"


def problems(article: records.GoldArticle, text: str) -> list[str]:
    """Each record whose span does not hold its evidence in `text`, as 'kind[i]: reason'."""
    found = []
    for kind in KINDS:
        for i, rec in enumerate(getattr(article, kind)):
            reason = _problem(rec, text)
            if reason:
                found.append(f"{kind}[{i}]: {reason}")
    return found


def _problem(rec: records.Event | records.Claim | records.Figure, text: str) -> str | None:
    if rec.span is None:
        return "has no span; run python evals/tools/spans.py on the file"
    start, end = rec.span
    if start >= end:
        return f"span [{start}, {end}) is reversed or empty"
    if start < 0 or end > len(text):
        return f"span [{start}, {end}) is outside the article (length {len(text)})"
    at_span = text[start:end]
    if at_span != rec.evidence:
        return (
            f"evidence {_short(rec.evidence)} differs from the article at span [{start}, {end}), "
            f"which reads {_short(at_span)}"
        )
    return None


def _short(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…")


class GoldSet(Mapping[str, records.GoldArticle]):
    """Gold files by article id, each parsed again when asked for: the gold of thousands of
    articles never sits in memory at once.

    Checked up front (`load_gold`), or, with `lazy=True`, each file as it is asked for, so a
    run that reads each article once parses it once; `check_all` then finds the problem an
    up-front check would have reported (the first in file order)."""

    def __init__(
        self, paths: dict[str, Path], articles_dir: Path | None = None, *, checked: bool = True
    ) -> None:
        self._paths = paths
        self._articles_dir = articles_dir
        self.checked = checked

    def __getitem__(self, article_id: str) -> records.GoldArticle:
        path = self._paths[article_id]
        article = _parse(path)
        if not self.checked:
            _check(path, article, self._articles_dir)
        return article

    def check_all(self) -> None:
        """Raise the `GoldError` of the first gold file (in file order) that has a problem."""
        if not self.checked:
            for path in self._paths.values():
                _check(path, _parse(path), self._articles_dir)
            self.checked = True

    def __contains__(self, article_id: object) -> bool:
        # Mapping's own would parse the file to answer
        return article_id in self._paths

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


def _parse(path: Path) -> records.GoldArticle:
    try:
        # bytes: pydantic reads (and checks) UTF-8 itself, a decoded copy would cost a tenth more
        return records.GoldArticle.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise errors.GoldError(
            f"gold file {path} does not validate: {exc}; fix it against schemas/"
        ) from exc


def _check(path: Path, article: records.GoldArticle, articles_dir: Path | None) -> None:
    """Raise a `GoldError` unless the file is named by its id and its spans hold its evidence."""
    if article.article_id != path.stem:
        raise errors.GoldError(
            f"gold file {path} holds article_id {article.article_id!r}; "
            f"rename the file to {article.article_id}.json or fix the id"
        )
    text, where = read_source(article, path.parent)
    if text is None and articles_dir is not None:
        text, where = read_source(article, path.parent, articles_dir)
    if text is None:
        raise errors.GoldError(
            f"gold file {path}: article text {article.source!r} {where}; the gold cannot "
            "be checked without it (fix `source` or pass --articles DIR)"
        )
    found = problems(article, text)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise errors.GoldError(
            f"gold file {path}: {found[0]}{more}; fix the span or the evidence "
            f"(python evals/tools/spans.py {path} fills spans from evidence)"
        )


def load_gold(
    directory: str | Path, articles_dir: Path | None = None, *, lazy: bool = False
) -> GoldSet:
    """Every `<article_id>.json` of a folder, schema-valid and checked against its article:
    here, or with `lazy` as each is read (see `GoldSet`)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise errors.GoldError(f"gold directory {directory} does not exist or is not a folder")
    paths = {path.stem: path for path in sorted(directory.glob("*.json"))}
    if not paths:
        raise errors.GoldError(f"no gold files (*.json) in {directory}")
    gold = GoldSet(paths, articles_dir, checked=False)
    if not lazy:
        gold.check_all()
    return gold


def article_texts(
    gold: Mapping[str, records.GoldArticle], gold_dir: Path, articles_dir: Path | None = None
) -> tuple[dict[str, str], list[str]]:
    """(article_id -> text, warnings) for the HTML page; a missing text is a warning only."""
    texts: dict[str, str] = {}
    warnings: list[str] = []
    for article_id, article in gold.items():
        text, where = read_source(article, gold_dir, articles_dir)
        if text is None:
            warnings.append(f"article text for {article_id} {where}")
        else:
            texts[article_id] = text
    return texts, warnings
