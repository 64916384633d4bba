"""Response cache and replay recordings, against the scripted fake server on loopback."""

from __future__ import annotations

import json
import logging
import multiprocessing

import diskcache
import pytest
from conftest import SEEDS, read_jsonl, scripted
from fake_openai import Step

from extractor import extract
from extractor.model.cache import ReplayStore, ResponseCache, request_key

SEED = SEEDS / "000_bc9a927a736966c8.txt"
TEXT = SEED.read_text(encoding="utf-8")
REQUEST = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0}


def extract_args(base_url: str) -> list[object]:
    """`extractor extract` on seed 000 with an OpenAI-compatible model at `base_url`."""
    return ["extract", SEED, "--model", "openai:m", "--base-url", base_url]


def test_second_identical_run_makes_no_request(fake, tmp_path, cli):
    with fake(default=Step(content=scripted("answer_000.json"))) as server:
        args = extract_args(server.base_url)
        first = cli(*args, "--out", tmp_path / "a.jsonl", "--cache", tmp_path / "c")
        second = cli(*args, "--out", tmp_path / "b.jsonl", "--cache", tmp_path / "c")
        assert len(server.requests) == 1
    assert first.exit_code == second.exit_code == 0
    a, b = read_jsonl(tmp_path / "a.jsonl")[0], read_jsonl(tmp_path / "b.jsonl")[0]
    assert a["usage"]["cached"] == 0 and b["usage"]["cached"] == 1
    assert a["usage"]["cost_usd"] == b["usage"]["cost_usd"] == 0
    assert a["figures"] == b["figures"]
    assert "(1 cached)" in second.stderr


def test_key_ignores_json_key_order_and_api_key(fake, monkeypatch):
    reordered = {"temperature": 0, "messages": REQUEST["messages"], "model": "m"}
    base = {"provider": "openai", "mode": "json_schema_mode", "prompt": "p@1"}
    assert request_key(**base, request=REQUEST) == request_key(**base, request=reordered)
    with fake(Step(content=scripted("answer_000.json"))) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "key-one")
        extract(TEXT, "openai:m", base_url=server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "key-two")
        extract(TEXT, "openai:m", base_url=server.base_url)  # would 500 if it asked again
        assert len(server.requests) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"prompt": "p@2"},
        {"mode": "tool_call"},
        {"provider": "local"},
        {"request": {**REQUEST, "temperature": 0.7}},
        {"request": {**REQUEST, "response_format": {"type": "json_schema", "json_schema": {}}}},
        {"request": {**REQUEST, "model": "other"}},
    ],
)
def test_key_changes_with_what_changes_the_answer(change):
    base = {"provider": "openai", "mode": "json_schema_mode", "prompt": "p@1", "request": REQUEST}
    assert request_key(**base) != request_key(**{**base, **change})


def _writer(directory: str, worker: int) -> None:
    cache = ResponseCache(directory)
    for i in range(40):
        cache.set(f"k{worker}-{i}", {"choices": [], "worker": worker, "i": i})
    cache.close()


@pytest.mark.slow
def test_concurrent_writers_from_several_processes(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    cache = ResponseCache(tmp_path)
    assert cache.stats()["entries"] == 160
    assert cache.get("k3-39") == {"choices": [], "worker": 3, "i": 39}


def test_corrupt_entry_is_a_miss_with_a_warning(tmp_path, caplog):
    cache = ResponseCache(tmp_path)
    with diskcache.Cache(str(tmp_path)) as plain:  # as a damaged or foreign entry lands there
        plain.set("bad", b"\x00not json")
        plain.set("wrong", json.dumps({"no": "choices"}))
    with caplog.at_level(logging.WARNING):
        assert cache.get("bad") is None
        assert cache.get("wrong") is None
    assert "not JSON text" in caplog.text and "corrupt" in caplog.text
    assert cache.stats()["entries"] == 0  # removed, so the next run re-fetches cleanly


def test_record_then_replay_offline(fake, tmp_path, cli):
    rec = tmp_path / "replay"
    with fake(Step(content=scripted("answer_000.json"))) as server:
        run = extract_args(server.base_url)
        recorded = cli(*run, "--no-cache", "--record", rec, "--out", tmp_path / "a.jsonl")
    assert recorded.exit_code == 0
    files = list(rec.glob("*.json"))
    assert len(files) == 1
    entry = json.loads(files[0].read_text(encoding="utf-8"))
    assert entry["article_id"] == SEED.stem and entry["request"]["messages"]
    # the server is gone: replay must not try to connect
    replayed = cli(*run, "--replay", rec, "--out", tmp_path / "b.jsonl")
    assert replayed.exit_code == 0, replayed.stderr
    a, b = read_jsonl(tmp_path / "a.jsonl")[0], read_jsonl(tmp_path / "b.jsonl")[0]
    assert a["figures"] == b["figures"] and b["usage"]["cached"] == 1


def test_replay_miss_is_an_error_record_naming_the_request(fake, tmp_path, cli):
    with fake() as server:
        result = cli(
            *extract_args(server.base_url),
            "--replay",
            tmp_path / "empty",
            "--out",
            tmp_path / "o.jsonl",
        )
        assert server.requests == []  # never connected
    assert result.exit_code == 1
    line = read_jsonl(tmp_path / "o.jsonl")[0]
    assert line["error"]["kind"] == "replay_miss"
    for part in ("openai:m", "extract-v1@", SEED.stem):
        assert part in line["error"]["message"]


def test_prompt_change_makes_recordings_visible_misses(tmp_path):
    store = ReplayStore(tmp_path)
    describe = {"model": "openai:m", "prompt": "extract-v1@old", "article_id": "a1"}
    store.save("k-old", describe=describe, request=REQUEST, response={"choices": []})
    from extractor.errors import ReplayMissError

    with pytest.raises(ReplayMissError, match="extract-v1@old") as info:
        store.load("k-new", describe={**describe, "prompt": "extract-v1@new"})
    assert "prompt, schema or parameter change" in str(info.value)


def test_cache_commands(tmp_path, cli):
    cache = ResponseCache(tmp_path / "c")
    cache.set("k", {"choices": []})
    cache.close()
    stats = cli("cache", "stats", "--cache", tmp_path / "c")
    assert "1 responses" in stats.stderr
    cleared = cli("cache", "clear", "--cache", tmp_path / "c")
    assert "removed 1" in cleared.stderr
    assert ResponseCache(tmp_path / "c").stats()["entries"] == 0


def test_unusable_cache_dir_is_a_usage_error(tmp_path, cli):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = cli(*extract_args("http://127.0.0.1:9/v1"), "--cache", blocker / "sub")
    assert result.exit_code == 2
    assert "cache directory" in result.stderr
