"""Issue 12: hostile input, outputs, caches, signals and operators. Each test reproduces a
failure that was seen (data loss, a traceback, a whole run aborted) and shows it is gone.

Model calls go to the offline baseline or the scripted fake server on loopback.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import DATA, SEEDS, read_jsonl

HOSTILE = DATA / "hostile" / "hostile.jsonl"
SEED = SEEDS / "000_bc9a927a736966c8.txt"


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
