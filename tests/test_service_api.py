"""`extractor serve`: /v1/extract, keys, problem+json errors and limits, over real HTTP against
a uvicorn subprocess (baseline model: no network)."""

from __future__ import annotations

import json

import pytest
from conftest import SEEDS, read_jsonl
from service_server import ServiceProcess, create_key

pytestmark = pytest.mark.slow

PROBLEM = "application/problem+json"
SEED = (SEEDS / "000_bc9a927a736966c8.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    server = ServiceProcess.in_folder(
        tmp_path_factory.mktemp("service"), "--model", "baseline", "--max-body-mb", "0.2"
    )
    db = server.db
    keys = {"alice": create_key(db, "alice"), "bob": create_key(db, "bob")}
    keys["slow"] = create_key(db, "slow", "--rpm", "2")
    keys["gone"] = create_key(db, "gone")
    with server:
        server.keys = keys
        yield server


def test_extract_answers_exactly_the_cli_line(service, tmp_path, cli):
    article = {"id": "seed-0", "text": SEED, "title": "Seed"}
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(article, ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert cli("extract", src, "--model", "baseline", "--out", out).exit_code == 0
    with service.client(service.keys["alice"]) as http:
        answer = http.post("/v1/extract", json=article)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == read_jsonl(out)[0]
    assert answer.json()["figures"], "the seed has figures: the comparison is not vacuous"


def test_extract_takes_html_and_defaults_the_id_to_the_request_id(service):
    page = (
        "<html><head><title>Demo</title></head><body><article><p>Rund 500 Menschen "
        "demonstrierten am Samstag in Berlin gegen die Pläne der Regierung.</p></article>"
        "</body></html>"
    )
    with service.client(service.keys["alice"]) as http:
        answer = http.post("/v1/extract", json={"html": page}, headers={"X-Request-ID": "req-1"})
    assert answer.status_code == 200, answer.text
    line = answer.json()
    assert line["article_id"] == "req-1" and answer.headers["x-request-id"] == "req-1"
    figure = line["figures"][0]
    assert figure["value"] == 500 and figure["grounding"] == "exact"


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "Authorization: Bearer KEY"),
        ({"Authorization": "Bearer gne_not-a-key"}, "unknown or revoked"),
        ({"Authorization": "Basic YWxpY2U6cHc="}, "Authorization: Bearer KEY"),
    ],
)
def test_calls_without_a_valid_key_get_401_problems(service, headers, detail):
    with service.client() as http:
        answer = http.post("/v1/extract", json={"text": "x"}, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["content-type"] == PROBLEM
    assert answer.headers["www-authenticate"].startswith("Bearer")
    body = answer.json()
    assert body["status"] == 401 and body["title"] == "Unauthorized" and detail in body["detail"]


def test_a_revoked_key_gets_401(service, cli):
    key = service.keys["gone"]
    with service.client(key) as http:
        assert http.get("/v1/jobs").status_code == 200
        revoked = cli("keys", "revoke", "gone", "--db", service.db)
        assert revoked.exit_code == 0, revoked.output
        answer = http.get("/v1/jobs")
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]


def test_keys_are_stored_only_as_hashes(service, cli):
    import sqlite3

    path = service.db.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        stored = " ".join(str(v) for row in db.execute("SELECT * FROM api_keys") for v in row)
    assert service.keys["alice"] not in stored and service.keys["alice"][:10] in stored
    listed = cli("keys", "list", "--db", service.db)
    assert "alice" in listed.stdout and service.keys["alice"] not in listed.stdout


def test_keys_create_prints_the_key_as_the_last_line(service, cli):
    created = cli("keys", "create", "carol", "--db", service.db)
    assert created.exit_code == 0
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("gne_") and len(key) > 40
    with service.client(key) as http:
        assert http.get("/v1/jobs").status_code == 200


@pytest.mark.parametrize(
    ("content", "field", "detail"),
    [
        (b"{bad", "body", "not valid JSON"),
        (b'{"id": "a1"}', "body", '"text"'),
        (b'{"id": "a1", "text": 3}', "body.text", "string"),
        (b'{"id": "a1", "text": "   "}', None, "empty article"),
    ],
)
def test_bad_requests_get_422_problems_naming_the_field(service, content, field, detail):
    with service.client(service.keys["alice"]) as http:
        answer = http.post(
            "/v1/extract", content=content, headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    assert detail in body["detail"] and body["request_id"] == answer.headers["x-request-id"]
    if field:
        assert body["errors"][0]["field"] == field


def test_a_body_over_the_limit_gets_413(service):
    big = {"id": "big", "text": "Wort " * 60_000}  # 300 kB > --max-body-mb 0.2
    with service.client(service.keys["alice"]) as http:
        answer = http.post("/v1/extract", json=big)

        def chunked():
            yield json.dumps(big).encode()

        streamed = http.post(
            "/v1/extract", content=chunked(), headers={"Content-Type": "application/json"}
        )
    for response in (answer, streamed):
        assert response.status_code == 413
        assert response.headers["content-type"] == PROBLEM
        assert "--max-body-mb" in response.json()["detail"]


def test_a_key_over_its_rpm_gets_429_with_retry_after(service):
    with service.client(service.keys["slow"]) as http:
        codes = [http.get("/v1/jobs") for _ in range(3)]
    assert [c.status_code for c in codes] == [200, 200, 429]
    limited = codes[-1]
    assert limited.headers["content-type"] == PROBLEM
    assert 1 <= int(limited.headers["retry-after"]) <= 30
    assert "2 requests per minute" in limited.json()["detail"]


def test_unknown_routes_are_problems_too(service):
    with service.client() as http:
        answer = http.get("/v1/nothing-here")
    assert answer.status_code == 404 and answer.headers["content-type"] == PROBLEM


def test_health_and_readiness(service):
    with service.client() as http:
        assert http.get("/healthz").json()["status"] == "ok"
        ready = http.get("/readyz").json()
    assert ready == {"status": "ready", "database": "ok", "model": "baseline"}


def test_no_auth_is_refused_off_loopback(cli):
    result = cli("serve", "--no-auth", "--host", "0.0.0.0", "--model", "baseline")
    assert result.exit_code == 2
    assert "loopback" in result.stderr


def test_no_auth_on_loopback_needs_no_key_and_says_so(tmp_path):
    db = f"sqlite:///{tmp_path / 'open.db'}"
    with ServiceProcess(db, "--no-auth", "--model", "baseline", log=tmp_path / "log") as server:
        with server.client() as http:
            answer = http.post("/v1/extract", json={"id": "n", "text": "Es gab 3 Tote."})
        assert answer.status_code == 200 and answer.json()["figures"][0]["value"] == 3
        assert "--no-auth" in server.log


def test_metrics_and_json_log_lines_with_the_request_id(service):
    with service.client(service.keys["alice"]) as http:
        ok = http.post(
            "/v1/extract",
            json={"id": "m1", "text": "Es gab 3 Tote."},
            headers={"X-Request-ID": "metrics-1"},
        )
        assert ok.status_code == 200
        assert http.post("/v1/extract", json={"id": "m2"}).status_code == 422
        text = http.get("/metrics").text
    for series in (
        'extractor_http_requests_total{code="200",method="POST",route="/v1/extract"}',
        'extractor_http_requests_total{code="422",method="POST",route="/v1/extract"}',
        'extractor_http_request_duration_seconds_bucket{le="0.1",route="/v1/extract"}',
        'extractor_articles_total{outcome="ok",via="extract"}',
        'extractor_jobs{state="succeeded"}',
        'extractor_model_tokens_total{kind="prompt"}',
        "extractor_cache_hits_total",
    ):
        assert series in text, series
    lines = [json.loads(line) for line in service.log.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("request_id") == "metrics-1"]
    assert access and access[0]["route"] == "/v1/extract" and access[0]["status"] == 200
    assert access[0]["key"] == "alice"
    assert not any(key in service.log for key in service.keys.values())
