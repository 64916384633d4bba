"""Read articles from files, directories and JSONL, turning bad input into failures, not crashes.

Every input becomes either an `Article` or a `LoadFailure`, so a batch run can write exactly
one output line per article and carry on past a broken one.

Encoding: files must be UTF-8 (a leading BOM is dropped). Anything else fails with a message
naming the first bad byte, rather than being guessed: a wrong guess would silently change
characters, and with them the quotes and spans the user gets back. HTML files are the
exception, since their main text is extracted anyway: trafilatura reads their declared or
detected charset.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from extractor.cleaning import clean
from extractor.errors import InputError, UsageError
from extractor.language import SAMPLE_CHARS, guess_language

#: files (and JSONL lines) larger than this are refused, not loaded
MAX_BYTES = 5 * 1024 * 1024
#: extensions picked up when walking a directory
ARTICLE_SUFFIXES = frozenset({".txt", ".md", ".html", ".htm", ".jsonl"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
#: share of control bytes above which a non-UTF-8 file is called binary
_BINARY_SHARE = 0.1
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\v\x1b")


@dataclass
class Article:
    """One article. Spans index `text`, which is exactly what the user gave.

    For HTML input, `text` is the main text trafilatura extracted, and spans index that.
    """

    id: str
    text: str
    title: str | None = None
    date: str | None = None
    language: str | None = None
    source: str = ""


@dataclass
class LoadFailure:
    """An input that could not become an article; `error` says what to do about it."""

    id: str
    source: str
    error: InputError


def iter_articles(paths: Sequence[str | Path]) -> Iterator[Article | LoadFailure]:
    """Yield one Article or LoadFailure per input article, streaming JSONL line by line.

    Directories are walked recursively in sorted order; only files ending in .txt, .md,
    .html, .htm or .jsonl are read there, others (and hidden files) are skipped without a
    trace. A file named explicitly is always read, as plain text if its extension is unknown.
    A path that does not exist raises UsageError at once, before anything is yielded.
    """
    resolved = [Path(p) for p in paths]
    missing = [str(p) for p in resolved if not p.exists()]
    if missing:
        raise UsageError(f"no such file or directory: {', '.join(missing)}; check the path")
    return _iter_paths(resolved)


def _iter_paths(paths: list[Path]) -> Iterator[Article | LoadFailure]:
    for path in paths:
        for file in input_files(path):
            if file.suffix.lower() == ".jsonl":
                yield from _iter_jsonl(file)
            else:
                try:
                    yield load_article(file)
                except InputError as e:
                    yield LoadFailure(file.stem, str(file), e)


def input_files(path: Path) -> list[Path]:
    """The files `iter_articles` reads for one path: itself, or a folder's article files."""
    if not path.is_dir():
        return [path]
    found = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [
            Path(root, f)
            for f in sorted(files)
            if not f.startswith(".") and Path(f).suffix.lower() in ARTICLE_SUFFIXES
        ]
    return found


def load_article(path: Path) -> Article:
    """Read one .txt/.md/.html file as an article; raise InputError saying what is wrong."""
    path = Path(path)
    if path.suffix.lower() == ".jsonl":
        raise InputError(f"{path} is a JSONL file with many articles; read it with iter_articles")
    data = _read_bytes(path)
    if path.suffix.lower() in HTML_SUFFIXES:
        _check_not_binary(data, path)
        return _from_html(data, path)
    text = _decode(data, path)
    if _looks_like_html_document(text):
        return _from_html(text, path)
    return _article(path.stem, text, str(path))


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of `text`'s language (fastText's code where there is none), or None.

    The package's one guesser (`extractor.language`) reads the cleaned start of the text.
    """
    return guess_language(clean(text[: SAMPLE_CHARS * 2]).text)


def _article(
    article_id: str,
    text: str,
    source: str,
    *,
    title: str | None = None,
    date: str | None = None,
    language: str | None = None,
) -> Article:
    if not text.strip():
        raise InputError(f"empty article: {source} has no text; remove it or add the text")
    return Article(
        id=article_id,
        text=text,
        title=title,
        date=date,
        language=language or detect_language(text),
        source=source,
    )


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(_too_large(path, size))
        return path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}; check its permissions") from e


def _too_large(where: object, size: int) -> str:
    return (
        f"{where} is {size / 1e6:.1f} MB, over the {MAX_BYTES / 1e6:.1f} MB limit per article; "
        "split it or raise extractor.articles.MAX_BYTES"
    )


def _check_not_binary(data: bytes, where: object) -> None:
    sample = data[:8192]
    controls = sum(b < 32 and b not in _TEXT_CONTROLS for b in sample)
    if b"\x00" in data or (sample and controls / len(sample) > _BINARY_SHARE):
        raise InputError(f"binary file, not an article: {where}; give a text, HTML or JSONL file")


def _decode(data: bytes, where: object) -> str:
    _check_not_binary(data, where)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
        raise InputError(
            f"{where} is not UTF-8 (byte 0x{data[e.start + bom]:02x} at offset {e.start + bom}); "
            "re-save it as UTF-8"
        ) from e


def _looks_like_html_document(text: str) -> bool:
    head = text[:200].lstrip().lower()
    return head.startswith(("<!doctype html", "<html"))


def _from_html(html: str | bytes, path: Path) -> Article:
    import trafilatura

    try:
        text = trafilatura.extract(
            html, include_comments=False, include_tables=False, favor_recall=True
        )
        meta = trafilatura.extract_metadata(html if isinstance(html, str) else _as_str(html))
    except Exception as e:  # parser failures on hostile HTML must stay one article's problem
        raise InputError(f"cannot parse HTML in {path}: {e}; check the file") from e
    if not text or not text.strip():
        raise InputError(
            f"no main text found in HTML {path}; give the article text as .txt instead"
        )
    title = meta.title if meta and meta.title else None
    date = meta.date if meta and meta.date else None
    return _article(path.stem, text, str(path), title=title, date=date)


def _as_str(data: bytes) -> str:
    """extract_metadata wants str; title and date survive a latin-1 fallback well enough."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _iter_jsonl(path: Path) -> Iterator[Article | LoadFailure]:
    try:
        f = path.open("rb")
    except OSError as e:
        error = InputError(f"cannot read {path}: {e.strerror or e}; check its permissions")
        yield LoadFailure(path.stem, str(path), error)
        return
    with f:
        lineno = 0
        articles = 0
        while True:
            line = f.readline(MAX_BYTES + 1)
            if not line:
                break
            lineno += 1
            where = f"{path}:{lineno}"
            if len(line) > MAX_BYTES and not line.endswith(b"\n"):
                articles += 1
                size = len(line) + _skip_rest_of_line(f)
                yield LoadFailure(where, where, InputError(_too_large(f"line {where}", size)))
                continue
            if not line.strip():
                continue  # blank lines separate nothing and hold no article
            articles += 1
            try:
                yield _parse_jsonl_line(line, where)
            except _LineError as e:
                yield LoadFailure(e.article_id or where, where, e.error)
    if not articles:
        error = InputError(f"empty article: {path} has no JSON lines; remove it or add articles")
        yield LoadFailure(path.stem, str(path), error)


class _LineError(Exception):
    def __init__(self, article_id: str | None, error: InputError) -> None:
        super().__init__(str(error))
        self.article_id = article_id
        self.error = error


def _id_of(obj: dict[str, Any]) -> str | None:
    """A JSONL article's id: a non-empty string or an integer, as a string."""
    raw = obj.get("id")
    return str(raw) if isinstance(raw, str | int) and str(raw).strip() else None


def iter_ids(paths: Sequence[Path]) -> Iterator[tuple[str, str]]:
    """(id, where) of every item `iter_articles` yields, without reading the texts into
    articles (no HTML parsing, no language detection): for checking ids before a long run."""
    for path in paths:
        for file in input_files(path):
            if file.suffix.lower() == ".jsonl":
                yield from _jsonl_ids(file)
            else:
                yield file.stem, str(file)


def _jsonl_ids(path: Path) -> Iterator[tuple[str, str]]:
    """`_iter_jsonl`'s ids: the line's "id", else `file:line`; the file's stem if no lines."""
    try:
        f = path.open("rb")
    except OSError:
        yield path.stem, str(path)
        return
    with f:
        found = 0
        for lineno, line in enumerate(iter(lambda: f.readline(MAX_BYTES + 1), b""), 1):
            where = f"{path}:{lineno}"
            if len(line) > MAX_BYTES and not line.endswith(b"\n"):
                _skip_rest_of_line(f)
                found += 1
                yield where, where
            elif line.strip():
                found += 1
                yield _line_id(line) or where, where
    if not found:
        yield path.stem, str(path)


def _line_id(line: bytes) -> str | None:
    try:
        obj = json.loads(line.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return _id_of(obj) if isinstance(obj, dict) else None


def _skip_rest_of_line(f: BinaryIO) -> int:
    skipped = 0
    while chunk := f.readline(MAX_BYTES):
        skipped += len(chunk)
        if chunk.endswith(b"\n"):
            break
    return skipped


def _parse_jsonl_line(line: bytes, where: str) -> Article:
    fix = 'each line must be one JSON object like {"id": "a1", "text": "..."}'
    try:
        obj = json.loads(_decode(line, f"line {where}"))
    except InputError as e:
        raise _LineError(None, e) from e
    except json.JSONDecodeError as e:
        raise _LineError(None, InputError(f"line {where} is not JSON ({e.msg}); {fix}")) from e
    if not isinstance(obj, dict):
        raise _LineError(None, InputError(f"line {where} is not a JSON object; {fix}"))
    article_id = _id_of(obj)
    problem = None
    if article_id is None:
        problem = 'has no "id" (a non-empty string)'
    elif "text" not in obj:
        problem = 'has no "text"'
    elif not isinstance(obj["text"], str):
        problem = f'has a "text" that is {type(obj["text"]).__name__}, not a string'
    else:
        bad = [k for k in ("title", "date", "language") if not isinstance(obj.get(k), str | None)]
        if bad:
            problem = f"has a non-string {', '.join(repr(k) for k in bad)}"
    if problem:
        raise _LineError(article_id, InputError(f"line {where} {problem}; {fix}"))
    try:
        return _article(
            article_id,
            obj["text"],
            where,
            title=obj.get("title"),
            date=obj.get("date"),
            language=obj.get("language"),
        )
    except InputError as e:
        raise _LineError(article_id, e) from e
