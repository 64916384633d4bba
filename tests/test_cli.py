"""`extractor extract`: every input ends as exactly one line; exit codes 0 / 1 / 2."""

from __future__ import annotations

import os
import sys

import pytest
from conftest import DATA, SEEDS, read_jsonl, scripted
from fake_openai import Step

from extractor.cli import main

ARTICLES = DATA / "articles"


def test_bad_inputs_each_end_as_one_line(fake, tmp_path, cli):
    inputs = [
        ARTICLES / "empty.txt",
        ARTICLES / "binary.txt",
        ARTICLES / "latin1.txt",
        ARTICLES / "page.html",
        DATA / "pipeline" / "injection.txt",
        SEEDS / "000_bc9a927a736966c8.txt",
    ]
    out = tmp_path / "out.jsonl"
    with fake(default=Step(content=scripted("answer_000.json"))) as server:
        result = cli(
            "extract", *inputs, "-m", "openai:m", "--base-url", server.base_url, "--out", out
        )
        # bad files never reach the model; the injection text goes as data inside <article>
        prompts = [r["messages"][-1]["content"] for r in server.requests]
    lines = read_jsonl(out)
    assert result.exit_code == 1
    assert [line["article_id"] for line in lines] == [p.stem for p in inputs]
    errors = {line["article_id"]: line["error"] for line in lines}
    assert errors["empty"]["kind"] == "input" and "empty" in errors["empty"]["message"]
    assert errors["binary"]["kind"] == "input" and "binary" in errors["binary"]["message"]
    assert errors["latin1"]["kind"] == "input" and "UTF-8" in errors["latin1"]["message"]
    assert errors["page"] is None and errors["injection"] is None
    assert len(prompts) == 3
    injected = next(p for p in prompts if "IGNORE ALL PREVIOUS" in p)
    assert injected.startswith("<article") and injected.rstrip().endswith("</article>")
    assert "articles: 6 (3 ok, 3 failed" in result.stderr


def test_missing_path_is_a_usage_error_and_writes_nothing(tmp_path, cli):
    out = tmp_path / "out.jsonl"
    result = cli("extract", SEEDS, tmp_path / "nope.txt", "--out", out)
    assert result.exit_code == 2
    assert "nope.txt" in result.stderr
    assert not out.exists()


def test_bad_model_spec_is_a_usage_error(cli):
    result = cli("extract", SEEDS, "--model", "gpt-4o")
    assert result.exit_code == 2
    assert "openai:<name>" in result.stderr


def test_no_model_configured_falls_back_to_baseline_with_a_notice(tmp_path, cli):
    out = tmp_path / "out.jsonl"
    result = cli("extract", SEEDS, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "offline baseline" in result.stderr and "--model" in result.stderr
    lines = read_jsonl(out)
    assert [line["model"] for line in lines] == ["baseline", "baseline"]
    assert all(line["figures"] for line in lines)


def test_main_keeps_blas_to_one_thread_unless_told(monkeypatch):
    """numpy's OpenBLAS threads would spin for a quarter second of CPU in every command."""
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setattr(sys, "argv", ["extractor", "--help"])
    with pytest.raises(SystemExit):
        main()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    with pytest.raises(SystemExit):
        main()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "4"
