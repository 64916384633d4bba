"""The seed suite's eval in replay mode: offline, and the same numbers every time; several
suites in one run, one report and one gate."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import ROOT

from extractor.eval.gold import load_gold
from extractor.eval.report import Report, SuiteSet
from extractor.eval.scoring import load_report
from extractor.eval.suite import load_suite

SUITE = ROOT / "evals" / "suites" / "seeds"


def eval_run(cli, suite, *args):
    return cli("eval", "run", "--suite", suite, *args)


def _stable(report: dict) -> dict:
    """Everything but wall-clock latency, which replay cannot fix."""
    summary = {k: v for k, v in report["summary"].items() if k != "latency_s"}
    return {"summary": summary, "by_type": report["by_type"], "articles": report["articles"]}


def test_seed_suite_replays_to_the_committed_report(tmp_path, cli):
    report = tmp_path / "report.json"
    result = eval_run(
        cli,
        SUITE,
        "--replay",
        "--report",
        report,
        "--markdown",
        tmp_path / "r.md",
        "--html",
        tmp_path / "r.html",
    )
    assert result.exit_code == 0, result.stderr
    got = json.loads(report.read_text(encoding="utf-8"))
    expected = json.loads((SUITE / "expected_report.json").read_text(encoding="utf-8"))
    assert set(got["by_type"]) == {"events", "claims", "figures"}
    for kind in got["by_type"]:
        assert {"precision", "recall", "f1"} <= set(got["by_type"][kind])
    assert got["summary"]["cached_share"] == 1.0  # every answer came from the recordings
    assert _stable(got) == _stable(expected)
    assert "| events |" in (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "<html" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_missing_recordings_fail_the_eval(tmp_path, cli):
    suite = tmp_path / "suite"
    shutil.copytree(SUITE, suite, ignore=shutil.ignore_patterns("replay"))
    (suite / "suite.toml").write_text(
        (SUITE / "suite.toml")
        .read_text(encoding="utf-8")
        .replace("../../../seeds/", str(ROOT / "seeds") + "/")
        .replace('gold = "../../gold"', f'gold = "{ROOT / "evals" / "gold"}"'),
        encoding="utf-8",
    )
    result = eval_run(cli, suite, "--replay", "--report", tmp_path / "r.json")
    assert result.exit_code == 1
    assert "replay_miss" in result.stderr and "never reached a model answer" in result.stderr


def test_fail_under_gates_the_run(tmp_path, cli):
    result = eval_run(
        cli, SUITE, "--replay", "--report", tmp_path / "r.json", "--fail-under", "0.5"
    )
    assert result.exit_code == 1
    assert "F1" in result.stderr


def test_baseline_suite_meets_its_gate(tmp_path, cli):
    report = tmp_path / "report.json"
    result = eval_run(cli, ROOT / "evals" / "suites" / "seeds-baseline", "--report", report)
    assert result.exit_code == 0, result.stderr
    by_type = json.loads(report.read_text(encoding="utf-8"))["by_type"]
    assert by_type["figures"]["f1"] >= 0.9 and by_type["claims"]["f1"] >= 0.8
    assert by_type["events"]["f1"] >= 0.4


PUBLIC_SUITES = ["gepade-spkatt", "plover-gsr", "smartdata"]


@pytest.mark.slow
@pytest.mark.parametrize("name", PUBLIC_SUITES)
def test_public_suite_meets_its_gates(tmp_path, cli, name):
    """CI runs each committed public suite on the baseline against its suite.toml gates."""
    report = tmp_path / "report.json"
    result = eval_run(cli, ROOT / "evals" / "suites" / name, "--report", report)
    assert result.exit_code == 0, result.stderr
    data = json.loads(report.read_text(encoding="utf-8"))
    suite = load_suite(ROOT / "evals" / "suites" / name)
    assert data["meta"]["matching"] == "strict" and list(data["by_type"]) == suite.types
    assert suite.fail_under is not None and suite.task_fail_under
    for kind in suite.types:
        assert data["by_type"][kind]["f1"] >= suite.fail_under
    assert set(suite.task_fail_under) == {m["name"] for m in data["task"]}
    for metric in data["task"]:
        # the headline: F1, or recall for a recall-only metric (cardinal_recall)
        assert metric[metric["headline"]] >= suite.task_fail_under[metric["name"]]


@pytest.mark.parametrize("name", PUBLIC_SUITES)
def test_public_suite_gold_is_valid_and_attributed(name):
    folder = ROOT / "evals" / "suites" / name
    gold = load_gold(folder / "gold")
    assert len(gold) == len(list((folder / "articles").glob("*.txt")))
    readme = (folder / "README.md").read_text(encoding="utf-8")
    license = load_suite(folder).license
    assert license and license in readme and "Task metric" in readme


def test_several_suites_make_one_report_one_table_and_one_gate(tmp_path, cli):
    """A model or prompt change is judged on our gold and the public suites in one run."""
    suites = [ROOT / "evals" / "suites" / name for name in ("seeds-baseline", "gepade-spkatt")]
    alone = tmp_path / "alone.json"
    assert eval_run(cli, suites[0], "--report", alone).exit_code == 0
    both, md = tmp_path / "both.json", tmp_path / "both.md"
    result = cli(
        "eval", "run", "--suite", suites[0], "--suite", suites[1], "--report", both,
        "--markdown", md,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "Eval: 2 suites, baseline" in result.stderr
    loaded = load_report(both)
    assert isinstance(loaded, SuiteSet) and list(loaded.suites) == [
        "seeds-baseline",
        "gepade-spkatt",
    ]
    single = load_report(alone)
    assert isinstance(single, Report)
    assert loaded.suites["seeds-baseline"].by_type == single.by_type
    assert [m.name for m in loaded.suites["gepade-spkatt"].task] == ["cue_overlap"]
    text = md.read_text(encoding="utf-8")
    assert "## Eval: 2 suites" in text and "| gepade-spkatt | claims |" in text
    assert "### Eval: seeds-baseline" in text and "### Eval: gepade-spkatt" in text
    compared = cli("eval", "compare", alone, both)
    assert compared.exit_code == 0, compared.stderr
    assert "only in B: gepade-spkatt" in compared.stdout
    gated = cli(
        "eval", "run", "--suite", suites[0], "--suite", suites[1], "--report", both,
        "--fail-under", "0.99",
    )  # fmt: skip
    assert gated.exit_code == 1
    assert "gepade-spkatt: claims F1 0.067 < 0.990" in gated.stderr


def test_several_suites_refuse_what_takes_one(tmp_path, cli):
    seeds = ROOT / "evals" / "suites" / "seeds-baseline"
    html = cli("eval", "run", "--suite", seeds, "--suite", seeds, "--html", tmp_path / "r.html")
    assert html.exit_code == 2 and "take one suite" in html.stderr
    external = [ROOT / "evals" / "suites" / name for name in ("measeval", "spkatt2023-news")]
    data = cli(
        "eval", "run", "--suite", external[0], "--suite", external[1], "--data", tmp_path,
        "--report", tmp_path / "r.json",
    )  # fmt: skip
    assert data.exit_code == 2 and "--data measeval=PATH --data spkatt2023-news=PATH" in data.stderr
    typo = cli("eval", "run", "--suite", external[0], "--data", f"meseval={tmp_path}")
    assert typo.exit_code == 2 and "those that do: measeval" in typo.stderr
