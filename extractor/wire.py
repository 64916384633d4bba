"""The HTTP API's bodies, shared by the service (`extractor.service`) and `extractor.client`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from extractor.records import Usage

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
#: statuses after which a job changes no more
TERMINAL: tuple[JobStatus, ...] = ("succeeded", "failed", "cancelled")


class ArticleIn(BaseModel):
    """One article, as one line of `extractor extract`'s JSONL input; `html` may replace `text`."""

    model_config = ConfigDict(extra="allow")

    id: str | int | None = Field(default=None, description="default: the request id")
    text: str | None = Field(default=None, description="the article text; spans index it")
    html: str | None = Field(default=None, description="a page, instead of text")
    title: str | None = None
    date: str | None = None
    language: str | None = Field(default=None, description="ISO 639-1; detected when absent")

    @model_validator(mode="after")
    def _text_or_html(self) -> ArticleIn:
        if self.text is None and self.html is None:
            raise ValueError('give "text" (the article) or "html" (a page)')
        return self


class WebhookOut(BaseModel):
    url: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_error: str | None = None


class JobOut(BaseModel):
    id: str
    status: JobStatus
    total: int = Field(description="articles in the job")
    done: int = Field(description="articles finished, failed ones included")
    failed: int = Field(description="articles that ended as an error line")
    usage: Usage
    webhook: WebhookOut | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    results_url: str
    view_url: str


class JobPage(BaseModel):
    jobs: list[JobOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")
