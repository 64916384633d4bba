"""Issue 12: hostile input, outputs, caches, signals and operators. Each test reproduces a
failure that was seen (data loss, a traceback, a whole run aborted) and shows it is gone.

Model calls go to the offline baseline or the scripted fake server on loopback.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import sys
import tomllib
from pathlib import Path

import diskcache
import pytest
from conftest import DATA, ROOT, SEEDS, read_jsonl, scripted
from fake_openai import Step

from extractor.model.cache import ResponseCache

HOSTILE = DATA / "hostile" / "hostile.jsonl"
SEED = SEEDS / "000_bc9a927a736966c8.txt"
ANSWER = Step(content=scripted("answer_000.json"))  # scripted test data, not a model's answer


def said(result) -> str:
    """stderr with rich's line wrapping undone."""
    return " ".join(result.stderr.split())


def articles_jsonl(path: Path, ids: list[str]) -> Path:
    text = SEED.read_text(encoding="utf-8")[:400]
    path.write_text(
        "".join(json.dumps({"id": i, "text": text}, ensure_ascii=False) + "\n" for i in ids),
        encoding="utf-8",
    )
    return path


# --- 1: an output that is an input ----------------------------------------------------------


@pytest.mark.parametrize("spelling", ["same", "dot-slash", "symlink", "hard link"])
def test_extract_refuses_an_output_that_is_an_input(tmp_path, monkeypatch, cli, spelling):
    monkeypatch.chdir(tmp_path)
    src = articles_jsonl(tmp_path / "s.jsonl", ["a1", "a2"])
    before = src.read_bytes()
    out = {"same": "s.jsonl", "dot-slash": "./s.jsonl"}.get(spelling, "link.jsonl")
    if spelling == "symlink":
        os.symlink(src, tmp_path / out)
    elif spelling == "hard link":
        os.link(src, tmp_path / out)
    result = cli("extract", "s.jsonl", "--out", out)
    assert result.exit_code == 2
    assert "is also an input" in said(result) and "choose another --out" in said(result)
    assert src.read_bytes() == before


def test_extract_refuses_an_output_inside_an_input_folder(tmp_path, cli):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SEED, folder / "a.txt")
    result = cli("extract", folder, "--out", folder / "out.jsonl")
    assert result.exit_code == 2 and "is also an input" in said(result)
    assert not (folder / "out.jsonl").exists()
    # a name the folder walk skips is fine
    ok = cli("extract", folder, "--out", folder / ".out.jsonl")
    assert ok.exit_code == 0, ok.stderr
    assert [line["article_id"] for line in read_jsonl(folder / ".out.jsonl")] == ["a"]


@pytest.mark.parametrize("flag", [None, "--resume", "--overwrite"])
def test_batch_refuses_an_output_that_is_an_input(tmp_path, cli, flag):
    src = articles_jsonl(tmp_path / "s.jsonl", ["a1", "a2"])
    before = src.read_bytes()
    result = cli("batch", src, "--out", tmp_path / "." / "s.jsonl", *([flag] if flag else []))
    assert result.exit_code == 2
    assert "is also an input" in said(result)
    assert src.read_bytes() == before


def test_resume_refuses_to_repair_a_file_that_is_not_our_output(tmp_path, cli):
    src = articles_jsonl(tmp_path / "s.jsonl", ["a1", "a2"])
    other = articles_jsonl(tmp_path / "other.jsonl", ["x1", "x2"])  # JSONL, but articles
    other.write_bytes(other.read_bytes() + b'{"id": "x3", "te')  # and a torn-looking tail
    before = other.read_bytes()
    result = cli("batch", src, "--out", other, "--resume")
    assert result.exit_code == 2
    assert f"line 1 of {other} is not a result line" in said(result)
    assert other.read_bytes() == before


def test_resume_refuses_a_file_that_is_one_line_of_something_else(tmp_path, cli):
    src = articles_jsonl(tmp_path / "s.jsonl", ["a1"])
    other = tmp_path / "notes.jsonl"
    other.write_bytes(b"meeting notes, no newline at the end")
    result = cli("batch", src, "--out", other, "--resume")
    assert result.exit_code == 2 and "cut short" in said(result)
    assert other.read_bytes() == b"meeting notes, no newline at the end"


# --- 3: one hostile line or file name costs that item only ----------------------------------


def hostile_ids() -> list[str]:
    where = f"{HOSTILE}:"
    return ["ok-1", f"{where}2", f"{where}3", "surrogate-text", f"{where}5", f"{where}6"]


def test_hostile_lines_each_end_as_their_own_error_line(tmp_path, cli):
    out = tmp_path / "out.jsonl"
    result = cli("extract", HOSTILE, "--out", out)
    assert result.exit_code == 1, result.stderr
    lines = read_jsonl(out)
    assert [line["article_id"] for line in lines] == [*hostile_ids(), "nul", "ok-2"]
    errors = {line["article_id"]: line["error"] for line in lines}
    assert errors["ok-1"] is None and errors["ok-2"] is None
    where = f"{HOSTILE}:"
    assert "nested too deeply" in errors[f"{where}2"]["message"]
    assert "lone surrogate" in errors[f"{where}3"]["message"]
    assert "lone surrogate" in errors["surrogate-text"]["message"]
    assert '"id" true' in errors[f"{where}5"]["message"]  # not read as "True"
    assert "is not JSON" in errors[f"{where}6"]["message"]  # a 5,000-digit id
    assert "NUL" in errors["nul"]["message"]
    assert all(e["kind"] == "input" for e in errors.values() if e)


def test_batch_over_hostile_lines_finishes_and_resumes(tmp_path, cli):
    out = tmp_path / "out.jsonl"
    first = cli("batch", HOSTILE, "--out", out)
    assert first.exit_code == 1, first.stderr
    assert "articles: 8 (2 ok, 6 failed: 6 input)" in said(first)
    again = cli("batch", HOSTILE, "--out", out, "--resume")
    assert again.exit_code == 1, again.stderr
    assert "2 articles already done, 6 to run" in said(again)
    ids = [line["article_id"] for line in read_jsonl(out)]
    assert sorted(ids) == sorted([*hostile_ids(), "nul", "ok-2"])


def test_a_file_name_that_is_not_utf8_is_an_error_line(tmp_path, cli):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SEED, folder / "a.txt")
    shutil.copy(SEED, Path(os.fsdecode(bytes(folder) + b"/caf\xe9.txt")))
    out = tmp_path / "out.jsonl"
    result = cli("extract", folder, "--out", out)
    assert result.exit_code == 1, result.stderr
    good, bad = read_jsonl(out)  # sorted by name
    assert (good["article_id"], good["error"]) == ("a", None)
    assert bad["article_id"] == "caf\\xe9"
    message = bad["error"]["message"]
    assert "file name is not UTF-8" in message and "rename" in message
    resumed = cli("batch", folder, "--out", out, "--resume")
    assert resumed.exit_code == 1 and "1 articles already done, 1 to run" in said(resumed)


# --- 6: HTML input when the HTML reader's parts are missing ---------------------------------


def test_pyproject_declares_the_html_cleaner():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(dep.startswith("lxml_html_clean") for dep in project["dependencies"])


def test_a_broken_html_reader_costs_the_html_articles_only(tmp_path, monkeypatch, cli):
    # as in a fresh install without lxml_html_clean: importing trafilatura raises ImportError
    for name in list(sys.modules):
        if name.split(".")[0] in {"trafilatura", "justext", "lxml_html_clean"}:
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "lxml_html_clean", None)
    monkeypatch.setitem(sys.modules, "lxml.html.clean", None)
    out = tmp_path / "out.jsonl"
    result = cli("extract", DATA / "articles" / "page.html", SEED, "--out", out)
    assert result.exit_code == 1, result.stderr
    page, seed = read_jsonl(out)
    assert seed["error"] is None
    assert page["error"]["kind"] == "input"
    message = page["error"]["message"]
    assert "pip install" in message and "lxml_html_clean" in message


# --- 7, 8: a corrupt, full or poisoned cache ------------------------------------------------


def cached_run(cli, server, tmp_path, name: str):
    out = tmp_path / f"{name}.jsonl"
    args = ["extract", SEED, "-m", "openai:m", "--base-url", server.base_url]
    return cli(*args, "--cache", tmp_path / "c", "--out", out), read_jsonl(out)


def test_a_corrupt_cache_is_a_warning_and_cache_clear_rebuilds_it(fake, tmp_path, cli, caplog):
    cache = tmp_path / "c"
    cache.mkdir()
    (cache / "cache.db").write_bytes(b"this is not an SQLite database\n" * 200)
    with fake(default=ANSWER) as server:
        result, lines = cached_run(cli, server, tmp_path, "a")
        assert result.exit_code == 0, result.stderr
        assert "is unusable" in caplog.text and "cache clear" in caplog.text
        assert lines[0]["error"] is None and len(server.requests) == 1
        assert cli("cache", "stats", "--cache", cache).exit_code == 1
        cleared = cli("cache", "clear", "--cache", cache)
        assert cleared.exit_code == 0 and "rebuilt the damaged cache" in said(cleared)
        for name in ("b", "c"):  # the rebuilt cache works again: the second run is a hit
            result, lines = cached_run(cli, server, tmp_path, name)
            assert result.exit_code == 0, result.stderr
        assert len(server.requests) == 2 and lines[0]["usage"]["cached"] == 1


def test_a_full_cache_is_a_warning_not_a_crash(tmp_path, caplog):
    cache = ResponseCache(tmp_path)
    con = cache._cache._con  # SQLITE_FULL, as on a full disk: no page may be added
    (pages,) = con.execute("PRAGMA page_count").fetchone()
    con.execute(f"PRAGMA max_page_count = {pages}")
    with caplog.at_level(logging.WARNING):
        cache.set("k1", {"choices": [], "filler": "x" * 20000})
        cache.set("k2", {"choices": [], "filler": "y" * 20000})
    assert cache.get("k1") is None
    assert caplog.text.count("not caching") == 1  # once per run, not once per answer
    assert "full" in caplog.text


class _Planted:
    """A pickle that runs a shell command when loaded: what an attacker would plant."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_planted_pickle_in_the_cache_never_runs(fake, tmp_path, cli, caplog):
    marker = tmp_path / "pwned"
    with fake(default=ANSWER) as server:
        first, _ = cached_run(cli, server, tmp_path, "a")
        assert first.exit_code == 0, first.stderr
        with diskcache.Cache(str(tmp_path / "c")) as plain:  # diskcache's default: pickles
            keys = list(plain)
            assert len(keys) == 1
            plain.set(keys[0], _Planted(marker))
        second, lines = cached_run(cli, server, tmp_path, "b")
        assert len(server.requests) == 2  # a miss: asked again
    assert not marker.exists()
    assert second.exit_code == 0 and lines[0]["error"] is None
    assert "not JSON text" in caplog.text


def test_cache_folder_and_database_are_owner_only(fake, tmp_path, cli):
    with fake(default=ANSWER) as server:
        result, _ = cached_run(cli, server, tmp_path, "a")
    assert result.exit_code == 0
    assert stat.S_IMODE((tmp_path / "c").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "c" / "cache.db").stat().st_mode) == 0o600
