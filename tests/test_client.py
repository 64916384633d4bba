"""`extractor.Client` against a real `extractor serve` (baseline model) over HTTP."""

from __future__ import annotations

import pytest
from conftest import SEEDS
from service_server import ServiceProcess, create_key

import extractor
from extractor import ArticleResult, ServiceError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    server = ServiceProcess.in_folder(tmp_path_factory.mktemp("client"), "--model", "baseline")
    with server:
        server.key = create_key(server.db, "client")
        yield server


def test_extract_submit_wait_results(service, tmp_path, capsys):
    texts = sorted(SEEDS.glob("*.txt"))
    articles = [{"id": p.stem, "text": p.read_text(encoding="utf-8")} for p in texts]
    with extractor.Client(service.url, service.key) as client:
        one = client.extract(articles[0]["text"], id="one")
        job = client.submit(articles, idempotency_key="seeds")
        done = client.wait(job, poll_s=0.2, progress=True)
        lines = list(client.results(job))
        rest = list(client.results(job.id, after=1))
        listed = [j.id for j in client.jobs(page_size=1)]
    assert isinstance(one, ArticleResult) and one.article_id == "one" and one.figures
    assert done.status == "succeeded" and done.done == len(articles)
    assert sorted(line.article_id for line in lines) == sorted(a["id"] for a in articles)
    assert rest == lines[1:]
    assert listed == [job.id]
    assert f"job {job.id[:8]} succeeded" in capsys.readouterr().err  # the progress bar


def test_a_jsonl_path_is_sent_as_the_cli_reads_it(service, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "x", "text": "Es gab 3 Tote."}\nnot json\n', encoding="utf-8")
    with extractor.Client(service.url, service.key) as client:
        job = client.wait(client.submit(src), poll_s=0.2)
        lines = {line.article_id: line for line in client.results(job)}
    assert job.failed == 1 and lines["x"].figures[0].value == 3
    assert lines["body:2"].error.kind == "input"


def test_errors_are_service_errors_with_the_problem_detail(service):
    with extractor.Client(service.url, "gne_wrong") as client, pytest.raises(ServiceError) as bad:
        client.extract("Es gab 3 Tote.")
    assert bad.value.status == 401 and "unknown or revoked" in str(bad.value)
    with extractor.Client(service.url, service.key) as client, pytest.raises(ServiceError) as gone:
        client.job("no-such-job")
    assert gone.value.status == 404
