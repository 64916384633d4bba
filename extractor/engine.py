"""The one per-article engine: clean → chunk → prompt → model → ground → check → merge.

Every runner (`extract`, the async batch, the OpenAI Batch API, the service, the Ray engine)
goes through `Extractor`: `run_article` does the whole job for one article and never raises for
a problem with that article; it returns an `ArticleResult` whose `error` says what went wrong,
so a batch always accounts for every input. The Batch API engine, which cannot await answers,
uses the same steps split in two: `prepare` + `requests` before, `finish` after.
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import itertools
import os
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from extractor import numbers
from extractor.articles import Article, detect_language
from extractor.chunking import Chunk, chunk_text
from extractor.cleaning import CleanText, clean
from extractor.errors import ExtractorError, InputError, UsageError
from extractor.grounding import Drafts, Grounder, close
from extractor.model.spec import ModelSpec, parse_model_spec
from extractor.options import Options
from extractor.prompts import load_prompt
from extractor.records import (
    ArticleError,
    ArticleExtraction,
    ArticleResult,
    ExtractionDraft,
    Grounding,
    Usage,
)

if TYPE_CHECKING:
    from extractor.model.caller import ModelCaller
    from extractor.model.limits import Limiter

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
T = TypeVar("T")


def resolve_model(model: str | None) -> tuple[str, bool]:
    """The model to use and whether it fell back to the offline baseline for lack of any."""
    if model:
        return model, False
    if env := os.environ.get("EXTRACTOR_MODEL"):
        return env, False
    if os.environ.get("OPENAI_API_KEY"):
        return f"openai:{DEFAULT_OPENAI_MODEL}", False
    return "baseline", True


@dataclass
class Prepared:
    """An article made ready for the model: cleaned once, chunked once.

    Each chunk's request is named by `request_id(k)` (article id + chunk index), which is how
    the Batch API engine matches answers to chunks.
    """

    article: Article
    cleaned: CleanText
    language: str | None
    chunks: list[Chunk]
    usage: Usage = field(default_factory=Usage)

    @cached_property
    def mentions(self) -> numbers.MentionIndex:
        """The cleaned text's numbers, found once: grounding checks Figure values against
        them and `uncovered_figures` lists the ones no Figure covers."""
        return numbers.MentionIndex.of(self.cleaned.text, self.language)

    def request_id(self, k: int) -> str:
        return f"{k}:{self.article.id}"

    def window(self, k: int) -> tuple[int, int]:
        chunk = self.chunks[k]
        return chunk.start, chunk.start + len(chunk.text)


class Extractor:
    """Holds the provider, cache and prompt for many articles; create once, reuse.

    `async with Extractor(options) as ex:` closes the client and cache it opened.
    """

    def __init__(self, options: Options | None = None, *, limiter: Limiter | None = None) -> None:
        """`limiter` (requests/tokens per minute) gates every request sent; cache hits skip it.

        One limiter may be shared by several extractors (a service, a cluster's workers).
        """
        self.options = opts = options or Options()
        model, self.fell_back = resolve_model(opts.model)
        self.spec: ModelSpec = parse_model_spec(model, opts.base_url)
        if opts.record_dir and opts.replay_dir:
            raise UsageError("--record and --replay exclude each other: pick one")
        self.prompt = load_prompt(opts.prompt_version)
        self.caller: ModelCaller | None = None
        if self.spec.provider != "baseline":
            from extractor.model.caller import build_caller  # imports instructor and openai

            self.caller = build_caller(self.spec, opts, prompt_key=self.prompt.key, limiter=limiter)

    @property
    def model_label(self) -> str:
        return self.spec.label

    @property
    def prompt_key(self) -> str | None:
        return None if self.caller is None else self.prompt.key

    # --- the whole job for one article -------------------------------------------------------

    async def run_article(self, article: Article) -> ArticleResult:
        """One article to one result line; failures become the line's `error`."""
        try:
            return await self._run(article)
        except ExtractorError as exc:
            return self.failed(article, exc, exc.usage or Usage())

    async def extract_text(
        self, text: str, *, language: str | None = None, title: str | None = None
    ) -> ArticleExtraction:
        """Grounded records for one text; raises the ExtractorError instead of returning it."""
        result = await self._run(Article(id="text", text=text, title=title, language=language))
        return ArticleExtraction(events=result.events, claims=result.claims, figures=result.figures)

    async def _run(self, article: Article) -> ArticleResult:
        if self.caller is None:
            from extractor import analyzers  # the baseline's lexicons: not for model runs

            with collector_paused():  # no await in here
                prepared = self.prepare(article)
                draft = analyzers.analyze(
                    prepared.cleaned.text, prepared.language, mentions=prepared.mentions
                )
                return self.finish(prepared, [draft])
        prepared = self.prepare(article)
        drafts = [await self._ask(prepared, messages) for messages in self.requests(prepared)]
        if self.options.follow_up_uncovered:
            drafts += await self._follow_up(prepared, drafts)
        return self.finish(prepared, drafts)

    # --- the steps, also run apart by the Batch API engine ------------------------------------

    def prepare(self, article: Article) -> Prepared:
        """Clean once, detect the language, chunk once (the baseline reads the whole text)."""
        if not article.text.strip():
            raise InputError("empty article: there is no text to extract from")
        cleaned = clean(article.text)
        language = article.language or detect_language(cleaned.text)
        opts = self.options
        chunks = (
            [Chunk(0, cleaned.text)]
            if self.caller is None
            else chunk_text(cleaned.text, opts.chunk_chars, opts.overlap)
        )
        return Prepared(article, cleaned, language, chunks)

    def requests(self, prepared: Prepared) -> list[list[dict[str, Any]]]:
        """The chat messages for each chunk, in chunk order."""
        return [self._messages(prepared, chunk.text) for chunk in prepared.chunks]

    def finish(self, prepared: Prepared, drafts: list[ExtractionDraft]) -> ArticleResult:
        """Ground and merge one draft per chunk (plus a follow-up's) into the result line."""
        with collector_paused():
            return self._finish(prepared, drafts)

    def _finish(self, prepared: Prepared, drafts: list[ExtractionDraft]) -> ArticleResult:
        windows = [prepared.window(k) for k in range(len(prepared.chunks))]
        whole = (0, len(prepared.cleaned.text))
        paired: Drafts = [
            (draft, windows[k] if k < len(windows) else whole) for k, draft in enumerate(drafts)
        ]
        article = prepared.article
        grounder = Grounder(article.text, prepared.cleaned, prepared.language, prepared.mentions)
        extraction = grounder.merge(paired)
        if self.options.drop_ungrounded:
            for name in ("events", "claims", "figures"):
                kept = [r for r in getattr(extraction, name) if r.grounding != Grounding.NOT_FOUND]
                setattr(extraction, name, kept)
        return ArticleResult(
            article_id=article.id,
            model=self.model_label,
            prompt_version=self.prompt_key,
            language=prepared.language,
            events=extraction.events,
            claims=extraction.claims,
            figures=extraction.figures,
            uncovered_figures=uncovered_figures(prepared, extraction),
            usage=prepared.usage,
        )

    def failed(self, article: Article, exc: ExtractorError, usage: Usage) -> ArticleResult:
        return ArticleResult(
            article_id=article.id,
            model=self.model_label,
            prompt_version=self.prompt_key,
            error=ArticleError(kind=exc.kind, message=str(exc)),
            usage=usage,
        )

    # --- model requests ----------------------------------------------------------------------

    def _messages(self, prepared: Prepared, text: str) -> list[dict[str, Any]]:
        return self.prompt.messages(
            text,
            language=prepared.language,
            output_language=self.options.output_language,
            title=prepared.article.title,
        )

    async def _ask(self, prepared: Prepared, messages: list[dict[str, Any]]) -> ExtractionDraft:
        assert self.caller is not None
        try:
            draft, used = await self.caller.extract(messages, article_id=prepared.article.id)
        except ExtractorError as exc:
            if exc.usage is not None:
                prepared.usage.add(exc.usage)
            exc.usage = prepared.usage  # the whole article's, not only the failed call's
            raise
        prepared.usage.add(used)
        return draft

    async def _follow_up(
        self, prepared: Prepared, drafts: list[ExtractionDraft]
    ) -> list[ExtractionDraft]:
        """One more request, with the chunk that holds the first number no Figure covers."""
        grounded = self.finish(prepared, drafts)
        missing = grounded.uncovered_figures
        if not missing:
            return []
        at = max(prepared.cleaned.text.find(missing[0]), 0)
        chunk = next(c for c in reversed(prepared.chunks) if c.start <= at)
        messages = self._messages(prepared, chunk.text)
        messages.append({"role": "user", "content": follow_up_request(missing)})
        draft = await self._ask(prepared, messages)
        return [ExtractionDraft(figures=draft.figures)]

    async def __aenter__(self) -> Extractor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self.caller is not None:
            await self.caller.aclose()


_pause_lock = threading.Lock()
_paused = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while an article's records are built.

    Each full collection walks every live object, and an article's numbers and records are
    many small objects that form no cycles: on a 1 MB number-dense text the collector took a
    third of the time, more the longer the text. Never held across an await. Only the first
    caller pauses it, if it ran, and it resumes when that caller leaves: a nested call, or
    another thread meanwhile, changes nothing, so a pause never outlasts one article.
    """
    global _paused
    owner = False
    try:
        with _pause_lock:
            if not _paused and gc.isenabled():
                gc.disable()
                _paused = owner = True
        yield
    finally:
        if owner:
            with _pause_lock:
                _paused = False
                gc.enable()


def follow_up_request(missing: list[str]) -> str:
    listed = "\n".join(f"- {m}" for m in missing[:40])
    return (
        "These numbers appear in the article but no figure covers them:\n"
        f"{listed}\n"
        "Return a figure for each one that is a reported quantity (same rules and schema); "
        "leave events and claims empty."
    )


def uncovered_figures(prepared: Prepared, extraction: ArticleExtraction) -> list[str]:
    """Quantities of the article's text that no extracted Figure covers.

    Covered means inside a Figure's span, or equal to a Figure's value. Spans are searched by
    bisection over their starts with a running maximum of their ends, so the check is
    O(n log n), not numbers x figures.
    """
    spans = sorted(f.span for f in extraction.figures if f.span)
    starts = [s for s, _ in spans]
    reach = list(itertools.accumulate((e for _, e in spans), max))
    values = sorted({f.value for f in extraction.figures if f.value is not None})
    missing = []
    for m in prepared.mentions.mentions:
        if m.kind != numbers.NumberKind.QUANTITY:
            continue
        start, end = prepared.cleaned.to_original(m.start, m.end)
        i = bisect.bisect_right(starts, start)
        if i and reach[i - 1] >= end:
            continue
        j = bisect.bisect_left(values, m.value)
        if any(close(m.value, v) for v in values[max(0, j - 1) : j + 1]):
            continue
        missing.append(m.text)
    return missing


# --- the small public API ------------------------------------------------------------------


async def aextract(
    text: str,
    model: str | None = None,
    *,
    language: str | None = None,
    title: str | None = None,
    **options: Any,
) -> ArticleExtraction:
    """Grounded records for one text. Raises an ExtractorError when extraction fails.

    `options` are the fields of `Options` (e.g. `base_url`, `cache_dir`, `replay_dir`); an
    unknown name is a `UsageError`.
    """
    async with Extractor(Options.of(model=model, **options)) as extractor:
        return await extractor.extract_text(text, language=language, title=title)


def extract(text: str, model: str | None = None, **options: Any) -> ArticleExtraction:
    """Synchronous `aextract`; safe to call from code that already runs an event loop."""
    return run_sync(lambda: aextract(text, model, **options))


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """`asyncio.run(make())`, in a thread of its own when this thread already runs a loop.

    The result travels in a box, not as the task's result: on leaving, asyncio.run (3.11)
    restores its SIGINT handler, and signal.signal formats the old one, which holds the task
    and so its result: a repr of every record, 0.1 s for a thousand-figure article.
    """
    box: dict[str, Any] = {}

    async def into_box() -> None:
        box["value"] = await make()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(into_box())
        return box["value"]

    def runner() -> None:
        try:
            asyncio.run(into_box())
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=runner)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
