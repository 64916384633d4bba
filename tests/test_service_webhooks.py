"""Job webhooks: signed with HMAC-SHA256 of the body, retried with backoff, failures on the job.
The receiver is a real HTTP server on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from service_server import ServiceProcess, create_key_and_secret

pytestmark = pytest.mark.slow


class Receiver:
    """Answers POSTs with the scripted statuses in turn (the last one repeats)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.received.append((dict(self.headers), body))
                status = owner.statuses[min(len(owner.received), len(owner.statuses)) - 1]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_webhook(http, job_id: str, until: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = http.get(f"/v1/jobs/{job_id}").json()
        if job["webhook"] and job["webhook"]["status"] == until:
            return job
        time.sleep(0.1)
    raise AssertionError(f"webhook of {job_id} not {until}: {job}")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    args = ["--model", "baseline", "--webhook-attempts", "3", "--webhook-backoff", "0.2"]
    server = ServiceProcess.in_folder(tmp_path_factory.mktemp("hooks"), *args)
    with server:
        server.key, server.secret = create_key_and_secret(server.db, "hooks")
        yield server


def test_a_webhook_is_signed_and_retried_until_delivered(service):
    receiver = Receiver([500, 503, 200])
    try:
        with service.client(service.key) as http:
            job = http.post(
                "/v1/jobs",
                json={
                    "articles": [{"id": "w1", "text": "Es gab 3 Tote."}],
                    "webhook": receiver.url,
                },
            ).json()
            assert job["webhook"] == {
                "url": receiver.url,
                "status": "pending",
                "attempts": 0,
                "last_error": None,
            }
            ended = wait_webhook(http, job["id"], "delivered")
    finally:
        receiver.close()
    assert ended["webhook"]["attempts"] == 3 and ended["status"] == "succeeded"
    assert len(receiver.received) == 3
    for headers, body in receiver.received:
        expected = hmac.new(service.secret.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Extractor-Signature"], f"sha256={expected}")
        sent = json.loads(body)
        assert sent["id"] == job["id"] and sent["status"] == "succeeded" and sent["done"] == 1
    assert [h["X-Extractor-Attempt"] for h, _ in receiver.received] == ["1", "2", "3"]


def test_a_webhook_that_keeps_failing_is_marked_failed_on_the_job(service):
    receiver = Receiver([500])
    try:
        with service.client(service.key) as http:
            job = http.post(
                "/v1/jobs",
                params={"webhook": receiver.url},
                headers={"Content-Type": "application/x-ndjson"},
                content=b'{"id": "w2", "text": "Es gab 3 Tote."}\n',
            ).json()
            failed = wait_webhook(http, job["id"], "failed")
    finally:
        receiver.close()
    assert failed["webhook"]["attempts"] == 3 == len(receiver.received)
    assert "HTTP 500" in failed["webhook"]["last_error"]


def test_a_webhook_must_be_an_http_url(service):
    with service.client(service.key) as http:
        answer = http.post(
            "/v1/jobs", json={"articles": [{"id": "w3", "text": "x"}], "webhook": "file:///etc"}
        )
    assert answer.status_code == 422 and "webhook" in answer.json()["detail"]
