"""A scripted fake of the OpenAI HTTP API, for testing OUR client code.

This is not a model: it answers a fixed script of `Step`s in order, over real HTTP on
loopback, so the real `openai` client (retries, timeouts, error mapping, parsing) is exercised
end to end. It also implements the Batch API subset (files + batches) our batch engine uses.
Every chat-completion body received (including each batch line's body) is recorded in
`requests`.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DEFAULT_USAGE: dict[str, int] = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


@dataclass
class Step:
    """One scripted answer; consumed by one chat-completion request (or one batch line)."""

    status: int = 200
    content: str | None = None
    tool_arguments: str | None = None
    finish_reason: str = "stop"
    usage: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    drop: bool = False
    #: hostile modes: send the body one byte every `drip` seconds; send only the first half of
    #: the body, then close; answer with `raw` text (e.g. an HTML page) as `content_type`;
    #: answer 200 with an empty `choices` list
    drip: float = 0.0
    truncate: bool = False
    raw: str | None = None
    content_type: str = "text/html; charset=utf-8"
    empty_choices: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown Step fields {sorted(unknown)}; allowed: {sorted(known)}")
        return cls(**data)


def error_body(status: int, message: str) -> dict[str, Any]:
    """An OpenAI-style error envelope, so the client builds a proper APIStatusError."""
    err_type, code = _ERROR_TYPES.get(status, ("server_error", None))
    return {"error": {"message": message, "type": err_type, "param": None, "code": code}}


@dataclass
class _Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    raw: bytes | None = None  # non-JSON payload (file content, an HTML page)
    content_type: str = "application/octet-stream"
    drip: float = 0.0
    truncate: bool = False


class FakeOpenAI:
    """Scripted OpenAI-compatible server on 127.0.0.1 (a fake that tests our code, not a model).

    Steps are consumed in order by chat-completion requests and batch lines alike; when they run
    out, `default` answers, or (default None) a 500 saying the script ran out. `latency` is added
    to every request; `fail_every=N` turns every Nth chat request / batch line into a 500 without
    consuming a step, so a retry gets the step the failed request would have had.
    `control_failures={"GET /v1/batches/": 2}` answers the first 2 requests whose
    "METHOD path" starts so (files and batches endpoints) with a 503 asking to retry after
    10 ms; `control_failed` lists them.
    """

    def __init__(
        self,
        steps: Sequence[Step] | None = None,
        *,
        default: Step | None = None,
        latency: float = 0.0,
        fail_every: int | None = None,
        batch_polls_until_done: int = 2,
        control_failures: dict[str, int] | None = None,
    ) -> None:
        self.steps: list[Step] = list(steps or [])
        self.default = default
        self.latency = latency
        self.fail_every = fail_every
        self.batch_polls_until_done = batch_polls_until_done
        self.control_failures = dict(control_failures or {})
        self.control_failed: list[str] = []
        self.requests: list[dict] = []
        self.authorizations: list[str | None] = []  # each chat request's Authorization header
        self.files: dict[str, dict[str, Any]] = {}  # id -> {"meta": FileObject dict, "data": bytes}
        self.batches: dict[str, dict[str, Any]] = {}  # id -> Batch dict
        self._batch_polls: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._next_step = 0
        self._answered = 0  # chat requests + batch lines, for fail_every
        self._ids = itertools.count(1)
        self._conns: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> FakeOpenAI:
        """Load {"steps": [...], "default": {...}} from JSON; kwargs override the rest."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        steps = [Step.from_dict(s) for s in data.get("steps", [])]
        default = Step.from_dict(data["default"]) if data.get("default") else None
        kwargs.setdefault("default", default)
        return cls(steps, **kwargs)

    @property
    def steps_left(self) -> int:
        with self._lock:
            return len(self.steps) - self._next_step

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(_Handler):
            owner = fake

        server = _Server(("127.0.0.1", 0), Handler)
        self._server = server
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stop.set()  # wakes handlers sleeping in delay/latency
        self._server.shutdown()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:  # idle keep-alive connections would otherwise block server_close
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripted answers ------------------------------------------------------------------

    def _take_step(self) -> tuple[int, Step | None]:
        """Return (request number, step); step None means 'inject a fail_every 500'."""
        with self._lock:
            self._answered += 1
            n = self._answered
            if self.fail_every and n % self.fail_every == 0:
                return n, None
            if self._next_step < len(self.steps):
                step = self.steps[self._next_step]
                self._next_step += 1
                return n, step
            if self.default is not None:
                return n, self.default
        used = len(self.steps)
        return n, Step(
            status=500,
            body=error_body(
                500,
                f"FakeOpenAI script ran out: all {used} scripted steps were used and no default "
                f"is set (request #{n}). Add steps or a default Step to the test.",
            ),
        )

    def _chat_reply(self, request: dict[str, Any]) -> _Reply:
        with self._lock:
            self.requests.append(request)
        if request.get("stream"):
            return _Reply(400, error_body(400, "FakeOpenAI does not support stream=True"))
        n, step = self._take_step()
        if step is None:
            msg = f"FakeOpenAI injected failure (fail_every={self.fail_every}, request #{n})"
            return _Reply(500, error_body(500, msg))
        if step.status != 200:
            body = (
                step.body
                if step.body is not None
                else error_body(step.status, f"scripted HTTP {step.status}")
            )
            return _Reply(step.status, body, dict(step.headers), step.delay, step.drop)
        hostile = {"drip": step.drip, "truncate": step.truncate}
        if step.raw is not None:
            raw = step.raw.encode()
            return _Reply(
                200,
                None,
                dict(step.headers),
                step.delay,
                step.drop,
                raw,
                step.content_type,
                **hostile,
            )
        body = self._envelope(request, step, n)
        if step.empty_choices:
            body["choices"] = []
        return _Reply(200, body, dict(step.headers), step.delay, step.drop, **hostile)

    def _envelope(self, request: dict[str, Any], step: Step, n: int) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": step.content}
        if step.tool_arguments is not None:
            message["content"] = step.content
            message["tool_calls"] = [
                {
                    "id": f"call_fake_{n}",
                    "type": "function",
                    "function": {"name": _tool_name(request), "arguments": step.tool_arguments},
                }
            ]
        finish = step.finish_reason
        if step.tool_arguments is not None and finish == "stop":
            finish = "tool_calls"
        return {
            "id": f"chatcmpl-fake-{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "fake-model"),
            "choices": [
                {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
            ],
            "usage": dict(step.usage if step.usage is not None else DEFAULT_USAGE),
        }

    # -- files and batches -----------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-fake-{next(self._ids)}"

    def _store_file(self, filename: str, purpose: str, data: bytes) -> dict[str, Any]:
        meta = {
            "id": self._new_id("file"),
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }
        with self._lock:
            self.files[meta["id"]] = {"meta": meta, "data": data}
        return meta

    def _create_batch(self, req: dict[str, Any]) -> _Reply:
        file_id = req.get("input_file_id")
        if file_id not in self.files:
            return _Reply(404, error_body(404, f"No such File object: {file_id}"))
        if req.get("endpoint") != "/v1/chat/completions":
            msg = f"FakeOpenAI batches only support /v1/chat/completions, got {req.get('endpoint')}"
            return _Reply(400, error_body(400, msg))
        lines = self.files[file_id]["data"].decode("utf-8").splitlines()
        now = int(time.time())
        batch = {
            "id": self._new_id("batch"),
            "object": "batch",
            "endpoint": req["endpoint"],
            "input_file_id": file_id,
            "completion_window": req.get("completion_window", "24h"),
            "status": "validating",
            "created_at": now,
            "expires_at": now + 86400,
            "output_file_id": None,
            "error_file_id": None,
            "metadata": req.get("metadata"),
            "request_counts": {
                "total": sum(1 for x in lines if x.strip()),
                "completed": 0,
                "failed": 0,
            },
        }
        with self._lock:
            self.batches[batch["id"]] = batch
            self._batch_polls[batch["id"]] = 0
        return _Reply(200, batch)

    def _poll_batch(self, batch_id: str) -> _Reply:
        now = int(time.time())
        with self._lock:  # decide under the lock so concurrent polls run a batch only once
            batch = self.batches.get(batch_id)
            if batch is None:
                return _Reply(404, error_body(404, f"No such Batch object: {batch_id}"))
            self._batch_polls[batch_id] += 1
            run = False
            if batch["status"] == "cancelling":
                batch.update(status="cancelled", cancelled_at=now)
            elif batch["status"] in ("validating", "in_progress"):
                batch["in_progress_at"] = batch.get("in_progress_at") or now
                if self._batch_polls[batch_id] < self.batch_polls_until_done:
                    batch["status"] = "in_progress"
                else:
                    batch.update(status="finalizing", finalizing_at=now)
                    run = True
        if run:
            self._run_batch(batch)
        return _Reply(200, dict(batch))

    def _run_batch(self, batch: dict[str, Any]) -> None:
        """Answer every input line from the script; errors go to the error file, as OpenAI does."""
        data = self.files[batch["input_file_id"]]["data"].decode("utf-8")
        ok: list[str] = []
        failed: list[str] = []
        for line in data.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            reply = self._chat_reply(item.get("body", {}))
            out: dict[str, Any] = {
                "id": self._new_id("batch_req"),
                "custom_id": item.get("custom_id"),
                "error": None,
            }
            if reply.drop:
                out["response"] = None
                out["error"] = {"code": "server_error", "message": "FakeOpenAI dropped request"}
            else:
                out["response"] = {
                    "status_code": reply.status,
                    "request_id": self._new_id("req"),
                    "body": reply.body,
                }
            (ok if reply.status == 200 and not reply.drop else failed).append(json.dumps(out))
        now = int(time.time())
        if ok:
            meta = self._store_file(
                "batch_output.jsonl", "batch_output", ("\n".join(ok) + "\n").encode()
            )
            batch["output_file_id"] = meta["id"]
        if failed:
            meta = self._store_file(
                "batch_errors.jsonl", "batch_output", ("\n".join(failed) + "\n").encode()
            )
            batch["error_file_id"] = meta["id"]
        batch["request_counts"] = {
            "total": len(ok) + len(failed),
            "completed": len(ok),
            "failed": len(failed),
        }
        batch.update(status="completed", completed_at=now)

    def _cancel_batch(self, batch_id: str) -> _Reply:
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return _Reply(404, error_body(404, f"No such Batch object: {batch_id}"))
            if batch["status"] in ("validating", "in_progress"):
                batch.update(status="cancelling", cancelling_at=int(time.time()))
            return _Reply(200, dict(batch))

    # -- routing ---------------------------------------------------------------------------

    def _route(self, method: str, path: str, headers: Any, raw: bytes) -> _Reply:
        path = path.split("?", 1)[0].rstrip("/")
        if path != "/v1/chat/completions" and (failure := self._control_failure(method, path)):
            return failure
        try:
            if method == "POST" and path == "/v1/chat/completions":
                with self._lock:
                    self.authorizations.append(headers.get("Authorization"))
                return self._chat_reply(json.loads(raw or b"{}"))
            if method == "POST" and path == "/v1/files":
                filename, purpose, data = _parse_upload(headers.get("Content-Type", ""), raw)
                return _Reply(200, self._store_file(filename, purpose, data))
            if method == "POST" and path == "/v1/batches":
                return self._create_batch(json.loads(raw or b"{}"))
            if method == "GET" and path == "/v1/batches":
                data = [dict(b) for b in self.batches.values()]
                return _Reply(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "has_more": False,
                        "first_id": data[0]["id"] if data else None,
                        "last_id": data[-1]["id"] if data else None,
                    },
                )
            if (m := re.fullmatch(r"/v1/batches/([^/]+)", path)) and method == "GET":
                return self._poll_batch(m[1])
            if (m := re.fullmatch(r"/v1/batches/([^/]+)/cancel", path)) and method == "POST":
                return self._cancel_batch(m[1])
            if m := re.fullmatch(r"/v1/files/([^/]+)(/content)?", path):
                stored = self.files.get(m[1])
                if stored is None:
                    return _Reply(404, error_body(404, f"No such File object: {m[1]}"))
                if method == "GET" and m[2]:
                    return _Reply(200, raw=stored["data"])
                if method == "GET":
                    return _Reply(200, stored["meta"])
        except (ValueError, KeyError) as exc:
            return _Reply(400, error_body(400, f"FakeOpenAI could not parse request: {exc}"))
        return _Reply(404, error_body(404, f"FakeOpenAI has no route for {method} {path}"))

    def _control_failure(self, method: str, path: str) -> _Reply | None:
        call = f"{method} {path}"
        with self._lock:
            for prefix, left in self.control_failures.items():
                if left > 0 and call.startswith(prefix):
                    self.control_failures[prefix] = left - 1
                    self.control_failed.append(call)
                    body = error_body(503, f"FakeOpenAI injected failure: {call}")
                    return _Reply(503, body, headers={"retry-after-ms": "10"})
        return None


def _tool_name(request: dict[str, Any]) -> str:
    choice = request.get("tool_choice")
    if isinstance(choice, dict) and choice.get("function", {}).get("name"):
        return choice["function"]["name"]
    tools = request.get("tools") or []
    if tools:
        return tools[0].get("function", {}).get("name", "tool")
    return "tool"


def _parse_upload(content_type: str, raw: bytes) -> tuple[str, str, bytes]:
    """Pull (filename, purpose, bytes) out of a multipart/form-data upload."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    if not msg.is_multipart():
        raise ValueError("expected multipart/form-data")
    filename, purpose, data = "upload.jsonl", "batch", b""
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name == "file":
            filename = part.get_filename() or filename
            data = part.get_payload(decode=True) or b""
        elif name == "purpose":
            purpose = (part.get_payload(decode=True) or b"").decode()
    return filename, purpose, data


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the default backlog of 5 stalls bursts of concurrent connects


class _Handler(BaseHTTPRequestHandler):
    owner: FakeOpenAI
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls

    def setup(self) -> None:
        super().setup()
        with self.owner._lock:
            self.owner._conns.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.owner._lock:
                self.owner._conns.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        reply = self.owner._route(method, self.path, self.headers, raw)
        wait = self.owner.latency + reply.delay
        if wait > 0 and self.owner._stop.wait(wait):
            reply = _Reply(503, error_body(503, "FakeOpenAI is shutting down"))
        if reply.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply.raw is not None:
            payload, ctype = reply.raw, reply.content_type
        else:
            payload, ctype = json.dumps(reply.body).encode(), "application/json"
        self.send_response(reply.status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        try:
            if reply.truncate:
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif reply.drip > 0:
                for i in range(len(payload)):
                    if self.owner._stop.wait(reply.drip):
                        break
                    self.wfile.write(payload[i : i + 1])
                    self.wfile.flush()
            else:
                self.wfile.write(payload)
        except OSError:  # client gave up (timeout); nothing to tell it
            self.close_connection = True
