"""The FastAPI app: `/v1` (extract, jobs, schemas), health, metrics, the review page.

`create_app(settings)` builds the routes only; the database, the extractor and the worker are
started by the app's lifespan, so the OpenAPI document can be exported without any of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from anyio import to_thread
from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import PlainTextResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field, ValidationError

from extractor.articles import Article, LoadFailure, parse_article, parse_article_line
from extractor.engine import Extractor, Options
from extractor.records import ArticleResult, Usage
from extractor.runner import result_for
from extractor.schemas import SCHEMAS
from extractor.service import problems
from extractor.service.db import make_engine, upgrade
from extractor.service.limits import BodyLimitMiddleware, KeyRateLimiter
from extractor.service.observe import Metrics, ObserveMiddleware
from extractor.service.problems import Problem, ProblemModel, title_for
from extractor.service.store import KeyInfo, Store
from extractor.service.webhooks import WebhookSender
from extractor.service.worker import JobWorker
from extractor.wire import TERMINAL, ArticleIn, JobOut, JobPage

log = logging.getLogger("extractor.service")
VERSION = "1"
NDJSON = "application/x-ndjson"


def _baseline() -> Extractor:
    return Extractor(Options(model="baseline"))


@dataclass
class ServiceSettings:
    db_url: str | None = None
    make_extractor: Callable[[], Extractor] = _baseline
    concurrency: int = 4
    max_body_mb: float = 10.0
    no_auth: bool = False
    grace_s: float = 20.0
    lease_s: float = 30.0
    poll_s: float = 0.5
    migrate: bool = True
    webhook_attempts: int = 5
    webhook_backoff_s: float = 5.0
    gold_dir: Path | None = None


@dataclass
class Service:
    """What the routes share; filled in by the lifespan."""

    settings: ServiceSettings
    metrics: Metrics | None = None
    store: Store | None = None
    extractor: Extractor | None = None
    worker: JobWorker | None = None
    local_key: KeyInfo | None = None
    key_limiter: KeyRateLimiter = field(default_factory=KeyRateLimiter)
    draining: bool = False
    background: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        s = self.settings
        engine = make_engine(s.db_url)
        if s.migrate:
            await to_thread.run_sync(lambda: upgrade(engine))
        self.store = store = Store(engine)
        self.extractor = s.make_extractor()
        if s.no_auth:
            self.local_key = await to_thread.run_sync(store.local_key)
        metrics = self.metrics
        self.worker = JobWorker(
            store,
            self.extractor,
            concurrency=s.concurrency,
            lease_s=s.lease_s,
            poll_s=s.poll_s,
            on_result=(lambda r: metrics.article(r, "job")) if metrics else None,
        )
        self.worker.start()
        sender = WebhookSender(
            store,
            lambda job: job_out(job).model_dump_json().encode(),
            attempts=s.webhook_attempts,
            backoff_s=s.webhook_backoff_s,
            poll_s=s.poll_s,
        )
        self.background.append(asyncio.create_task(sender.run()))

    def drain(self) -> None:
        """SIGTERM: stop taking work at once; the lifespan's shutdown finishes the rest."""
        self.draining = True
        if self.worker:
            self.worker.drain()

    async def stop(self, grace: float) -> None:
        self.draining = True
        if self.worker:
            await self.worker.stop(grace)
        for task in self.background:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        if self.extractor:
            await self.extractor.aclose()
        if self.store:
            self.store.engine.dispose()


# --- request and response models --------------------------------------------------------------


class Health(BaseModel):
    status: str
    database: str | None = None
    model: str | None = None


def _when(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def job_out(job: dict[str, Any]) -> JobOut:
    return JobOut(
        id=job["id"],
        status=job["status"],
        total=job["total"],
        done=job["done"],
        failed=job["failed"],
        usage=Usage(**job["usage"]),
        webhook=job["webhook"],
        created_at=_when(job["created_at"]),
        started_at=_when(job["started_at"]),
        finished_at=_when(job["finished_at"]),
        results_url=f"/v1/jobs/{job['id']}/results",
        view_url=f"/jobs/{job['id']}/view",
    )


# --- the app -----------------------------------------------------------------------------------

bearer = HTTPBearer(auto_error=False, description="a key from `extractor keys create NAME`")


def service_of(request: Request) -> Service:
    return request.app.state.service


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> KeyInfo:
    """The calling key; 401 when missing, unknown or revoked; 429 over the key's rpm. Async,
    so a request under `--no-auth` does not hop to a thread and back for it."""
    service = service_of(request)
    if service.local_key is not None:
        key = service.local_key
    else:
        assert service.store is not None
        if credentials is None:
            raise Problem(
                401,
                title_for(401),
                "send 'Authorization: Bearer KEY'; create a key with `extractor keys create NAME`",
                headers={"WWW-Authenticate": "Bearer"},
            )
        found = await to_thread.run_sync(service.store.find_key, credentials.credentials)
        if found is None:
            raise Problem(
                401,
                title_for(401),
                "this key is unknown or revoked; create one with `extractor keys create NAME`",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        key = found
    request.scope.setdefault("state", {})["key_name"] = key.name
    service.key_limiter.check(key.id, key.rpm)
    return key


Key = Annotated[KeyInfo, Depends(authenticate)]

_PROBLEM = {"model": ProblemModel, "content": {problems.MEDIA_TYPE: {}}}
_V1_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {**_PROBLEM, "description": "missing, unknown or revoked key"},
    429: {**_PROBLEM, "description": "over the key's requests per minute (see Retry-After)"},
    422: {**_PROBLEM, "description": "invalid request: each field named"},
}


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings()
    service = Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop(settings.grace_s)

    app = FastAPI(
        title="grounded-news-extractor",
        version=VERSION,
        description="Grounded Events, Claims and Figures from news articles, over HTTP. "
        "Every error is application/problem+json (RFC 9457).",
        lifespan=lifespan,
    )
    app.state.service = service
    service.metrics = Metrics(lambda: service.store.job_counts() if service.store else {})
    problems.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=int(settings.max_body_mb * 1e6))
    app.add_middleware(ObserveMiddleware, metrics=service.metrics)
    _routes(app, service)
    from extractor.service.review import router  # it imports this module

    app.include_router(router)
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    return app


def _routes(app: FastAPI, service: Service) -> None:
    def store() -> Store:
        if service.store is None:
            raise Problem(503, title_for(503), "the service is starting; retry in a moment")
        return service.store

    @app.get("/healthz", response_model=Health, tags=["operations"])
    async def healthz() -> Health:
        """Alive: the process answers."""
        return Health(status="ok")

    @app.get(
        "/readyz",
        response_model=Health,
        tags=["operations"],
        responses={503: {**_PROBLEM, "description": "database unreachable or draining"}},
    )
    def readyz() -> Health:
        """Ready: the database answers and a model is configured."""
        if service.draining:
            raise Problem(503, title_for(503), "the server is shutting down")
        try:
            store().ping()
        except Problem:
            raise
        except Exception as exc:
            raise Problem(
                503, title_for(503), f"the database does not answer ({type(exc).__name__})"
            ) from None
        model = service.extractor.model_label if service.extractor else None
        return Health(status="ready", database="ok", model=model)

    @app.get(
        "/metrics",
        response_class=PlainTextResponse,
        tags=["operations"],
        responses={200: {"content": {"text/plain": {}}}},
    )
    def metrics() -> Response:
        """Prometheus text format; every series starts with `extractor_`."""
        assert service.metrics is not None
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/schemas", tags=["v1"], responses=_V1_ERRORS)
    def schemas(key: Key) -> dict[str, Any]:
        """The JSON Schemas of the records (the files in `schemas/`)."""
        return {name: model.model_json_schema() for name, model in SCHEMAS.items()}

    @app.post(
        "/v1/extract",
        tags=["v1"],
        response_model=ArticleResult,
        responses={**_V1_ERRORS, 413: {**_PROBLEM, "description": "body over --max-body-mb"}},
    )
    async def extract(body: ArticleIn, request: Request, key: Key) -> Response:
        """One article now: exactly the line `extractor extract` writes for it. Model failures
        are the line's `error` (200); an article that cannot be read is a 422."""
        assert service.extractor is not None and service.metrics is not None
        obj = body.model_dump(exclude_none=True)
        obj.setdefault("id", request.state.request_id)
        item = parse_article(obj, "request")
        if isinstance(item, LoadFailure):
            raise Problem(422, title_for(422), str(item.error))
        result = await result_for(service.extractor, item)
        service.metrics.article(result, "extract")
        return Response(result.model_dump_json(), media_type="application/json")

    @app.post(
        "/v1/jobs",
        tags=["v1"],
        status_code=202,
        response_model=JobOut,
        responses={
            **_V1_ERRORS,
            413: {**_PROBLEM, "description": "body over --max-body-mb"},
            415: {**_PROBLEM, "description": "neither JSON nor NDJSON"},
        },
        openapi_extra={"requestBody": _JOBS_BODY},
    )
    async def submit(
        request: Request,
        response: Response,
        key: Key,
        idempotency_key: Annotated[
            str | None,
            Header(
                min_length=1,
                max_length=200,
                description="a retried submit with it returns the same job",
            ),
        ] = None,
        webhook: Annotated[
            str | None, Query(max_length=2000, description="POSTed the job when it ends")
        ] = None,
    ) -> JobOut:
        """A job of many articles: the CLI's JSONL lines as `application/x-ndjson`, or
        `{"articles": [...], "webhook"?}`. A line that cannot be read becomes that article's
        error line, as in `extractor batch`; ids must be unique."""
        body = await request.body()
        items, body_webhook = _parse_job(request.headers.get("content-type", ""), body)
        webhook = _check_webhook(webhook or body_webhook)
        job, created = await to_thread.run_sync(
            lambda: store().create_job(
                key.id, items, idempotency_key=idempotency_key, webhook=webhook
            )
        )
        if created and service.worker:
            service.worker.wake()
        response.headers["Location"] = f"/v1/jobs/{job['id']}"
        if not created:
            response.headers["Idempotent-Replayed"] = "true"
        return job_out(job)

    @app.get("/v1/jobs", tags=["v1"], response_model=JobPage, responses=_V1_ERRORS)
    def list_jobs(
        key: Key,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
    ) -> JobPage:
        """This key's jobs, newest first."""
        jobs, next_number = store().list_jobs(
            key.id, limit=limit, before=int(cursor) if cursor else None
        )
        return JobPage(
            jobs=[job_out(j) for j in jobs],
            next_cursor=str(next_number) if next_number is not None else None,
        )

    not_found = {404: {**_PROBLEM, "description": "no such job for this key"}}

    def own_job(key: KeyInfo, job_id: str) -> dict[str, Any]:
        job = store().get_job(key.id, job_id)
        if job is None:
            raise Problem(404, title_for(404), f"no job {job_id} for this key")
        return job

    @app.get(
        "/v1/jobs/{job_id}",
        tags=["v1"],
        response_model=JobOut,
        responses={**_V1_ERRORS, **not_found},
    )
    def get_job(job_id: str, key: Key) -> JobOut:
        """Status and counts; `done` counts finished articles, failed ones included."""
        return job_out(own_job(key, job_id))

    @app.delete(
        "/v1/jobs/{job_id}",
        tags=["v1"],
        response_model=JobOut,
        responses={**_V1_ERRORS, **not_found},
    )
    def cancel_job(job_id: str, key: Key) -> JobOut:
        """Cancel: queued articles are not run; articles already running still record."""
        own_job(key, job_id)
        job = store().cancel_job(key.id, job_id)
        assert job is not None
        return job_out(job)

    @app.get(
        "/v1/jobs/{job_id}/results",
        tags=["v1"],
        response_class=StreamingResponse,
        responses={
            200: {
                "content": {NDJSON: {"schema": {"type": "string"}}},
                "description": "one output line per finished article, in finishing order",
            },
            **_V1_ERRORS,
            **not_found,
        },
    )
    def results(
        job_id: str,
        key: Key,
        after: Annotated[
            int, Query(ge=0, description="lines already received: resume after them")
        ] = 0,
        follow: Annotated[
            bool, Query(description="keep the stream open until the job ends")
        ] = True,
    ) -> StreamingResponse:
        """The job's output lines (`ArticleResult`, as `extractor batch` writes them), streamed
        while the job runs. Line N of the stream is line `after + N`; after a broken download,
        ask again with `?after=` the number of lines you have."""
        total = own_job(key, job_id)["total"]
        return StreamingResponse(_stream(service, job_id, total, after, follow), media_type=NDJSON)


async def _stream(
    service: Service, job_id: str, total: int, after: int, follow: bool
) -> AsyncIterator[str]:
    store = service.store
    assert store is not None
    cursor = after
    while True:
        written = service.worker.results_written() if service.worker else asyncio.Event()
        rows = await to_thread.run_sync(store.results, job_id, cursor, _PAGE)
        if rows:
            cursor = rows[-1][0]
            yield "".join(line + "\n" for _, line in rows)
        if cursor >= total:  # every article's line is out
            return
        if len(rows) == _PAGE:
            continue
        if not rows:  # nothing new: has the job ended short (cancelled)?
            job = await to_thread.run_sync(lambda: store.get_job(None, job_id))
            if job is None or (job["status"] in TERMINAL and cursor >= job["done"]):
                return
        if not follow or service.draining:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(written.wait(), service.settings.poll_s)


_PAGE = 500  # result lines a query reads


_JOBS_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["articles"],
                "properties": {
                    "articles": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"$ref": "#/components/schemas/ArticleIn"},
                    },
                    "webhook": {"type": "string", "description": "POSTed the job when it ends"},
                },
            }
        },
        NDJSON: {
            "schema": {"type": "string", "description": "one JSON article per line"},
        },
    },
}


class _JobsJson(BaseModel):
    articles: list[Any] = Field(min_length=1)
    webhook: str | None = None


def _parse_job(content_type: str, body: bytes) -> tuple[list[Article | LoadFailure], str | None]:
    """The articles of a submitted job, parsed by the CLI's JSONL rules, and its webhook."""
    media = content_type.split(";", 1)[0].strip().lower()
    webhook = None
    if media in ("application/x-ndjson", "application/jsonl", "application/x-jsonlines"):
        lines = [(n, line) for n, line in enumerate(body.split(b"\n"), 1) if line.strip()]
        items = [parse_article_line(line, f"body:{n}") for n, line in lines]
    elif media in ("application/json", ""):
        try:
            parsed = _JobsJson.model_validate_json(body or b"null")
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from None
        webhook = parsed.webhook
        items = [parse_article(obj, f"articles[{i}]") for i, obj in enumerate(parsed.articles)]
    else:
        raise Problem(
            415,
            title_for(415),
            f"send application/x-ndjson (one article per line) or application/json "
            f'({{"articles": [...]}}), not {media}',
        )
    if not items:
        raise Problem(422, title_for(422), "the job has no articles; send at least one line")
    seen: set[str] = set()
    duplicates = sorted({i.id for i in items if i.id in seen or seen.add(i.id)})
    if duplicates:
        raise Problem(
            422,
            title_for(422),
            f"duplicate article ids {', '.join(duplicates[:5])}: ids must be unique in a job",
        )
    return items, webhook


def _check_webhook(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Problem(422, title_for(422), f"webhook must be an http(s) URL, got {url[:100]!r}")
    return url


# --- OpenAPI -------------------------------------------------------------------------------------


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI, with every 4xx/5xx answer documented as problem+json."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    problem_ref = {"$ref": "#/components/schemas/ProblemModel"}
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, answer in responses.items():
                if code[0] in "45":
                    answer["content"] = {problems.MEDIA_TYPE: {"schema": problem_ref}}
                    answer.setdefault("description", title_for(int(code)))
            responses.setdefault(
                "500",
                {
                    "description": "internal error (with the request id to report)",
                    "content": {problems.MEDIA_TYPE: {"schema": problem_ref}},
                },
            )
    app.openapi_schema = doc
    return doc


def render_openapi() -> str:
    return json.dumps(openapi_document(create_app()), indent=2, sort_keys=True) + "\n"


def export_openapi(directory: Path) -> Path:
    path = directory / "openapi.json"
    path.write_text(render_openapi(), encoding="utf-8")
    return path
