"""Review pages: `/jobs/{id}/view` (a page of a job's articles) and
`/jobs/{id}/articles/{n}/view` (one article), rendered by `extractor.review`.

A browser sends the key as `Authorization: Bearer KEY` or in the `extractor_key` cookie.
With `serve --gold DIR`, an article whose gold file `DIR/<article_id>.json` exists shows gold
beside predicted.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials

from extractor.articles import Article
from extractor.records import ArticleResult, GoldArticle
from extractor.review import article_view, page
from extractor.service.app import Service, authenticate, bearer, service_of
from extractor.service.problems import Problem, title_for
from extractor.service.store import KeyInfo

router = APIRouter(include_in_schema=False)
PER_PAGE = 20


async def page_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> KeyInfo:
    cookie = request.cookies.get("extractor_key")
    if credentials is None and cookie:
        credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=cookie)
    return await authenticate(request, credentials)


PageKey = Annotated[KeyInfo, Depends(page_key)]


def _gold(service: Service, article_id: str) -> GoldArticle | None:
    folder = service.settings.gold_dir
    if folder is None:
        return None
    path = Path(folder) / f"{article_id}.json"
    if path.name != f"{article_id}.json" or not path.is_file():  # no path tricks in ids
        return None
    return GoldArticle.model_validate_json(path.read_text(encoding="utf-8"))


def _section(service: Service, seq: int, item: object, line: str | None, link: str) -> str:
    result = ArticleResult.model_validate_json(line) if line else None
    heading = f'<h2><a href="{link}">{html.escape(getattr(item, "id", "?"))}</a></h2>'
    if not isinstance(item, Article):
        message = html.escape(str(getattr(item, "error", "")))
        return f'{heading}<p class="err">could not be read: {message}</p>'
    gold = _gold(service, item.id)
    return heading + article_view(item.text, result, view=f"a{seq}", gold=gold)


@router.get("/jobs/{job_id}/view", response_class=HTMLResponse)
def job_view(
    job_id: str,
    request: Request,
    key: PageKey,
    page_no: Annotated[int, Query(alias="page", ge=1)] = 1,
) -> HTMLResponse:
    service = service_of(request)
    store = service.store
    assert store is not None
    job = store.get_job(key.id, job_id)
    if job is None:
        raise Problem(404, title_for(404), f"no job {job_id} for this key")
    rows = store.job_articles(job_id, offset=(page_no - 1) * PER_PAGE, limit=PER_PAGE)
    sections = [
        _section(service, seq, item, line, f"/jobs/{job_id}/articles/{seq}/view")
        for seq, item, line in rows
    ]
    pages = (job["total"] + PER_PAGE - 1) // PER_PAGE
    nav = " ".join(
        f'<a href="?page={n}">{n}</a>' if n != page_no else f"<b>{n}</b>"
        for n in range(1, pages + 1)
    )
    summary = (
        f"<p>status <b>{job['status']}</b> · {job['done']}/{job['total']} done · "
        f"{job['failed']} failed · pages: {nav}</p>"
    )
    return HTMLResponse(page(f"Job {job_id}", summary + "".join(sections)))


@router.get("/jobs/{job_id}/articles/{seq}/view", response_class=HTMLResponse)
def article_page(job_id: str, seq: int, request: Request, key: PageKey) -> HTMLResponse:
    service = service_of(request)
    store = service.store
    assert store is not None
    if store.get_job(key.id, job_id) is None:
        raise Problem(404, title_for(404), f"no job {job_id} for this key")
    rows = store.job_articles(job_id, offset=seq, limit=1) if seq >= 0 else []
    if not rows:
        raise Problem(404, title_for(404), f"job {job_id} has no article {seq}")
    seq, item, line = rows[0]
    back = f'<p><a href="/jobs/{job_id}/view">all articles of the job</a></p>'
    section = _section(service, seq, item, line, f"/jobs/{job_id}/articles/{seq}/view")
    return HTMLResponse(page(f"{getattr(item, 'id', seq)}", back + section))
