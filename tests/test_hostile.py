"""Issue 12: hostile input, outputs, caches, signals and operators. Each test reproduces a
failure that was seen (data loss, a traceback, a whole run aborted) and shows it is gone.

Model calls go to the offline baseline or the scripted fake server on loopback.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import diskcache
import pytest
from conftest import DATA, ROOT, SEEDS, read_jsonl, scripted
from fake_openai import Step, error_body

from extractor.articles import LoadFailure, iter_articles, iter_ids, load_article
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


# --- 9, 14: two runs on one output; SIGTERM -------------------------------------------------

BATCH_ARTICLES = DATA / "batch" / "articles.jsonl"  # a1..a20, each the text of seed 000
ALL_IDS = {f"a{i}" for i in range(1, 21)}


#: the real `extractor` command, in a child process (for signals, locks and limits)
CLI = [sys.executable, "-c", "from extractor.cli import main; main()"]


def start_cli(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, *map(str, args)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_lines(out: Path, n: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or out.read_bytes().count(b"\n") < n):
        time.sleep(0.05)
    assert out.read_bytes().count(b"\n") >= n, "the child wrote too little in 60 s"


def model_args(server) -> list[str]:
    return ["--model", "openai:test-model", "--base-url", server.base_url, "--no-cache"]


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="flock and SIGKILL are POSIX")
def test_a_second_batch_on_one_output_is_refused_naming_the_holder(fake, tmp_path, cli):
    out = tmp_path / "out.jsonl"
    with fake(default=ANSWER, latency=0.2) as server:
        child = start_cli(
            "batch", BATCH_ARTICLES, "--out", out, "--concurrency", "1", *model_args(server)
        )
        wait_for_lines(out, 2)
        second = cli("batch", BATCH_ARTICLES, "--out", out, "--resume", *model_args(server))
        assert second.exit_code == 2
        assert f"being written by another run (pid {child.pid}" in said(second)
        child.send_signal(signal.SIGKILL)  # a crash: the kernel drops its lock
        child.communicate(timeout=30)
        assert (tmp_path / "out.jsonl.lock").exists()  # left behind, but stale
        third = cli("batch", BATCH_ARTICLES, "--out", out, "--resume", *model_args(server))
    assert third.exit_code == 0, third.stderr
    ids = [line["article_id"] for line in read_jsonl(out)]
    assert sorted(ids) == sorted(ALL_IDS) and len(ids) == len(set(ids))
    assert not (tmp_path / "out.jsonl.lock").exists()  # released on exit


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="needs SIGTERM")
@pytest.mark.parametrize("command", ["batch", "extract"])
def test_sigterm_reports_like_ctrl_c_and_exits_143(fake, tmp_path, cli, command):
    out = tmp_path / "out.jsonl"
    with fake(default=ANSWER, latency=0.2) as server:
        child = start_cli(command, BATCH_ARTICLES, "--out", out, *model_args(server))
        wait_for_lines(out, 3)
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=30)
        done = len(read_jsonl(out))
        resumed = cli("batch", BATCH_ARTICLES, "--out", out, "--resume", *model_args(server))
    assert child.returncode == 143, stderr
    assert f"articles: {done} ({done} ok, 0 failed)" in stderr
    assert "--resume" in " ".join(stderr.split())
    assert resumed.exit_code == 0 and f"{done} articles already done" in said(resumed)
    assert sorted(line["article_id"] for line in read_jsonl(out)) == sorted(ALL_IDS)


# --- 13: usage errors up front, unwritable and full outputs ---------------------------------


@pytest.mark.parametrize("command", ["extract", "batch"])
def test_a_missing_api_key_stops_before_any_article(tmp_path, cli, command):
    out = tmp_path / "out.jsonl"
    result = cli(command, BATCH_ARTICLES, "--model", "openai:gpt-4o-mini", "--out", out)
    assert result.exit_code == 2
    assert "OPENAI_API_KEY is not set" in said(result)
    assert not out.exists() or out.read_bytes() == b""


def test_replay_needs_no_api_key(tmp_path, cli):
    out = tmp_path / "out.jsonl"
    args = ["--model", "openai:gpt-4o-mini", "--replay", tmp_path / "none", "--out", out]
    result = cli("extract", SEED, *args)
    assert result.exit_code == 1  # a replay miss for the article, not a missing key
    assert read_jsonl(out)[0]["error"]["kind"] == "replay_miss"


@pytest.mark.parametrize("command", ["extract", "batch"])
def test_an_unknown_mode_lists_the_valid_ones(tmp_path, cli, command):
    result = cli(command, SEED, "--mode", "bogus", "--out", tmp_path / "o.jsonl")
    assert result.exit_code == 2
    assert "unknown --mode 'bogus'" in said(result) and "json_schema" in said(result)


@pytest.mark.parametrize("command", ["extract", "batch"])
def test_an_unwritable_output_is_a_usage_error(tmp_path, cli, command):
    for out in (tmp_path / "no-such-folder" / "o.jsonl", tmp_path):
        result = cli(command, SEED, "--out", out)
        assert result.exit_code == 2, result.stderr
        assert "--out" in said(result)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("command", ["extract", "batch"])
def test_a_full_disk_stops_the_run_with_a_message(tmp_path, cli, command):
    out = tmp_path / "full.jsonl"
    os.symlink("/dev/full", out)  # every write: ENOSPC
    result = cli(command, SEED, "--out", out)
    assert result.exit_code == 2
    assert "No space left on device" in said(result) and "--resume" in said(result)


def _file_size_limit(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails: EFBIG

    return apply


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="needs RLIMIT_FSIZE")
def test_output_filling_up_mid_run_keeps_whole_lines_and_resumes(tmp_path, cli):
    out = tmp_path / "out.jsonl"
    child = subprocess.run(
        [*CLI, "batch", str(BATCH_ARTICLES), "--out", str(out), "--concurrency", "1"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        preexec_fn=_file_size_limit(20_000),  # room for a few lines: the next one is cut
        timeout=120,
    )
    assert child.returncode == 2, child.stderr
    assert "cannot write to" in " ".join(child.stderr.split())
    data = out.read_bytes()
    assert 0 < len(data) <= 20_000 and data.endswith(b"\n")  # the cut line was taken back
    written = read_jsonl(out)
    assert 0 < len(written) < 20
    resumed = cli("batch", BATCH_ARTICLES, "--out", out, "--resume")
    assert resumed.exit_code == 0, resumed.stderr
    assert f"{len(written)} articles already done" in said(resumed)
    assert sorted(line["article_id"] for line in read_jsonl(out)) == sorted(ALL_IDS)


# --- 14: output permissions -----------------------------------------------------------------


def test_outputs_are_owner_only_fresh_resumed_or_overwritten(tmp_path, cli):
    extract_out, batch_out = tmp_path / "e.jsonl", tmp_path / "b.jsonl"
    assert cli("extract", SEED, "--out", extract_out).exit_code == 0
    assert cli("batch", SEED, "--out", batch_out).exit_code == 0
    modes = [stat.S_IMODE(p.stat().st_mode) for p in (extract_out, batch_out)]
    batch_out.chmod(0o644)
    assert cli("batch", SEED, "--out", batch_out, "--resume").exit_code == 0
    modes.append(stat.S_IMODE(batch_out.stat().st_mode))
    batch_out.chmod(0o644)
    assert cli("batch", SEED, "--out", batch_out, "--overwrite").exit_code == 0
    modes.append(stat.S_IMODE(batch_out.stat().st_mode))
    assert modes == [0o600] * 4


# --- 15: decisions --------------------------------------------------------------------------


def test_equal_file_names_in_two_folders_are_refused_as_duplicate_ids(tmp_path, cli):
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        shutil.copy(SEED, tmp_path / folder / "a.txt")
    for command in ("extract", "batch"):
        out = tmp_path / f"{command}.jsonl"
        result = cli(command, tmp_path / "x", tmp_path / "y", "--out", out)
        assert result.exit_code == 2
        assert "duplicate article id 'a'" in said(result) and "equal names" in said(result)
        assert not out.exists()


def test_an_empty_folder_is_a_usage_error(tmp_path, cli):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.pdf").write_bytes(b"%PDF")
    result = cli("extract", tmp_path / "empty", "--out", tmp_path / "o.jsonl")
    assert result.exit_code == 2 and "no articles in folder" in said(result)


def test_nul_only_texts_are_binary(tmp_path, cli):
    (tmp_path / "nul.txt").write_bytes(b"\x00" * 64)
    result = cli("extract", tmp_path / "nul.txt", "--out", tmp_path / "o.jsonl")
    assert result.exit_code == 1
    assert "binary file" in read_jsonl(tmp_path / "o.jsonl")[0]["error"]["message"]


KEY = "sk-test-0123456789abcdefSECRET"


def test_a_server_echoing_our_api_key_never_gets_it_written(fake, tmp_path, cli, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    echo = Step(status=401, body=error_body(401, f"Incorrect API key provided: {KEY}."))
    out = tmp_path / "out.jsonl"
    with fake(echo) as server:
        result = cli("extract", SEED, "-m", "openai:m", "--base-url", server.base_url, "--out", out)
    assert result.exit_code == 1
    text = out.read_text(encoding="utf-8")
    assert KEY not in text and "[OPENAI_API_KEY redacted]" in text
    assert KEY not in result.stderr


def test_log_lines_are_redacted_too(monkeypatch, capsys):
    from extractor.cli import _log_warnings

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    _log_warnings()
    logging.getLogger("extractor.test").warning("server said: bad key %s", KEY)
    err = capsys.readouterr().err
    assert KEY not in err and "server said: bad key [OPENAI_API_KEY redacted]" in err


# --- 14: encodings --------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_with_a_bom_are_read(tmp_path, codec):
    text = SEED.read_text(encoding="utf-8")
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(
        codec, codecs.BOM_UTF32_LE if codec == "utf-32-le" else codecs.BOM_UTF32_BE
    )
    path = tmp_path / "wide.txt"
    path.write_bytes(bom + text.encode(codec))
    assert load_article(path).text == text
    html = tmp_path / "wide.html"
    html.write_bytes(bom + (DATA / "articles" / "page.html").read_text("utf-8").encode(codec))
    assert "Donau" in load_article(html).text


def test_a_utf16_jsonl_is_one_clear_failure(tmp_path):
    path = tmp_path / "wide.jsonl"
    path.write_bytes(codecs.BOM_UTF16_LE + '{"id": "a", "text": "x"}\n'.encode("utf-16-le"))
    (item,) = iter_articles([path])
    assert isinstance(item, LoadFailure) and "JSONL must be UTF-8" in str(item.error)
    assert [i for i, _ in iter_ids([path])] == [item.id]
