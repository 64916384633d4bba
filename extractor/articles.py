"""Read articles from files, directories and JSONL, turning bad input into failures, not crashes.

Every input becomes either an `Article` or a `LoadFailure`, so a batch run can write exactly
one output line per article and carry on past a broken one.

Encoding: files must be UTF-8 (a leading BOM is dropped), or UTF-16/UTF-32 *with* a byte-order
mark (which says so for certain). Anything else fails with a message naming the first bad byte,
rather than being guessed: a wrong guess would silently change characters, and with them the
quotes and spans the user gets back. HTML files are the exception, since their main text is
extracted anyway: trafilatura reads their declared or detected charset. JSONL is UTF-8 only.

Hostile input stays one item's problem: a text holding NUL characters is binary; a JSON line
nested too deeply, an id or text with a lone surrogate escape (`"\\ud800"`, which no UTF-8
output can hold), and a file whose name (or folder) is not UTF-8 each become that item's
`LoadFailure`. Ids are non-empty strings or integers; `true`/`false` are refused, not read
as "True".
"""

from __future__ import annotations

import codecs
import io
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
#: byte-order marks that name their encoding for certain; UTF-32 LE first (it starts like UTF-16)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


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
    missing = [shown(p) for p in resolved if not p.exists()]
    if missing:
        raise UsageError(f"no such file or directory: {', '.join(missing)}; check the path")
    empty = [shown(p) for p in resolved if p.is_dir() and next(_walk(p), None) is None]
    if empty:
        raise UsageError(
            f"no articles in folder {', '.join(empty)}: it holds no "
            f"{' '.join(sorted(ARTICLE_SUFFIXES))} files; check the path"
        )
    return _iter_paths(resolved)


def _iter_paths(paths: list[Path]) -> Iterator[Article | LoadFailure]:
    for path in paths:
        for file in input_files(path):
            if (bad_name := _bad_name(file)) is not None:
                yield bad_name
            elif file.suffix.lower() == ".jsonl":
                yield from _iter_jsonl(file)
            else:
                try:
                    yield load_article(file)
                except InputError as e:
                    yield LoadFailure(file.stem, str(file), e)


def shown(path: str | Path) -> str:
    """A path as text that UTF-8 output can hold: bytes of a non-UTF-8 name become `\\xNN`."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _bad_name(file: Path) -> LoadFailure | None:
    """A failure for a file whose path is not UTF-8: its id could not be written anywhere."""
    if shown(file) == str(file):
        return None
    error = InputError(
        f"file name is not UTF-8: {shown(file)}; rename it (or its folder) to a UTF-8 name"
    )
    return LoadFailure(shown(file.stem), shown(file), error)


def input_files(path: Path) -> list[Path]:
    """The files `iter_articles` reads for one path: itself, or a folder's article files."""
    return list(_walk(path)) if path.is_dir() else [path]


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if _walked(Path(f)):
                yield Path(root, f)


def _walked(relative: Path) -> bool:
    """Whether a folder walk picks up the file at `relative` (to the folder)."""
    return relative.suffix.lower() in ARTICLE_SUFFIXES and not any(
        part.startswith(".") for part in relative.parts
    )


def input_reading(paths: Sequence[Path], file: Path) -> Path | None:
    """The input (file or folder) through which a run over `paths` reads `file`, or would once
    it exists, else None. An output must never be one: it would be truncated, or read back."""
    target = file.resolve()
    for path in paths:
        if path.is_dir():
            root = path.resolve()
            if target.is_relative_to(root) and _walked(target.relative_to(root)):
                return path
        for candidate in input_files(path):  # also finds symlinks and hard links to `file`
            if candidate.resolve() == target or _same_file(candidate, file):
                return candidate
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def load_article(path: Path) -> Article:
    """Read one .txt/.md/.html file as an article; raise InputError saying what is wrong."""
    path = Path(path)
    if path.suffix.lower() == ".jsonl":
        raise InputError(f"{path} is a JSONL file with many articles; read it with iter_articles")
    data = _read_bytes(path)
    if path.suffix.lower() in HTML_SUFFIXES:
        marked = _decode_bom(data, path)
        if marked is None:
            _check_not_binary(data, path)
        return _from_html(data if marked is None else marked, path)
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


#: every byte but the control characters a text does not hold (deleted to count those)
_NOT_BINARY_SIGNS = bytes(b for b in range(256) if b >= 32 or b in _TEXT_CONTROLS)


def _check_not_binary(data: bytes, where: object) -> None:
    sample = data[:8192]
    controls = len(sample.translate(None, _NOT_BINARY_SIGNS))
    if b"\x00" in data or (sample and controls / len(sample) > _BINARY_SHARE):
        raise InputError(f"binary file, not an article: {where}; give a text, HTML or JSONL file")


def _decode(data: bytes, where: object) -> str:
    marked = _decode_bom(data, where)
    if marked is not None:
        return marked
    _check_not_binary(data, where)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
        raise InputError(
            f"{where} is not UTF-8 (byte 0x{data[e.start + bom]:02x} at offset {e.start + bom}); "
            "re-save it as UTF-8"
        ) from e


def _decode_bom(data: bytes, where: object) -> str | None:
    """The text of UTF-16/UTF-32 data that starts with its byte-order mark, else None."""
    codec = next((codec for bom, codec in _BOMS if data.startswith(bom)), None)
    if codec is None:
        return None
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as e:
        raise InputError(
            f"{where} starts with a {codec.upper()} byte-order mark but is not {codec.upper()} "
            f"({e.reason} at offset {e.start}); re-save it as UTF-8"
        ) from e
    if "\x00" in text:
        raise InputError(f"binary file, not an article: {where}; give a text, HTML or JSONL file")
    return text


def _looks_like_html_document(text: str) -> bool:
    head = text[:200].lstrip().lower()
    return head.startswith(("<!doctype html", "<html"))


def _from_html(html: str | bytes, path: Path) -> Article:
    try:
        import trafilatura
    except ImportError as e:  # a broken install must cost the HTML articles, not the run
        raise InputError(
            f"cannot read HTML {path}: the HTML reader is not installed completely ({e}); "
            "reinstall with: pip install --upgrade grounded-news-extractor lxml_html_clean"
        ) from e
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
        if _wide_bom(f):
            error = InputError(f"{path} is UTF-16 or UTF-32; JSONL must be UTF-8: re-save it")
            yield LoadFailure(path.stem, str(path), error)
            return
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


def _wide_bom(f: io.BufferedReader) -> bool:
    """Whether `f` starts with a UTF-16/32 byte-order mark (JSONL lines split bytes on \\n).

    Peeks, so that a pipe (`<(zcat a.jsonl.gz)`) still streams."""
    head = f.peek(4)[:4]
    return any(head.startswith(bom) for bom, _ in _BOMS)


class _LineError(Exception):
    def __init__(self, article_id: str | None, error: InputError) -> None:
        super().__init__(str(error))
        self.article_id = article_id
        self.error = error


def _id_of(obj: dict[str, Any]) -> str | None:
    """A JSONL article's id: a non-empty string or an integer (not a boolean), as a string."""
    raw = obj.get("id")
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return None
    text = str(raw)
    return text if text.strip() and not _lone_surrogate(text) else None


def _lone_surrogate(text: str) -> bool:
    """Whether `text` holds a lone surrogate (JSON `"\\ud800"`), which UTF-8 cannot encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def iter_ids(paths: Sequence[Path]) -> Iterator[tuple[str, str]]:
    """(id, where) of every item `iter_articles` yields, without reading the texts into
    articles (no HTML parsing, no language detection): for checking ids before a long run."""
    for path in paths:
        for file in input_files(path):
            if file.suffix.lower() == ".jsonl" and shown(file) == str(file):
                yield from _jsonl_ids(file)
            else:  # one article, or one failure for a name that is not UTF-8 (`_bad_name`)
                yield shown(file.stem), shown(file)


def _jsonl_ids(path: Path) -> Iterator[tuple[str, str]]:
    """`_iter_jsonl`'s ids: the line's "id", else `file:line`; the file's stem if no lines."""
    try:
        f = path.open("rb")
    except OSError:
        yield path.stem, str(path)
        return
    with f:
        if _wide_bom(f):
            yield path.stem, str(path)
            return
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
    except (ValueError, RecursionError):  # as _parse_jsonl_line: the line fails on its own
        return None
    return _id_of(obj) if isinstance(obj, dict) else None


def _id_problem(raw: object) -> str:
    if raw is None:
        return 'has no "id" (a non-empty string or an integer)'
    if isinstance(raw, str) and _lone_surrogate(raw):
        return 'has an "id" with a lone surrogate escape (like \\ud800)'
    shown_id = json.dumps(raw)[:40]
    return f'has an "id" {shown_id} that is not a non-empty string or an integer'


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
    except ValueError as e:  # e.g. an integer of more than 4300 digits
        raise _LineError(None, InputError(f"line {where} is not JSON ({e}); {fix}")) from e
    except RecursionError as e:
        error = InputError(f"line {where} is nested too deeply to read; {fix}")
        raise _LineError(None, error) from e
    if not isinstance(obj, dict):
        raise _LineError(None, InputError(f"line {where} is not a JSON object; {fix}"))
    article_id = _id_of(obj)
    problem = None
    fields = ("text", "title", "date", "language")
    if article_id is None:
        problem = _id_problem(obj.get("id"))
    elif "text" not in obj:
        problem = 'has no "text"'
    elif not isinstance(obj["text"], str):
        problem = f'has a "text" that is {type(obj["text"]).__name__}, not a string'
    elif bad := [k for k in fields[1:] if not isinstance(obj.get(k), str | None)]:
        problem = f"has a non-string {', '.join(repr(k) for k in bad)}"
    elif bad := [k for k in fields if isinstance(obj.get(k), str) and _lone_surrogate(obj[k])]:
        problem = f"has a lone surrogate escape (like \\ud800) in {', '.join(map(repr, bad))}"
    elif "\x00" in obj["text"]:
        problem = 'has NUL characters in "text" (binary data, not an article)'
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


def parse_article(obj: object, where: str) -> Article | LoadFailure:
    """One article given as a JSON value, read by the rules of a JSONL input line (the
    service's request bodies and job lines). `"html"` may stand in for `"text"`: its main text
    is extracted as for an .html file, and spans index that."""
    if isinstance(obj, dict) and "text" not in obj and isinstance(obj.get("html"), str):
        article_id = _id_of(obj) or where
        try:
            page = _from_html(obj["html"], Path(where))
        except InputError as e:
            return LoadFailure(article_id, where, e)
        found = {"text": page.text, "title": page.title, "date": page.date}
        obj = {k: v for k, v in obj.items() if k != "html"} | {
            k: v for k, v in found.items() if obj.get(k) is None
        }
    return parse_article_line(json.dumps(obj, ensure_ascii=False).encode(), where)


def parse_article_line(line: bytes, where: str) -> Article | LoadFailure:
    """One JSONL input line as `iter_articles` reads it: an Article, or a LoadFailure saying
    what is wrong (too large, not UTF-8, not JSON, no "id" or "text" …)."""
    if len(line) > MAX_BYTES:
        return LoadFailure(where, where, InputError(_too_large(f"line {where}", len(line))))
    try:
        return _parse_jsonl_line(line, where)
    except _LineError as e:
        return LoadFailure(e.article_id or where, where, e.error)
