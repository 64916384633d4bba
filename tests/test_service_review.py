"""The review page in a real headless Chromium (Playwright): it loads, every highlight sits on
the characters of its records' spans, a click shows the record, gold stands beside predicted."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS
from service_server import ServiceProcess, create_key

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip("no Chromium found: apt-get install -y chromium (Debian), then rerun")


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]'")
    with sync_api.sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Exception as exc:
            pytest.skip(f"Chromium at {executable} did not start: {exc}")
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    args = ["--model", "baseline", "--gold", str(ROOT / "evals" / "gold")]
    server = ServiceProcess.in_folder(tmp_path_factory.mktemp("review"), *args)
    texts = {p.stem: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}
    with server:
        key = create_key(server.db, "reviewer")
        with server.client(key) as http:
            body = {"articles": [{"id": k, "text": t} for k, t in texts.items()]}
            job_id = http.post("/v1/jobs", json=body).json()["id"]
            while http.get(f"/v1/jobs/{job_id}").json()["status"] != "succeeded":
                time.sleep(0.1)
            lines = [
                json.loads(x) for x in http.get(f"/v1/jobs/{job_id}/results").text.splitlines()
            ]
        yield server, key, job_id, texts, {line["article_id"]: line for line in lines}


def test_highlights_sit_on_the_spans_and_a_click_shows_the_record(browser, job):
    server, key, job_id, texts, results = job
    context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {key}"})
    page = context.new_page()
    response = page.goto(f"{server.url}/jobs/{job_id}/view")
    assert response.status == 200
    article_id = next(iter(texts))  # input order: the first article is section a0
    text, result = texts[article_id], results[article_id]
    marks = page.eval_on_selector_all(
        'mark[data-view="a0"]',
        "els => els.map(e => [e.textContent, +e.dataset.start, +e.dataset.end, e.dataset.records])",
    )
    assert marks
    for content, start, end, _ in marks:
        assert content == text[start:end]
    placed = 0
    for kind, tag in (("events", "E"), ("claims", "C"), ("figures", "F")):
        for index, record in enumerate(result[kind]):
            own = [m for m in marks if f"{tag}{index}" in m[3].split()]
            if record["span"] is None:
                assert not own
                continue
            placed += 1
            start, end = record["span"]
            assert (own[0][1], own[-1][2]) == (start, end)
            assert "".join(m[0] for m in own) == text[start:end] == record["evidence"]
    assert placed >= 3

    figure = result["figures"][0]
    page.click('mark[data-view="a0"][data-records~="F0"]')
    shown = json.loads(page.text_content("#panel-a0"))
    assert {"tag": "F0", **figure} in shown

    gold_marks = page.locator('mark[data-view="a0-gold"]').count()
    assert gold_marks > 0  # evals/gold has this article: gold stands beside predicted
    page.screenshot(path=str(Path(server.log_path).parent / "review.png"), full_page=False)
    context.close()


def test_a_page_without_a_key_is_401_and_the_article_page_stands_alone(browser, job):
    server, key, job_id, texts, _ = job
    context = browser.new_context()
    page = context.new_page()
    assert page.goto(f"{server.url}/jobs/{job_id}/view").status == 401
    context.add_cookies([{"name": "extractor_key", "value": key, "url": server.url}])
    single = page.goto(f"{server.url}/jobs/{job_id}/articles/1/view")
    assert single.status == 200
    assert page.locator("h2").first.text_content() == list(texts)[1]
    assert page.locator("section.article").count() == 1
    context.close()
