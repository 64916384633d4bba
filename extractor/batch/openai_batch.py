"""`--engine openai-batch`: the same job through the OpenAI Batch API, for half the price.

1. Stream the input once; `Extractor.prepare` each article and write one request line per
   chunk, named by `Prepared.request_id` (chunk index + article id), never by position. The
   body is built by the model caller from the engine's own prompt, settings and response
   model, so it is the body the async engine sends. (instructor's `BatchProcessor` does not
   fit: it builds a different strict schema, ignores our mode and base URL, and is blocking.)
2. Upload it (`purpose="batch"`), create the batch, and poll until it is completed, failed,
   expired or cancelled, with a progress bar. The batch id and a digest of the requests are
   kept in `OUT.batch.json`, so a rerun after a kill (with or without `--resume`) re-attaches
   to the batch instead of paying twice; `--overwrite` submits anew.
3. Download the output and error files, stream the input again, prepare each article again
   (the same deterministic step; holding every prepared article for the hours a batch takes
   would make memory grow with the input), look up each chunk's answer by its request id,
   parse it into an `ExtractionDraft`, and `Extractor.finish` it into the usual result line.

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
from pathlib import Path
from typing import Any

from openai.types.chat import ChatCompletion

from extractor.articles import Article, LoadFailure
from extractor.batch.plan import BatchPlan, PathsArg, plan_batch
from extractor.batch.progress import BatchProgress
from extractor.engine import Extractor, Prepared
from extractor.errors import ExtractorError, ModelError, OutputInvalidError, UsageError
from extractor.model.caller import ModelCaller, add_tokens, first_line
from extractor.output import JsonlWriter, Summary
from extractor.records import ArticleResult, ExtractionDraft, Usage
from extractor.runner import failure_result

ENDPOINT = "/v1/chat/completions"
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
#: the Batch API's limits per job
MAX_REQUESTS = 50_000
MAX_FILE_BYTES = 200 * 1024 * 1024
#: Batch API prices are half the synchronous ones
BATCH_PRICE_FACTOR = 0.5


def batch_caller(extractor: Extractor) -> ModelCaller:
    """The extractor's model caller, if the Batch API can run this job; else a UsageError."""
    caller = extractor.caller
    if caller is None:
        raise UsageError(
            f"--engine openai-batch needs --model openai:<name>, not {extractor.model_label}; "
            "use --engine async for other models"
        )
    if extractor.options.follow_up_uncovered:
        raise UsageError(
            "--follow-up-uncovered needs the answers before it can ask again, which the "
            "Batch API cannot do in one job; drop it, or use --engine async"
        )
    caller.openai_client()  # refuses other providers, and a missing key, up front
    return caller


def write_requests(plan: BatchPlan, extractor: Extractor, path: Path) -> int:
    """The batch input file; returns its number of lines."""
    caller = batch_caller(extractor)
    lines = 0
    with path.open("w", encoding="utf-8") as f:
        for item in plan.items():
            if isinstance(item, LoadFailure):
                continue
            try:
                prepared = extractor.prepare(item)
            except ExtractorError:
                continue  # the second pass writes this article's error line
            for k, messages in enumerate(extractor.requests(prepared)):
                line = {
                    "custom_id": prepared.request_id(k),
                    "method": "POST",
                    "url": ENDPOINT,
                    "body": caller.request_body(messages),
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
    caller: ModelCaller, plan: BatchPlan, requests: Path, *, reattach: bool, log: Any
) -> str:
    """The batch id: the one recorded for these exact requests when resuming, else a new one."""
    state_file = state_path(plan.out)
    digest = _sha256(requests)
    if reattach and state_file.exists():
        try:
            state = json.loads(state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = {}
        if state.get("requests_sha256") == digest and state.get("batch_id"):
            log(f"re-attaching to batch {state['batch_id']}")
            return str(state["batch_id"])
    client = caller.openai_client()
    uploaded = await caller.call_api(client.files.create, file=requests, purpose="batch")
    batch = await caller.call_api(
        client.batches.create,
        input_file_id=uploaded.id,
        endpoint=ENDPOINT,
        completion_window="24h",
        metadata={"tool": "extractor", "out": plan.out.name},
    )
    tmp = state_file.with_name(state_file.name + ".tmp")
    tmp.write_text(json.dumps({"batch_id": batch.id, "requests_sha256": digest}) + "\n")
    os.replace(tmp, state_file)
    log(f"submitted batch {batch.id} ({uploaded.id}); if this is killed, rerun to re-attach")
    return str(batch.id)


async def poll(
    caller: ModelCaller, batch_id: str, *, interval: float, total: int, progress: bool | None
) -> Any:
    """Wait for a terminal status, showing completed/total requests."""
    with BatchProgress(total, enabled=progress, description=f"batch {batch_id}") as bar:
        while True:
            batch = await caller.call_api(caller.openai_client().batches.retrieve, batch_id)
            counts = batch.request_counts
            if counts is not None:
                bar.update(completed=counts.completed + counts.failed, total=counts.total or total)
            if batch.status in TERMINAL:
                return batch
            await asyncio.sleep(interval)


async def _download(caller: ModelCaller, file_id: str | None, path: Path) -> dict[str, int]:
    """Stream a result file to disk; return custom_id -> byte offset of its line."""
    offsets: dict[str, int] = {}
    if not file_id:
        return offsets

    async def fetch() -> None:  # a failed attempt starts the file again
        client = caller.openai_client()
        async with client.files.with_streaming_response.content(file_id) as response:
            with path.open("wb") as f:
                async for block in response.iter_bytes():
                    f.write(block)

    await caller.call_api(fetch)
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


def article_result(extractor: Extractor, article: Article, answers: _Answers) -> ArticleResult:
    """Ground one article's chunk answers into its result line, through the engine's steps."""
    try:
        prepared = extractor.prepare(article)
        chunks = range(len(prepared.chunks))
        drafts = [_parse_answer(extractor, prepared, k, answers) for k in chunks]
        return extractor.finish(prepared, drafts)
    except ExtractorError as exc:
        return extractor.failed(article, exc, exc.usage or Usage())


def _parse_answer(
    extractor: Extractor, prepared: Prepared, k: int, answers: _Answers
) -> ExtractionDraft:
    chunks = len(prepared.chunks)
    where = f"chunk {k + 1} of {chunks}: " if chunks > 1 else ""
    if answers.failure is not None:
        raise answers.failure
    line = answers.get(prepared.request_id(k))
    if line is None:
        raise ModelError(where + _missing_message(answers.batch), usage=prepared.usage)
    response = line.get("response") or {}
    status = response.get("status_code")
    body = response.get("body") or {}
    if status != 200 or line.get("error"):
        error = line.get("error") or body.get("error") or {}
        message = error.get("message") if isinstance(error, dict) else str(error)
        raise ModelError(
            f"{where}the server refused the request: HTTP {status}: {message}; "
            "rerun with --resume to submit it again",
            usage=prepared.usage,
        )
    completion = ChatCompletion.model_validate(body)
    prepared.usage.requests += 1
    add_tokens(prepared.usage, completion, extractor.spec, price_factor=BATCH_PRICE_FACTOR)
    try:
        return batch_caller(extractor).parse(completion)
    except Exception as exc:  # validation, truncation, bad JSON: no re-ask in batch mode
        raise OutputInvalidError(
            f"{where}invalid answer (batch mode does not re-ask): {first_line(exc)}; "
            "rerun this article with --resume --engine async",
            usage=prepared.usage,
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
    caller = batch_caller(extractor)  # its client is closed with the extractor
    plan = plan or plan_batch(input_path, Path(out_path), resume=resume, overwrite=overwrite)
    say = log or (lambda message: None)
    summary = Summary()

    async def run_job(work: Path, requests: Path, lines: int) -> _Answers:
        # the same requests were submitted before (a killed poller): attach, never pay twice,
        # unless the user asked to start over
        batch_id = await submit_or_attach(caller, plan, requests, reattach=not overwrite, log=say)
        batch = await poll(caller, batch_id, interval=poll_interval, total=lines, progress=progress)
        say(f"batch {batch_id} {batch.status}")
        outputs, errors = work / "output.jsonl", work / "errors.jsonl"
        return _Answers(
            [
                (outputs, await _download(caller, batch.output_file_id, outputs)),
                (errors, await _download(caller, batch.error_file_id, errors)),
            ],
            batch,
        )

    with tempfile.TemporaryDirectory(prefix="extractor-batch-") as tmp:
        work = Path(tmp)
        requests = work / "requests.jsonl"
        lines = write_requests(plan, extractor, requests)
        answers = _Answers([], None)
        if lines:
            try:
                answers = await run_job(work, requests, lines)
            except ExtractorError as exc:
                say(f"the batch job failed: {exc}")
                answers = _Answers([], None, failure=exc)
        writer = JsonlWriter(plan.out, append=True)
        try:
            for item in plan.items():
                if isinstance(item, LoadFailure):
                    result = failure_result(item, extractor.model_label)
                else:
                    result = article_result(extractor, item, answers)
                writer.write(result)
                summary.add(result)
        finally:
            writer.close()
            answers.close()
    if answers.failure is None:
        state_path(plan.out).unlink(missing_ok=True)
    return summary
