"""Jobs over real HTTP: submit (NDJSON or JSON), idempotency, status, streamed results with a
cursor, list, cancel; and jobs that survive `kill -9` and SIGTERM with exactly one line per
article. Model calls go to the scripted fake server (its answers are test data, not a model)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from conftest import scripted
from fake_openai import Step
from service_server import ServiceProcess, create_key

pytestmark = pytest.mark.slow

ANSWER = Step(content=scripted("answer_000.json"))
NDJSON = {"Content-Type": "application/x-ndjson"}


def articles(n: int, prefix: str = "j") -> list[dict[str, str]]:
    return [
        {"id": f"{prefix}{i}", "text": f"Am Montag demonstrierten {100 + i} Menschen in Berlin."}
        for i in range(1, n + 1)
    ]


def ndjson(items: list[dict[str, str]]) -> bytes:
    return "".join(json.dumps(a) + "\n" for a in items).encode()


def wait_for(http: httpx.Client, job_id: str, until=("succeeded", "failed"), timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = http.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in until:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s: {job}")


def wait_for_requests(model, n: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while len(model.requests) < n:
        assert time.monotonic() < deadline, f"the model got {len(model.requests)} of {n} requests"
        time.sleep(0.05)


def result_lines(http: httpx.Client, job_id: str, after: int = 0) -> list[dict]:
    answer = http.get(f"/v1/jobs/{job_id}/results", params={"after": after})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in answer.text.splitlines()]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    server = ServiceProcess.in_folder(tmp_path_factory.mktemp("jobs"), "--model", "baseline")
    with server:
        server.keys = {name: create_key(server.db, name) for name in ("alice", "bob")}
        yield server


def test_a_job_ends_with_one_line_per_article_and_a_resumable_stream(service):
    items = [*articles(5), {"id": "empty", "text": " "}]
    body = ndjson(items) + b"not json\n"
    with service.client(service.keys["alice"]) as http:
        submitted = http.post("/v1/jobs", content=body, headers=NDJSON)
        assert submitted.status_code == 202
        job = submitted.json()
        assert submitted.headers["location"] == f"/v1/jobs/{job['id']}"
        assert job["status"] in ("queued", "running") and job["total"] == 7
        done = wait_for(http, job["id"])
        lines = result_lines(http, job["id"])
        rest = result_lines(http, job["id"], after=4)
    assert done["status"] == "succeeded" and (done["done"], done["failed"]) == (7, 2)
    assert sorted(line["article_id"] for line in lines) == sorted(
        [*(a["id"] for a in items), "body:7"]
    )
    assert rest == lines[4:]
    errors = {line["article_id"]: line["error"] for line in lines if line["error"]}
    assert errors["empty"]["kind"] == "input" and "not JSON" in errors["body:7"]["message"]


def test_a_json_submit_with_an_idempotency_key_returns_the_same_job(service):
    payload = {"articles": articles(2, "idem")}
    headers = {"Idempotency-Key": "submit-1"}
    with service.client(service.keys["alice"]) as http:
        first = http.post("/v1/jobs", json=payload, headers=headers)
        again = http.post("/v1/jobs", json=payload, headers=headers)
        other = http.post("/v1/jobs", json=payload, headers={"Idempotency-Key": "submit-2"})
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] != other.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"


def test_another_keys_job_is_404_and_lists_are_per_key(service):
    with service.client(service.keys["alice"]) as alice, service.client(service.keys["bob"]) as bob:
        job = alice.post("/v1/jobs", json={"articles": articles(1, "own")}).json()
        for method, path in (
            ("GET", f"/v1/jobs/{job['id']}"),
            ("GET", f"/v1/jobs/{job['id']}/results"),
            ("DELETE", f"/v1/jobs/{job['id']}"),
        ):
            answer = bob.request(method, path)
            assert answer.status_code == 404, path
            assert answer.headers["content-type"] == "application/problem+json"
        assert job["id"] not in {j["id"] for j in bob.get("/v1/jobs").json()["jobs"]}


def test_jobs_are_listed_newest_first_in_pages(service):
    with service.client(create_key(service.db, "pager")) as http:
        ids = [http.post("/v1/jobs", json={"articles": articles(1)}).json()["id"] for _ in range(5)]
        seen, cursor = [], None
        while True:
            page = http.get(
                "/v1/jobs", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
            )
            body = page.json()
            seen += [j["id"] for j in body["jobs"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
    assert seen == ids[::-1]


def test_duplicate_ids_and_empty_jobs_are_422(service):
    with service.client(service.keys["alice"]) as http:
        duplicate = http.post("/v1/jobs", content=ndjson(articles(2) + articles(1)), headers=NDJSON)
        empty = http.post("/v1/jobs", content=b"\n", headers=NDJSON)
        wrong = http.post("/v1/jobs", content=b"x", headers={"Content-Type": "text/csv"})
        no_list = http.post("/v1/jobs", json={"articles": []})
    assert duplicate.status_code == 422 and "j1" in duplicate.json()["detail"]
    assert empty.status_code == 422 and "no articles" in empty.json()["detail"]
    assert wrong.status_code == 415
    assert no_list.status_code == 422 and no_list.json()["errors"][0]["field"] == "body.articles"


def model_args(server) -> list[str]:
    return ["--model", "openai:test-model", "--base-url", server.base_url, "--no-cache"]


def test_cancel_stops_a_running_job(fake, tmp_path):
    db = f"sqlite:///{tmp_path / 's.db'}"
    key = create_key(db, "k")
    with fake(default=ANSWER, latency=0.3) as model:
        args = [*model_args(model), "--concurrency", "1"]
        with ServiceProcess(db, *args, log=tmp_path / "log") as server, server.client(key) as http:
            job = http.post("/v1/jobs", content=ndjson(articles(30)), headers=NDJSON).json()
            wait_for(http, job["id"], until=("running",))
            cancelled = http.delete(f"/v1/jobs/{job['id']}")
            time.sleep(1.0)
            later = http.get(f"/v1/jobs/{job['id']}").json()
            lines = result_lines(http, job["id"])
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert later["status"] == "cancelled" and later["done"] < 30
    assert len(lines) == later["done"]


def test_kill_9_then_restart_finishes_with_one_line_per_article(fake, tmp_path):
    db = f"sqlite:///{tmp_path / 's.db'}"
    key = create_key(db, "k")
    items = articles(12)
    # four answers come back; the 5th and 6th hang, so two articles are mid-call at the kill
    hang = Step(content=ANSWER.content, delay=60)
    with fake(*[ANSWER] * 4, hang, hang, default=ANSWER, latency=0.1) as model:
        args = [*model_args(model), "--concurrency", "2"]
        first = ServiceProcess(db, *args, log=tmp_path / "first.log").start()
        with first.client(key) as http:
            job = http.post("/v1/jobs", content=ndjson(items), headers=NDJSON).json()
            wait_for_requests(model, 6)
            while http.get(f"/v1/jobs/{job['id']}").json()["done"] < 4:  # recorded
                time.sleep(0.05)
        first.kill()  # SIGKILL: no shutdown code runs
        second = ServiceProcess(db, *args, log=tmp_path / "second.log")
        with second, second.client(key) as http:
            killed_at = http.get(f"/v1/jobs/{job['id']}").json()["done"]
            done = wait_for(http, job["id"])
            lines = result_lines(http, job["id"])
            metrics = http.get("/metrics").text
    assert killed_at == 4
    assert 'extractor_articles_total{outcome="ok",via="job"}' in metrics
    prompt = next(m for m in metrics.splitlines() if m.startswith("extractor_model_tokens_total"))
    assert float(prompt.split()[-1]) >= 100  # the fake answers 100 prompt tokens a request
    assert done["status"] == "succeeded" and done["done"] == 12 and done["failed"] == 0
    ids = [line["article_id"] for line in lines]
    assert sorted(ids) == sorted(a["id"] for a in items) and len(set(ids)) == 12
    assert '"articles": 2' in next(x for x in second.log.splitlines() if "requeued" in x)


def test_sigterm_exits_0_within_grace_and_requeues_what_ran(fake, tmp_path):
    db = f"sqlite:///{tmp_path / 's.db'}"
    key = create_key(db, "k")
    items = articles(6)
    with fake(default=ANSWER, latency=3.0) as model:
        args = [*model_args(model), "--concurrency", "2", "--grace", "1"]
        first = ServiceProcess(db, *args, log=tmp_path / "first.log").start()
        with first.client(key) as http:
            job = http.post("/v1/jobs", content=ndjson(items), headers=NDJSON).json()
            wait_for_requests(model, 2)  # two articles are waiting on the model
            started = time.monotonic()
            code = first.terminate()
            took = time.monotonic() - started
        assert code == 0 and took < 8, (code, took, first.log[-1500:])
        assert "requeued unfinished articles" in first.log
        second = ServiceProcess(db, *args, log=tmp_path / "second.log")
        with second, second.client(key) as http:
            done = wait_for(http, job["id"])
            lines = result_lines(http, job["id"])
    assert done["status"] == "succeeded"
    assert sorted(line["article_id"] for line in lines) == sorted(a["id"] for a in items)


def test_the_model_rate_limit_holds_for_the_whole_server(fake, tmp_path):
    db = f"sqlite:///{tmp_path / 's.db'}"
    key = create_key(db, "k")
    with fake(default=ANSWER) as model:
        args = [*model_args(model), "--concurrency", "4", "--rpm", "60"]  # one request a second
        with ServiceProcess(db, *args, log=tmp_path / "log") as server, server.client(key) as http:
            started = time.monotonic()
            job = http.post("/v1/jobs", content=ndjson(articles(3)), headers=NDJSON).json()
            extracted = http.post("/v1/extract", json={"id": "x", "text": "Es gab 3 Tote."})
            wait_for(http, job["id"])
            took = time.monotonic() - started
    assert extracted.status_code == 200 and len(model.requests) == 4
    assert took >= 2.5  # 4 requests through one limiter: at least 3 s apart in all
