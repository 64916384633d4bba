"""Two `extractor serve` replicas on one real PostgreSQL (pgserver's embedded binaries) share
the queue: no article runs twice, and a killed replica's articles are finished by the other."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import uuid

import pytest
from conftest import scripted
from fake_openai import Step
from service_server import ServiceProcess, create_key

pytestmark = pytest.mark.slow

ANSWER = Step(content=scripted("answer_000.json"))


@pytest.fixture(scope="module")
def postgres():
    try:
        import pgserver
    except ImportError:
        pytest.skip("PostgreSQL tests need pgserver: pip install -e '.[dev]'")
    # directly under /tmp: as root, pgserver runs PostgreSQL as another user, who cannot enter
    # pytest's private tmp folders
    pgdata = tempfile.mkdtemp(prefix="extractor-pg-")
    try:
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
    except Exception as exc:
        shutil.rmtree(pgdata, ignore_errors=True)
        pytest.skip(f"pgserver could not start PostgreSQL here: {type(exc).__name__}: {exc}")
    yield server
    server.cleanup()
    shutil.rmtree(pgdata, ignore_errors=True)


@pytest.fixture
def db(postgres) -> str:
    """A fresh database on the test server, as a postgresql:// URL."""
    name = f"t{uuid.uuid4().hex[:12]}"
    postgres.psql(f"CREATE DATABASE {name};")
    uri = postgres.get_uri()  # postgresql://postgres:@/postgres?host=/tmp/...
    base, query = uri.split("?", 1)
    return f"{base.rsplit('/', 1)[0]}/{name}?{query}"


def articles(n: int) -> bytes:
    return "".join(
        json.dumps({"id": f"p{i}", "text": f"In Hamburg demonstrierten {200 + i} Menschen."}) + "\n"
        for i in range(n)
    ).encode()


def replicas(db: str, model, tmp_path, *extra: str) -> list[ServiceProcess]:
    args = ["--model", "openai:m", "--base-url", model.base_url, "--no-cache", *extra]
    servers = [ServiceProcess(db, *args, log=tmp_path / f"r{i}.log") for i in range(2)]
    for server in servers:  # both migrate at once: one waits on the other's advisory lock
        server.launch()
    return [server.wait_ready() for server in servers]


def wait_done(http, job_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = http.get(f"/v1/jobs/{job_id}").json()
        if job["status"] == "succeeded":
            return job
        time.sleep(0.1)
    raise AssertionError(f"job not done: {job}")


def job_articles_ran(server: ServiceProcess) -> float:
    with server.client() as http:
        metrics = http.get("/metrics").text
    return sum(
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("extractor_articles_total{") and 'via="job"' in line
    )


def test_two_replicas_share_the_queue_without_running_an_article_twice(fake, db, tmp_path):
    key = create_key(db, "pg")
    with fake(default=ANSWER, latency=0.2) as model:
        servers = replicas(db, model, tmp_path, "--concurrency", "2")
        try:
            with servers[0].client(key) as http:
                job = http.post(
                    "/v1/jobs",
                    content=articles(24),
                    headers={"Content-Type": "application/x-ndjson"},
                ).json()
            with servers[1].client(key) as http:  # any replica answers for any job
                done = wait_done(http, job["id"])
                lines = http.get(f"/v1/jobs/{job['id']}/results").text.splitlines()
            ran = [job_articles_ran(server) for server in servers]
            requests = len(model.requests)
        finally:
            for server in servers:
                server.kill()
    assert done["done"] == 24 and done["failed"] == 0
    ids = [json.loads(line)["article_id"] for line in lines]
    assert sorted(ids) == sorted(f"p{i}" for i in range(24))
    assert requests == 24  # one model request per article: none ran twice
    assert sum(ran) == 24 and min(ran) > 0, ran  # both replicas took work


def test_a_killed_replicas_articles_are_finished_by_the_other(fake, db, tmp_path):
    key = create_key(db, "pg")
    with fake(default=ANSWER, latency=0.3) as model:
        servers = replicas(db, model, tmp_path, "--concurrency", "2", "--lease", "2")
        try:
            with servers[0].client(key) as http:
                job = http.post(
                    "/v1/jobs",
                    content=articles(16),
                    headers={"Content-Type": "application/x-ndjson"},
                ).json()
                while http.get(f"/v1/jobs/{job['id']}").json()["done"] < 4:
                    time.sleep(0.05)
            servers[0].kill()  # SIGKILL while it holds leases
            with servers[1].client(key) as http:
                done = wait_done(http, job["id"])
                lines = http.get(f"/v1/jobs/{job['id']}/results").text.splitlines()
        finally:
            for server in servers:
                server.kill()
    ids = [json.loads(line)["article_id"] for line in lines]
    assert done["done"] == 16 and len(ids) == 16
    assert sorted(ids) == sorted(f"p{i}" for i in range(16))
