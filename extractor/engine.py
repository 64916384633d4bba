"""Article in, grounded records out: clean → chunk → prompt → model → ground → normalise → merge.

`Extractor.run_article` never raises for a problem with one article: it returns an
`ArticleResult` whose `error` says what went wrong, so a batch always accounts for every input.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import instructor

from extractor import analyzers, numbers
from extractor.articles import Article, detect_language
from extractor.model.cache import Cache, ReplayStore, open_cache
from extractor.model.caller import CallSettings, ModelCaller
from extractor.model.limits import LimitedProvider, Limiter
from extractor.chunking import Chunk, chunk_text
from extractor.cleaning import CleanText, clean
from extractor.errors import ExtractorError, InputError, UsageError
from extractor.grounding import Drafts, Grounder, close
from extractor.prompts import DEFAULT_VERSION, load_prompt
from extractor.model.providers import ModelSpec, make_provider, parse_model_spec
from extractor.records import (
    ArticleError,
    ArticleExtraction,
    ArticleResult,
    Claim,
    Event,
    ExtractionDraft,
    Figure,
    Grounding,
    Usage,
)
from extractor.model.transport import RetryPolicy

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
#: characters two consecutive chunks share (at most a quarter of a chunk)
DEFAULT_OVERLAP = 1000



@dataclass
class Extracted:
    """One article's grounded records, before they become its result line."""

    extraction: ArticleExtraction
    usage: Usage
    language: str | None
    uncovered: list[str] | None = None  # computed on demand: it costs a scan of the text


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
class Options:
    """Everything that shapes a run. Defaults are what a first-time user should get."""

    model: str | None = None
    base_url: str | None = None
    mode: str | None = None  # instructor mode override, e.g. "tool_call", "json_schema_mode"
    prompt_version: str = DEFAULT_VERSION
    output_language: str | None = None  # default: the article's language
    drop_ungrounded: bool = False
    max_retries: int = 2
    timeout_s: float = 120.0
    deadline_s: float = 600.0
    max_attempts: int = 6
    max_tokens: int = 4096
    temperature: float = 0.0
    chunk_chars: int = 12000
    chunk_overlap: int | None = None  # default: DEFAULT_OVERLAP, at most a quarter chunk
    cache_dir: str | Path | None = None  # a directory, or redis://host:port/db
    use_cache: bool = True
    record_dir: Path | None = None
    replay_dir: Path | None = None
    #: ask the model once more for numbers the analyzer sees but no Figure covers
    follow_up_uncovered: bool = False


class Extractor:
    """Holds the provider, cache and prompt for many articles; create once, reuse."""

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
        self.cache: Cache | None = None
        if self.spec.provider != "baseline":
            mode = instructor.Mode(opts.mode) if opts.mode else None
            provider = make_provider(self.spec, timeout=opts.timeout_s, mode=mode)
            if limiter is not None:
                provider = LimitedProvider(provider, limiter)
            replay = ReplayStore(opts.replay_dir) if opts.replay_dir else None
            if opts.use_cache and replay is None:
                self.cache = open_cache(opts.cache_dir)
            self.caller = ModelCaller(
                provider,
                prompt_key=self.prompt.key,
                settings=CallSettings(
                    max_retries=opts.max_retries,
                    temperature=opts.temperature,
                    max_tokens=opts.max_tokens,
                ),
                policy=RetryPolicy(max_attempts=opts.max_attempts, deadline_s=opts.deadline_s),
                cache=self.cache,
                record=ReplayStore(opts.record_dir) if opts.record_dir else None,
                replay=replay,
            )

    @property
    def model_label(self) -> str:
        return self.spec.label

    async def run_article(self, article: Article) -> ArticleResult:
        """One article to one result line; failures become the line's `error`."""
        try:
            extracted = await self._extract(
                article.text, language=article.language, title=article.title, article_id=article.id
            )
        except ExtractorError as exc:
            return self.failed(article, exc, getattr(exc, "usage", None) or Usage())
        return self.result(article, extracted)

    async def extract_text(
        self, text: str, *, language: str | None = None, title: str | None = None
    ) -> ArticleExtraction:
        extracted = await self._extract(text, language=language, title=title, article_id="text")
        return extracted.extraction

    # The steps of one article, public so that another engine (the Batch API) runs the same ones.

    def prepare(self, text: str, language: str | None) -> tuple[CleanText, str | None]:
        """The cleaned text and its language (detected when not given)."""
        if not text.strip():
            raise InputError("empty article: there is no text to extract from")
        cleaned = clean(text)
        return cleaned, language or detect_language(cleaned.text)

    def chunks(self, cleaned: CleanText) -> list[Chunk]:
        opts = self.options
        overlap = opts.chunk_overlap
        if overlap is None:  # small chunks get a smaller overlap, so that they still advance
            overlap = min(DEFAULT_OVERLAP, opts.chunk_chars // 4)
        return chunk_text(cleaned.text, opts.chunk_chars, overlap)

    def messages(self, part: str, language: str | None, title: str | None) -> list[dict[str, Any]]:
        return self.prompt.messages(
            part, language=language, output_language=self.options.output_language, title=title
        )

    def ground(
        self, text: str, cleaned: CleanText, language: str | None, drafts: Drafts
    ) -> ArticleExtraction:
        """Merge and ground the chunks' drafts; drop ungrounded records if asked to."""
        extraction = Grounder(text, cleaned, language).merge(drafts)
        if self.options.drop_ungrounded:
            for name in ("events", "claims", "figures"):
                kept = [r for r in getattr(extraction, name) if r.grounding != Grounding.NOT_FOUND]
                setattr(extraction, name, kept)
        return extraction

    def result(self, article: Article, extracted: Extracted) -> ArticleResult:
        extraction = extracted.extraction
        if extracted.uncovered is None:
            extracted.uncovered = uncovered_figures(article.text, extraction, extracted.language)
        return ArticleResult(
            article_id=article.id,
            model=self.model_label,
            prompt_version=self.prompt_key,
            language=extracted.language,
            events=extraction.events,
            claims=extraction.claims,
            figures=extraction.figures,
            uncovered_figures=extracted.uncovered,
            usage=extracted.usage,
        )

    def failed(self, article: Article, exc: ExtractorError, usage: Usage) -> ArticleResult:
        return ArticleResult(
            article_id=article.id,
            model=self.model_label,
            prompt_version=self.prompt_key,
            error=ArticleError(kind=exc.kind, message=str(exc)),
            usage=usage,
        )

    @property
    def prompt_key(self) -> str | None:
        return None if self.caller is None else self.prompt.key

    async def _extract(
        self, text: str, *, language: str | None, title: str | None, article_id: str
    ) -> Extracted:
        cleaned, language = self.prepare(text, language)
        usage = Usage()
        if self.caller is None:
            drafts: Drafts = [(analyzers.analyze(cleaned.text, language), (0, len(cleaned.text)))]
        else:
            drafts = []
            chunks = self.chunks(cleaned)
            for chunk in chunks:
                messages = self.messages(chunk.text, language, title)
                draft, used = await self.caller.extract(messages, article_id=article_id)
                usage.add(used)
                drafts.append((draft, (chunk.start, chunk.start + len(chunk.text))))
        extraction = self.ground(text, cleaned, language, drafts)
        missing = None
        if self.caller is not None and self.options.follow_up_uncovered:
            missing = uncovered_figures(text, extraction, language)
            if missing:
                # one more request, with the chunk that holds the first missing number
                at = max(cleaned.text.find(missing[0]), 0)
                chunk = next(c for c in reversed(chunks) if c.start <= at)
                messages = self.messages(chunk.text, language, title)
                messages.append({"role": "user", "content": follow_up_request(missing)})
                draft, used = await self.caller.extract(messages, article_id=article_id)
                usage.add(used)
                only_figures = (ExtractionDraft(figures=draft.figures), (0, len(cleaned.text)))
                extraction = self.ground(text, cleaned, language, [*drafts, only_figures])
                missing = None  # figures changed: computed again for the result
        return Extracted(extraction, usage, language, missing)

    async def __aenter__(self) -> Extractor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self.caller is not None:
            await self.caller.provider.aclose()
        if self.cache is not None:
            self.cache.close()


def follow_up_request(missing: list[str]) -> str:
    listed = "\n".join(f"- {m}" for m in missing[:40])
    return (
        "These numbers appear in the article but no figure covers them:\n"
        f"{listed}\n"
        "Return a figure for each one that is a reported quantity (same rules and schema); "
        "leave events and claims empty."
    )


def uncovered_figures(text: str, extraction: ArticleExtraction, language: str | None) -> list[str]:
    """Quantities the deterministic analyzer sees that no extracted Figure's span covers."""
    spans = [f.span for f in extraction.figures if f.span]
    missing = []
    for m in numbers.find_numbers(text, language):
        if m.kind != "quantity":
            continue
        if not any(s[0] <= m.start and m.end <= s[1] for s in spans) and not any(
            close(m.value, f.value) for f in extraction.figures if f.value is not None
        ):
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

    `options` are the fields of `Options` (e.g. `base_url`, `cache_dir`, `replay_dir`).
    """
    extractor = Extractor(Options(model=model, **options))
    try:
        return await extractor.extract_text(text, language=language, title=title)
    finally:
        await extractor.aclose()


def extract(text: str, model: str | None = None, **options: Any) -> ArticleExtraction:
    """Synchronous `aextract`; safe to call from code that already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(aextract(text, model, **options))
    box: dict[str, Any] = {}

    def runner() -> None:
        try:
            box["value"] = asyncio.run(aextract(text, model, **options))
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=runner)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]
