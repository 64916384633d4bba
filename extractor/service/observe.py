"""Prometheus metrics, JSON log lines and the request id that ties a request's lines together."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from extractor.records import ArticleResult

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: LogRecord attributes that are not extras
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if request_id := request_id_var.get():
            line["request_id"] = request_id
        line |= {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if record.exc_info:  # never a trace: it may hold article text or secrets
            line["error_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(line, default=str, ensure_ascii=False)


def log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's `log_config`: JSON lines on stderr for ours and uvicorn's loggers."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": handler},
        "loggers": {
            "extractor": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


class Metrics:
    """The service's series, in a registry of its own (one per app, so tests stay apart)."""

    def __init__(self, job_counts: Callable[[], dict[str, int]]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "extractor_http_requests", "HTTP requests", ["route", "method", "code"], registry=r
        )
        self.http_latency = Histogram(
            "extractor_http_request_duration_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.articles = Counter(
            "extractor_articles", "Articles finished", ["outcome", "via"], registry=r
        )
        self.model_requests = Counter(
            "extractor_model_requests", "Model requests, retries and re-asks included", registry=r
        )
        self.tokens = Counter("extractor_model_tokens", "Model tokens", ["kind"], registry=r)
        self.cache_hits = Counter(
            "extractor_cache_hits", "Model requests answered from the cache", registry=r
        )
        r.register(_JobsCollector(job_counts))

    def article(self, result: ArticleResult, via: str) -> None:
        self.articles.labels(result.error.kind if result.error else "ok", via).inc()
        usage = result.usage
        self.model_requests.inc(usage.requests)
        self.cache_hits.inc(usage.cached)
        self.tokens.labels("prompt").inc(usage.prompt_tokens)
        self.tokens.labels("completion").inc(usage.completion_tokens)


class _JobsCollector:
    """Jobs by state, read from the database at scrape time: true across replicas."""

    def __init__(self, job_counts: Callable[[], dict[str, int]]) -> None:
        self.job_counts = job_counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("extractor_jobs", "Jobs by state", labels=["state"])
        try:
            counts = self.job_counts()
        except Exception:  # the database is down: /readyz says so; the scrape still answers
            counts = {}
        for state in ("queued", "running", "succeeded", "failed", "cancelled"):
            gauge.add_metric([state], counts.get(state, 0))
        yield gauge

    def describe(self) -> list[GaugeMetricFamily]:
        return []


class ObserveMiddleware:
    """Request id (`X-Request-ID`, echoed or made), metrics and one access log line per request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.log = logging.getLogger("extractor.service.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _VALID_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.http_requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.http_latency.labels(route).observe(elapsed)
            state = scope.get("state", {})
            self.log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "key": state.get("key_name"),
                },
            )
            request_id_var.reset(token)
