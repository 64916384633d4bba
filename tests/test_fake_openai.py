"""The scripted fake server must look like OpenAI to the real `openai` client."""

from __future__ import annotations

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest
from fake_openai import FakeOpenAI, Step
from openai.types.chat import ChatCompletion

DATA = Path(__file__).parent / "data" / "fake_openai"
MESSAGES = [{"role": "user", "content": "Hallo"}]
TOOL = {
    "type": "function",
    "function": {"name": "Extraction", "parameters": {"type": "object", "properties": {}}},
}


def client_for(fake: FakeOpenAI, timeout: float = 5.0) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.base_url, api_key="test", max_retries=0, timeout=timeout)


def chat(client: openai.OpenAI, **kwargs: object) -> ChatCompletion:
    return client.chat.completions.create(model="gpt-fake", messages=MESSAGES, **kwargs)


def test_scripted_content_reaches_client_and_request_is_recorded() -> None:
    with FakeOpenAI([Step(content="Antwort eins")]) as fake:
        result = chat(client_for(fake), temperature=0)
    assert result.choices[0].message.content == "Antwort eins"
    assert result.choices[0].finish_reason == "stop"
    assert result.model == "gpt-fake"
    assert result.usage is not None and result.usage.total_tokens == 120
    assert fake.requests == [{"model": "gpt-fake", "messages": MESSAGES, "temperature": 0}]


def test_tool_call_step_names_the_requested_tool() -> None:
    with FakeOpenAI([Step(tool_arguments='{"x": 1}')]) as fake:
        result = chat(
            client_for(fake),
            tools=[TOOL],
            tool_choice={"type": "function", "function": {"name": "Extraction"}},
        )
    call = result.choices[0].message.tool_calls[0]
    assert call.function.name == "Extraction"
    assert json.loads(call.function.arguments) == {"x": 1}
    assert result.choices[0].finish_reason == "tool_calls"


def test_rate_limit_carries_retry_after_header() -> None:
    step = Step(status=429, headers={"Retry-After": "1"})
    with FakeOpenAI([step]) as fake, pytest.raises(openai.RateLimitError) as caught:
        chat(client_for(fake))
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.status_code == 429


def test_server_error_step() -> None:
    with FakeOpenAI([Step(status=500)]) as fake, pytest.raises(openai.InternalServerError):
        chat(client_for(fake))


def test_exhausted_script_answers_500_saying_so() -> None:
    with FakeOpenAI([]) as fake, pytest.raises(openai.InternalServerError) as caught:
        chat(client_for(fake))
    assert "script ran out" in str(caught.value)


def test_default_answers_after_script() -> None:
    with FakeOpenAI([Step(content="a")], default=Step(content="d")) as fake:
        client = client_for(fake)
        answers = [chat(client).choices[0].message.content for _ in range(3)]
    assert answers == ["a", "d", "d"]


def test_dropped_connection_is_a_connection_error() -> None:
    with FakeOpenAI([Step(drop=True)]) as fake, pytest.raises(openai.APIConnectionError) as caught:
        chat(client_for(fake))
    assert not isinstance(caught.value, openai.APITimeoutError)


def test_delay_beyond_client_timeout_times_out_and_server_stops_promptly() -> None:
    started = time.monotonic()
    with (
        FakeOpenAI([Step(content="late", delay=3.0)]) as fake,
        pytest.raises(openai.APITimeoutError),
    ):
        chat(client_for(fake, timeout=0.2))
    assert time.monotonic() - started < 2.0


def test_fail_every_injects_500_without_consuming_a_step() -> None:
    with FakeOpenAI([Step(content="1"), Step(content="2")], fail_every=2) as fake:
        client = client_for(fake)
        first = chat(client).choices[0].message.content
        with pytest.raises(openai.InternalServerError):
            chat(client)
        third = chat(client).choices[0].message.content
    assert (first, third) == ("1", "2")


def test_parallel_requests_are_served_concurrently() -> None:
    with FakeOpenAI(default=Step(content="ok"), latency=0.3) as fake:
        client = client_for(fake)
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: chat(client), range(8)))
        elapsed = time.monotonic() - started
    assert len(fake.requests) == 8
    assert {r.choices[0].message.content for r in results} == {"ok"}
    assert elapsed < 1.2  # serial would take 2.4 s


def test_keep_alive_requests_do_not_stall() -> None:
    """Separate header/body writes plus Nagle's algorithm cost 40 ms per request; a bench
    measuring throughput against this server would then measure the server, not our code."""
    with FakeOpenAI(default=Step(content="ok")) as fake:
        host, port = fake.base_url.removeprefix("http://").removesuffix("/v1").split(":")
        conn = http.client.HTTPConnection(host, int(port))
        body = json.dumps({"model": "m", "messages": MESSAGES})
        started = time.monotonic()
        for _ in range(50):
            conn.request("POST", "/v1/chat/completions", body)
            assert conn.getresponse().read()
        elapsed = time.monotonic() - started
        conn.close()
    assert elapsed < 1.0  # with the stall: >= 2 s


def test_from_file_loads_steps_and_default() -> None:
    with FakeOpenAI.from_file(DATA / "script.json") as fake:
        client = client_for(fake)
        with pytest.raises(openai.RateLimitError):
            chat(client)
        second = chat(client)
        third = chat(client, tools=[TOOL])
        fourth = chat(client)
    assert second.choices[0].message.content == '{"events": []}'
    assert second.usage is not None and second.usage.total_tokens == 10
    assert third.choices[0].finish_reason == "length"
    assert third.choices[0].message.tool_calls[0].function.name == "Extraction"
    assert fourth.choices[0].message.content == "default answer"


def test_from_file_rejects_unknown_step_fields(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"steps": [{"contnet": "typo"}]}')
    with pytest.raises(ValueError, match="contnet"):
        FakeOpenAI.from_file(path)


def _run_batch(fake: FakeOpenAI) -> tuple[openai.OpenAI, list[str], openai.types.Batch]:
    client = client_for(fake)
    with (DATA / "batch_input.jsonl").open("rb") as handle:
        uploaded = client.files.create(file=handle, purpose="batch")
    assert uploaded.purpose == "batch"
    assert uploaded.bytes == (DATA / "batch_input.jsonl").stat().st_size
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    statuses = [batch.status]
    while batch.status not in ("completed", "failed", "cancelled"):
        batch = client.batches.retrieve(batch.id)
        statuses.append(batch.status)
    return client, statuses, batch


def test_batch_round_trip_answers_lines_in_order_from_the_script() -> None:
    steps = [Step(content="eins"), Step(content="zwei"), Step(content="drei")]
    with FakeOpenAI(steps) as fake:
        client, statuses, batch = _run_batch(fake)
        output = client.files.content(batch.output_file_id).text
    assert statuses == ["validating", "in_progress", "completed"]
    assert batch.request_counts is not None and batch.request_counts.completed == 3
    assert batch.error_file_id is None
    lines = [json.loads(line) for line in output.splitlines()]
    assert [line["custom_id"] for line in lines] == ["article-1", "article-2", "article-3"]
    assert all(line["response"]["status_code"] == 200 for line in lines)
    bodies = [ChatCompletion.model_validate(line["response"]["body"]) for line in lines]
    assert [b.choices[0].message.content for b in bodies] == ["eins", "zwei", "drei"]
    assert [r["messages"][0]["content"] for r in fake.requests][-1] == "Artikel drei"


def test_batch_failed_lines_go_to_error_file() -> None:
    steps = [Step(content="eins"), Step(status=500), Step(content="drei")]
    with FakeOpenAI(steps, batch_polls_until_done=1) as fake:
        client, statuses, batch = _run_batch(fake)
        output = client.files.content(batch.output_file_id).text
        errors = client.files.content(batch.error_file_id).text
    assert statuses == ["validating", "completed"]
    assert batch.request_counts is not None
    assert (batch.request_counts.completed, batch.request_counts.failed) == (2, 1)
    assert [json.loads(x)["custom_id"] for x in output.splitlines()] == ["article-1", "article-3"]
    [error] = [json.loads(x) for x in errors.splitlines()]
    assert error["custom_id"] == "article-2"
    assert error["response"]["status_code"] == 500


def test_batch_cancel_then_poll_reports_cancelled() -> None:
    with FakeOpenAI([]) as fake:
        client = client_for(fake)
        uploaded = client.files.create(
            file=(DATA / "batch_input.jsonl").read_bytes(), purpose="batch"
        )
        batch = client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        cancelling = client.batches.cancel(batch.id)
        polled = client.batches.retrieve(batch.id)
        listed = client.batches.list()
    assert cancelling.status == "cancelling"
    assert polled.status == "cancelled"
    assert polled.output_file_id is None
    assert [b.id for b in listed.data] == [batch.id]
    assert fake.requests == []


def test_unknown_batch_is_not_found() -> None:
    with FakeOpenAI([]) as fake, pytest.raises(openai.NotFoundError):
        client_for(fake).batches.retrieve("batch-missing")
