"""A small typed client for `extractor serve`.

    >>> from extractor import Client
    >>> with Client("http://127.0.0.1:8000", api_key) as client:
    ...     line = client.extract("Rund 500 Menschen demonstrierten.", id="a1")
    ...     job = client.submit([{"id": "a1", "text": "..."}, ...])
    ...     client.wait(job)                      # a progress bar on a terminal
    ...     for result in client.results(job):    # ArticleResult, resumed if the stream breaks
    ...         ...

Errors come back as `extractor.ServiceError` with the server's problem detail and status.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx

from extractor.errors import ServiceError
from extractor.records import ArticleResult
from extractor.wire import TERMINAL, JobOut, JobPage

Job = JobOut
ArticleLike = dict[str, Any]


class Client:
    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float = 300.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(
            base_url=url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.is_success:
            return response
        try:
            detail = response.json().get("detail") or response.reason_phrase
        except (ValueError, AttributeError):
            detail = response.text[:300] or response.reason_phrase
        retry = response.headers.get("retry-after")
        raise ServiceError(
            f"{response.status_code} {detail}",
            status=response.status_code,
            retry_after=float(retry) if retry and retry.isdigit() else None,
        )

    def extract(
        self,
        text: str | None = None,
        *,
        html: str | None = None,
        id: str | None = None,
        title: str | None = None,
        date: str | None = None,
        language: str | None = None,
    ) -> ArticleResult:
        """One article now: the line `extractor extract` would write for it."""
        body = {"id": id, "text": text, "html": html, "title": title, "date": date}
        body["language"] = language
        payload = {k: v for k, v in body.items() if v is not None}
        return ArticleResult.model_validate_json(
            self._check(self.http.post("/v1/extract", json=payload)).content
        )

    def submit(
        self,
        articles: Iterable[ArticleLike] | str | Path,
        *,
        idempotency_key: str | None = None,
        webhook: str | None = None,
    ) -> Job:
        """Start a job: article dicts, or a JSONL file's path (sent as it is, line by line)."""
        headers = {"Content-Type": "application/x-ndjson"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if isinstance(articles, str | Path):
            content: bytes = Path(articles).read_bytes()
        else:
            content = "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles).encode()
        params = {"webhook": webhook} if webhook else {}
        response = self.http.post("/v1/jobs", content=content, headers=headers, params=params)
        return Job.model_validate_json(self._check(response).content)

    def job(self, job: Job | str) -> Job:
        return Job.model_validate_json(self._check(self.http.get(f"/v1/jobs/{_id(job)}")).content)

    def jobs(self, page_size: int = 50) -> Iterator[Job]:
        """This key's jobs, newest first, page by page."""
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size} | ({"cursor": cursor} if cursor else {})
            page = JobPage.model_validate_json(
                self._check(self.http.get("/v1/jobs", params=params)).content
            )
            yield from page.jobs
            if not (cursor := page.next_cursor):
                return

    def cancel(self, job: Job | str) -> Job:
        return Job.model_validate_json(
            self._check(self.http.delete(f"/v1/jobs/{_id(job)}")).content
        )

    def wait(
        self,
        job: Job | str,
        *,
        poll_s: float = 1.0,
        timeout_s: float | None = None,
        progress: bool | None = None,
    ) -> Job:
        """Poll until the job ends; a progress bar on stderr (default: when it is a terminal)."""
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        current = self.job(job)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        show = sys.stderr.isatty() if progress is None else progress
        bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not show,
        )
        with bar:
            task = bar.add_task(f"job {current.id[:8]}", total=current.total)
            while True:
                bar.update(task, completed=current.done, description=_label(current))
                if current.status in TERMINAL:
                    return current
                if deadline is not None and time.monotonic() > deadline:
                    raise ServiceError(
                        f"job {current.id} is still {current.status} after {timeout_s} s; "
                        "wait again or cancel it"
                    )
                time.sleep(poll_s)
                current = self.job(current)

    def results(
        self, job: Job | str, *, after: int = 0, follow: bool = True, retries: int = 5
    ) -> Iterator[ArticleResult]:
        """The job's result lines as they finish; a broken stream resumes after the last line
        received (`?after=`), up to `retries` times in a row."""
        received = after
        failures = 0
        while True:
            try:
                with self.http.stream(
                    "GET",
                    f"/v1/jobs/{_id(job)}/results",
                    params={"after": received, "follow": follow},
                ) as response:
                    if not response.is_success:
                        response.read()
                        self._check(response)
                    for line in response.iter_lines():
                        if line.strip():
                            yield ArticleResult.model_validate_json(line)
                            received += 1
                            failures = 0
                if not follow or self.job(job).status in TERMINAL:
                    return
                time.sleep(1.0)  # the server closed the stream early (it is restarting)
            except httpx.TransportError:
                failures += 1
                if failures > retries:
                    raise
                time.sleep(min(2**failures * 0.1, 5.0))


def _id(job: Job | str) -> str:
    return job if isinstance(job, str) else job.id


def _label(job: Job) -> str:
    failed = f", {job.failed} failed" if job.failed else ""
    return f"job {job.id[:8]} {job.status}{failed}"
