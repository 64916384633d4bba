"""`--engine openai-batch`: the same job through the OpenAI Batch API, for half the price.

1. Stream the input once and write one request line per chunk (`custom_id` "<n>-<k>": the
   article's position in the input and the chunk number). The request body is built by
   instructor's mode handler from the pipeline's own prompt, settings and response model, so it
   is the body the async engine sends. (instructor's `BatchProcessor` does not fit: it builds
   a different strict schema, ignores our mode and base URL, and uses a blocking client.)
2. Upload it (`purpose="batch"`), create the batch, and poll until it is completed, failed,
   expired or cancelled, with a progress bar. The batch id is kept in `OUT.batch.json`, so a
   killed poller re-attaches with `--resume` instead of paying twice.
3. Download the output and error files, stream the input again, and for each article parse
   every chunk's answer with instructor into an `ExtractionDraft`, then ground, merge and
   write the usual `ArticleResult` lines through the same `Extractor` steps as the async engine.

Articles longer than one chunk are submitted as one line per chunk and merged like the async
engine merges them. Differences from the async engine: no re-ask (an invalid answer is that
article's `invalid_output` error; rerun it with `--resume --engine async`), no cache, and
per-article latency is not measured (0). Cost is the list price times `BATCH_PRICE_FACTOR`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from extractor.articles import Article, LoadFailure, iter_articles
from extractor.batch.plan import BatchPlan, PathsArg, plan_batch
from extractor.batch.progress import BatchProgress
from extractor.model.caller import RESPONSE_MODEL, count_answer
from extractor.errors import ExtractorError, ModelError, UsageError
from extractor.output import JsonlWriter, Summary
from extractor.engine import Extracted, Extractor
from extractor.grounding import Drafts
from extractor.model.providers import OpenAIProvider
from extractor.records import ArticleResult, ExtractionDraft, Usage
from extractor.runner import failure_result
from extractor.model.transport import RetryPolicy, call_with_retries

ENDPOINT = "/v1/chat/completions"
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
#: the Batch API's limits per job
MAX_REQUESTS = 50_000
MAX_FILE_BYTES = 200 * 1024 * 1024
#: Batch API prices are half the synchronous ones
BATCH_PRICE_FACTOR = 0.5
DEFAULT_POLICY = RetryPolicy()


@dataclass
class RequestBuilder:
    """The chat request the async engine would send for a chunk, and the parse of its answer."""

    extractor: Extractor

    def __post_init__(self) -> None:
        from instructor.processing import handle_response_model

        caller = self.extractor.caller
        if caller is None or not isinstance(caller.provider, OpenAIProvider):
            raise UsageError(
                f"--engine openai-batch needs --model openai:<name>, not "
                f"{self.extractor.model_label}; use --engine async for other models"
            )
        if self.extractor.options.follow_up_uncovered:
            raise UsageError(
                "--follow-up-uncovered needs the answers before it can ask again, which the "
                "Batch API cannot do in one job; drop it, or use --engine async"
            )
        self.mode = caller.provider.mode
        self.settings = caller.settings
        self.policy = caller.policy  # also for uploads, polls and downloads
        self.provider = caller.provider  # its client talks to the files and batches endpoints
        self._handle = handle_response_model

    def body(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        _, body = self._handle(
            RESPONSE_MODEL,
            mode=self.mode,
            model=self.extractor.spec.model_id,
            messages=messages,
            temperature=self.settings.temperature,
            max_tokens=self.settings.max_tokens,
            seed=self.settings.seed,
        )
        return body

    def parse(self, completion: ChatCompletion) -> ExtractionDraft:
        from instructor.processing import process_response

        # RESPONSE_MODEL subclasses ExtractionDraft: the same draft the async engine gets
        return process_response(
            completion, response_model=RESPONSE_MODEL, stream=False, mode=self.mode
        )


async def _call(policy: RetryPolicy, method: Any, *args: Any, **kwargs: Any) -> Any:
    """One Batch API call, retried on 429/5xx/timeouts like the async engine's requests."""

    async def attempt() -> Any:
        return await method(*args, **kwargs)

    try:
        return await call_with_retries(attempt, policy)
    except openai.APIStatusError as exc:  # not worth retrying: 400, 401, 404 ...
        raise ModelError(
            f"the Batch API refused the request: HTTP {exc.status_code}: {exc.message}"
        ) from exc


def _items(plan: BatchPlan) -> Iterator[tuple[int, Article | LoadFailure]]:
    """(position in the input, item) for every article not yet done."""
    for n, item in enumerate(iter_articles(plan.paths)):
        if item.id not in plan.output.done:
            yield n, item


def write_requests(plan: BatchPlan, request: RequestBuilder, path: Path) -> int:
    """The batch input file; returns its number of lines."""
    extractor = request.extractor
    lines = 0
    with path.open("w", encoding="utf-8") as f:
        for n, item in _items(plan):
            if isinstance(item, LoadFailure) or not item.text.strip():
                continue
            cleaned, language = extractor.prepare(item.text, item.language)
            for k, chunk in enumerate(extractor.chunks(cleaned)):
                messages = extractor.messages(chunk.text, language, item.title)
                line = {
                    "custom_id": f"{n}-{k}",
                    "method": "POST",
                    "url": ENDPOINT,
                    "body": request.body(messages),
                }
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
                lines += 1
    size = path.stat().st_size
    if lines > MAX_REQUESTS or size > MAX_FILE_BYTES:
        raise UsageError(
            f"this job needs {lines} requests ({size / 1e6:.0f} MB); one OpenAI batch takes at "
            f"most {MAX_REQUESTS} requests and {MAX_FILE_BYTES / 1e6:.0f} MB: split the input"
        )
    return lines


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def state_path(out: Path) -> Path:
    return out.with_name(out.name + ".batch.json")


async def submit_or_attach(
    client: Any,
    plan: BatchPlan,
    requests: Path,
    *,
    resume: bool,
    log: Any,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> str:
    """The batch id: the one recorded for these exact requests when resuming, else a new one."""
    state_file = state_path(plan.out)
    digest = _sha256(requests)
    if resume and state_file.exists():
        try:
            state = json.loads(state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = {}
        if state.get("requests_sha256") == digest and state.get("batch_id"):
            log(f"re-attaching to batch {state['batch_id']}")
            return str(state["batch_id"])
    uploaded = await _call(policy, client.files.create, file=requests, purpose="batch")
    batch = await _call(
        policy,
        client.batches.create,
        input_file_id=uploaded.id,
        endpoint=ENDPOINT,
        completion_window="24h",
        metadata={"tool": "extractor", "out": plan.out.name},
    )
    tmp = state_file.with_name(state_file.name + ".tmp")
    tmp.write_text(json.dumps({"batch_id": batch.id, "requests_sha256": digest}) + "\n")
    os.replace(tmp, state_file)
    log(f"submitted batch {batch.id} ({uploaded.id}); kill-safe: rerun with --resume to re-attach")
    return str(batch.id)


async def poll(
    client: Any,
    batch_id: str,
    *,
    interval: float,
    total: int,
    progress: bool | None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> Any:
    """Wait for a terminal status, showing completed/total requests."""
    with BatchProgress(total, enabled=progress, description=f"batch {batch_id}") as bar:
        while True:
            batch = await _call(policy, client.batches.retrieve, batch_id)
            counts = batch.request_counts
            if counts is not None:
                bar.update(completed=counts.completed + counts.failed, total=counts.total or total)
            if batch.status in TERMINAL:
                return batch
            await asyncio.sleep(interval)


async def _download(
    client: Any, file_id: str | None, path: Path, policy: RetryPolicy = DEFAULT_POLICY
) -> dict[str, int]:
    """Stream a result file to disk; return custom_id -> byte offset of its line."""
    offsets: dict[str, int] = {}
    if not file_id:
        return offsets

    async def fetch() -> None:  # a failed attempt starts the file again
        async with client.files.with_streaming_response.content(file_id) as response:
            with path.open("wb") as f:
                async for block in response.iter_bytes():
                    f.write(block)

    await _call(policy, fetch)
    with path.open("rb") as f:
        offset = 0
        for line in f:
            if line.strip():
                custom_id = json.loads(line).get("custom_id")
                if custom_id is not None:
                    offsets.setdefault(str(custom_id), offset)
            offset += len(line)
    return offsets


class _Answers:
    """Each custom_id's answer line, read from the downloaded files on demand."""

    def __init__(
        self,
        files: list[tuple[Path, dict[str, int]]],
        batch: Any,
        failure: ExtractorError | None = None,
    ) -> None:
        self.files = files
        self.batch = batch
        self.failure = failure  # the job as a whole failed: no article has an answer
        self._handles = [path.open("rb") if offsets else None for path, offsets in files]

    def get(self, custom_id: str) -> dict[str, Any] | None:
        for handle, (_, offsets) in zip(self._handles, self.files, strict=True):
            if handle is not None and custom_id in offsets:
                handle.seek(offsets[custom_id])
                return json.loads(handle.readline())
        return None

    def close(self) -> None:
        for handle in self._handles:
            if handle is not None:
                handle.close()


def _missing_message(batch: Any) -> str:
    status = batch.status
    detail = ""
    errors = getattr(getattr(batch, "errors", None), "data", None) or []
    if errors:
        detail = ": " + "; ".join(str(e.message) for e in errors[:3] if e.message)
    return (
        f"the batch ended {status!r} without an answer for this article{detail}; "
        "rerun with --resume to submit it again"
    )


def article_result(
    extractor: Extractor, request: RequestBuilder, n: int, article: Article, answers: _Answers
) -> ArticleResult:
    """Ground one article's chunk answers into its result line, as the async engine does."""
    usage = Usage()
    try:
        cleaned, language = extractor.prepare(article.text, article.language)
        chunks = extractor.chunks(cleaned)
        drafts: Drafts = []
        for k, chunk in enumerate(chunks):
            draft = _parse_answer(extractor, request, answers, f"{n}-{k}", usage, k, len(chunks))
            drafts.append((draft, (chunk.start, chunk.start + len(chunk.text))))
        extraction = extractor.ground(article.text, cleaned, language, drafts)
    except ExtractorError as exc:
        return extractor.failed(article, exc, usage)
    return extractor.result(article, Extracted(extraction, usage, language))


def _parse_answer(
    extractor: Extractor,
    request: RequestBuilder,
    answers: _Answers,
    custom_id: str,
    usage: Usage,
    k: int,
    chunks: int,
) -> ExtractionDraft:
    from extractor.errors import OutputInvalidError

    where = f"chunk {k + 1} of {chunks}: " if chunks > 1 else ""
    if answers.failure is not None:
        raise answers.failure
    line = answers.get(custom_id)
    if line is None:
        raise ModelError(where + _missing_message(answers.batch))
    response = line.get("response") or {}
    status = response.get("status_code")
    body = response.get("body") or {}
    if status != 200 or line.get("error"):
        error = line.get("error") or body.get("error") or {}
        message = error.get("message") if isinstance(error, dict) else str(error)
        raise ModelError(
            f"{where}the server refused the request: HTTP {status}: {message}; "
            "rerun with --resume to submit it again"
        )
    completion = ChatCompletion.model_validate(body)
    count_answer(usage, completion, extractor.spec, price_factor=BATCH_PRICE_FACTOR)
    try:
        return request.parse(completion)
    except Exception as exc:  # validation, truncation, bad JSON: no re-ask in batch mode
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise OutputInvalidError(
            f"{where}invalid answer (batch mode does not re-ask): {first}; "
            "rerun this article with --resume --engine async"
        ) from exc


async def run_openai_batch(
    extractor: Extractor,
    input_path: PathsArg,
    out_path: str | Path,
    *,
    resume: bool,
    poll_interval: float = 30.0,
    progress: bool | None = None,
    overwrite: bool = False,
    plan: BatchPlan | None = None,
    log: Any = None,
) -> Summary:
    """Submit, wait for and write one Batch API job; see the module docstring.

    If the job itself fails (upload, submission, polling or download after retries), every
    article gets an error line saying why, and `OUT.batch.json` is kept, so that `--resume`
    re-attaches to a batch that was submitted instead of paying for it twice. It talks through
    the extractor's own OpenAI client; close the extractor (`aclose`) when done.
    """
    request = RequestBuilder(extractor)
    plan = plan or plan_batch(input_path, Path(out_path), resume=resume, overwrite=overwrite)
    say = log or (lambda message: None)
    summary = Summary()
    client = request.provider.client()  # closed with the extractor
    policy = request.policy

    async def run_job(work: Path, requests: Path, lines: int) -> _Answers:
        batch_id = await submit_or_attach(
            client, plan, requests, resume=resume, log=say, policy=policy
        )
        batch = await poll(
            client, batch_id, interval=poll_interval, total=lines, progress=progress, policy=policy
        )
        say(f"batch {batch_id} {batch.status}")
        outputs, errors = work / "output.jsonl", work / "errors.jsonl"
        return _Answers(
            [
                (outputs, await _download(client, batch.output_file_id, outputs, policy)),
                (errors, await _download(client, batch.error_file_id, errors, policy)),
            ],
            batch,
        )

    with tempfile.TemporaryDirectory(prefix="extractor-batch-") as tmp:
        work = Path(tmp)
        requests = work / "requests.jsonl"
        lines = write_requests(plan, request, requests)
        answers = _Answers([], None)
        if lines:
            try:
                answers = await run_job(work, requests, lines)
            except ExtractorError as exc:
                say(f"the batch job failed: {exc}")
                answers = _Answers([], None, failure=exc)
        writer = JsonlWriter(plan.out, append=True)
        try:
            for n, item in _items(plan):
                if isinstance(item, LoadFailure):
                    result = failure_result(item, extractor.model_label)
                else:
                    result = article_result(extractor, request, n, item, answers)
                writer.write(result)
                summary.add(result)
        finally:
            writer.close()
            answers.close()
    if answers.failure is None:
        state_path(plan.out).unlink(missing_ok=True)
    return summary
