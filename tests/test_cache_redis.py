"""The Redis response cache, against a real Redis server on loopback (see tests/redis_server.py),
and the scripted fake model server (its answers are SCRIPTED test data, not model output)."""

from __future__ import annotations

import logging
import pickle

import pytest
from conftest import SEEDS, read_jsonl, scripted
from fake_openai import Step

from extractor.model.cache import ResponseCache, open_cache
from extractor.model.cache_redis import PREFIX, RedisCache

SEED = SEEDS / "000_bc9a927a736966c8.txt"
pytestmark = pytest.mark.slow  # starts a redis-server


@pytest.fixture
def cache(redis_url):
    cache = open_cache(redis_url)
    cache.clear()
    yield cache
    cache.clear()
    cache.close()


def test_open_cache_picks_the_backend_by_location(cache, tmp_path):
    assert isinstance(cache, RedisCache)
    disk = open_cache(tmp_path / "c")
    assert isinstance(disk, ResponseCache)
    disk.close()


def test_values_are_json_text_and_round_trip(cache):
    answer = {"choices": [{"message": {"content": "ü"}}], "usage": {"total_tokens": 3}}
    cache.set("k1", answer)
    assert cache.get("k1") == answer
    assert cache.get("missing") is None
    raw = cache._client.get(PREFIX + "k1")
    assert (
        raw.decode("utf-8")
        == '{"choices":[{"message":{"content":"ü"}}],"usage":{"total_tokens":3}}'
    )
    assert cache.stats()["entries"] == 1


@pytest.mark.parametrize(
    "raw",
    [b"\x80\x04not json", pickle.dumps({"choices": []}), b'{"no": "choices"}', b"[1, 2]"],
)
def test_a_value_that_is_not_json_is_a_miss_with_a_warning(cache, caplog, raw):
    cache._client.set(PREFIX + "bad", raw)
    with caplog.at_level(logging.WARNING):
        assert cache.get("bad") is None
    assert "not JSON" in caplog.text
    assert cache._client.get(PREFIX + "bad") is None  # removed: the next run fetches it again


def test_clear_removes_only_our_keys(cache):
    cache.set("a", {"choices": []})
    cache._client.set("someone-else", b"x")
    try:
        assert cache.clear() == 1
        assert cache._client.get("someone-else") == b"x"
    finally:
        cache._client.delete("someone-else")


def test_unreachable_server_is_a_usage_error(cli, tmp_path, fake):
    with fake() as server:
        result = cli(
            "extract", SEED, "--model", "openai:m", "--base-url", server.base_url,
            "--cache", "redis://127.0.0.1:9/0", "--out", tmp_path / "o.jsonl",
        )  # fmt: skip
        assert server.requests == []
    assert result.exit_code == 2
    assert "cannot use the Redis cache at redis://127.0.0.1:9/0" in result.stderr


def test_second_run_on_another_machine_makes_no_request(cache, redis_url, fake, tmp_path, cli):
    """Two runs with separate local state share only the Redis URL: the second is all hits."""
    with fake(default=Step(content=scripted("answer_000.json"))) as server:
        args = ["extract", SEED, "--model", "openai:m", "--base-url", server.base_url]
        first = cli(*args, "--cache", redis_url, "--out", tmp_path / "a.jsonl")
        second = cli(*args, "--cache", redis_url, "--out", tmp_path / "b.jsonl")
        assert len(server.requests) == 1
    assert first.exit_code == second.exit_code == 0, first.stderr + second.stderr
    a, b = read_jsonl(tmp_path / "a.jsonl")[0], read_jsonl(tmp_path / "b.jsonl")[0]
    assert a["usage"]["cached"] == 0 and b["usage"]["cached"] == 1
    assert a["figures"] == b["figures"]
    assert cache.stats()["entries"] == 1
    assert not (tmp_path / "cache").exists()  # the per-user diskcache was not used


def test_cache_commands_take_a_redis_url(cache, redis_url, cli):
    cache.set("k", {"choices": []})
    stats = cli("cache", "stats", "--cache", redis_url)
    assert f"{redis_url}: 1 responses" in stats.stderr
    cleared = cli("cache", "clear", "--cache", redis_url)
    assert "removed 1" in cleared.stderr
    assert cache.get("k") is None
