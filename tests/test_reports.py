"""Reports, compare and the `eval` commands, on the fixture runs in tests/data/scoring/repo.

Run A (predictions_a.jsonl) misses gold event E2 (it quotes another sentence: a spurious
REQUEST) and gold figure F1; run B (predictions_b.jsonl) equals gold.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from html_marks import parse
from rich.console import Console
from typer.testing import CliRunner

from extractor import records
from extractor.eval import cli as eval_cli
from extractor.eval import render as reports
from extractor.eval import scoring, tasks
from extractor.eval.report import ArticleScore, ArticleStore, RecordView, Report
from extractor.review import TAG

DATA = Path(__file__).parent / "data" / "scoring"
REPO = DATA / "repo"
GOLD_DIR = REPO / "evals" / "gold"


def _report(name: str) -> Report:
    """Scored, written as JSON and read back, as `compare` reads a report from CI."""
    preds = scoring.load_predictions(REPO / name)
    return Report.model_validate_json(scoring.score(preds, scoring.load_gold(GOLD_DIR)).to_json())


def _case_report(name: str) -> Report:
    case = json.loads((DATA / "cases" / f"{name}.json").read_text(encoding="utf-8"))
    preds = [records.ArticleResult.model_validate(p) for p in case["predictions"]]
    gold = {g["article_id"]: records.GoldArticle.model_validate(g) for g in case["gold"]}
    return scoring.score(preds, gold)


@pytest.fixture(scope="module")
def report_a() -> Report:
    return _report("predictions_a.jsonl")


@pytest.fixture(scope="module")
def report_b() -> Report:
    return _report("predictions_b.jsonl")


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return {"kursk-1": (REPO / "articles" / "kursk-1.txt").read_text(encoding="utf-8")}


# --- html --------------------------------------------------------------------------------------


def test_html_escapes_the_article_text(report_a: Report, texts: dict[str, str]) -> None:
    page = reports.html_report(report_a, texts)
    assert "Quelle: &lt;span&gt;AP &amp; dpa&lt;/span&gt;" in page
    assert "<span>AP & dpa</span>" not in page


def test_html_marks_missed_and_spurious(report_a: Report, texts: dict[str, str]) -> None:
    view = parse(reports.html_report(report_a, texts))
    (missed,) = view.of("a0-gold", "E2")
    assert missed.text == "Kiew forderte neue Sanktionen gegen Moskau"
    assert {"k-events", "s-missed"} <= set(missed.classes)
    assert missed.title == "E2 REQUEST [exact] (missed)"
    (spurious,) = view.of("a0", "E2")
    assert spurious.text == "Die Hilfe beläuft sich auf"
    assert {"k-events", "s-spurious"} <= set(spurious.classes)
    # the missed figure sits inside a matched claim: both are named, the error is shown
    (figure,) = view.of("a0-gold", "F1")
    assert {"k-figures", "s-missed", "multi"} <= set(figure.classes)
    assert len(figure.records) == 2 and "(missed)" in figure.title and "(matched" in figure.title
    assert not any("s-spurious" in m.classes for m in view.of("a0-gold"))
    assert not any("s-missed" in m.classes for m in view.of("a0"))


def _records(article: ArticleScore, side: str) -> dict[str, RecordView]:
    """Tag (E0, C1 …) -> record, for the gold or the predicted side of a scored article."""
    out: dict[str, RecordView] = {}
    for kind, entry in article.by_kind().items():
        for pair in entry.pairs:
            index = pair.gold_index if side == "gold" else pair.pred_index
            out[f"{TAG[kind]}{index}"] = pair.gold if side == "gold" else pair.pred
        extra = entry.missed if side == "gold" else entry.spurious
        for r in extra:
            index = r.gold_index if side == "gold" else r.pred_index  # type: ignore[union-attr]
            out[f"{TAG[kind]}{index}"] = r
    return out


def test_html_highlights_sit_on_exactly_the_spans(report_a: Report, texts: dict[str, str]) -> None:
    text = texts["kursk-1"]
    view = parse(reports.html_report(report_a, texts))
    for name, side in (("a0-gold", "gold"), ("a0", "pred")):
        assert view.texts[name] == text  # the column shows the article, character for character
        for m in view.of(name):
            assert m.text == text[m.start : m.end]
        records = _records(report_a.articles["kursk-1"], side)
        assert len(records) >= 6
        for tag, record in records.items():
            own = view.of(name, tag)
            assert record.span is not None and own, tag
            start, end = record.span
            assert (own[0].start, own[-1].end) == (start, end), tag
            assert all(a.end == b.start for a, b in itertools.pairwise(own)), tag
            assert "".join(m.text for m in own) == text[start:end] == record.evidence
        placed = {tag for m in view.of(name) for tag in m.records}
        assert placed == set(records)


def test_html_is_self_contained_with_legend_and_table(
    report_a: Report, texts: dict[str, str]
) -> None:
    page = reports.html_report(report_a, texts)
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert 'class="legend"' in page and "missed (gold only)" in page
    assert '<td class="num">0.667</td>' in page  # events P/R/F1 of run A
    assert page.count('<div class="text" id="text-') == 2


def test_html_without_article_text_still_lists_records(report_a: Report) -> None:
    page = reports.html_report(report_a, {})
    assert "article text not available" in page
    assert "“Kiew forderte neue Sanktionen gegen Moskau”" in page


# --- markdown and terminal ----------------------------------------------------------------------


def test_markdown_has_the_per_type_table(report_a: Report) -> None:
    md = reports.markdown_summary(report_a)
    header = "| type | P | R | F1 | macro F1 | lenient F1 | strict F1 | TP | FP | FN | grounded |"
    assert header in md
    assert "| events | 0.667 | 0.667 | 0.667 | 0.667 | 0.667 | 0.667 | 2 | 1 | 1 | 100.0% |" in md
    assert "| figures | 1.000 | 0.667 | 0.800 | 0.800 | 0.800 | 0.800 | 2 | 0 | 1 | 100.0% |" in md
    assert "| valid output | 100.0% |" in md
    assert "| tokens | 500 (400 prompt + 100 completion) |" in md


def test_terminal_table_renders_types_and_summary(report_a: Report) -> None:
    console = Console(record=True, width=120)
    console.print(reports.terminal_table(report_a))
    out = console.export_text()
    assert "│ events  │ 0.667 │ 0.667 │ 0.667 │" in out
    assert "sum 2.00 s · p50 2.00 s · p95 2.00 s" in out


# --- compare -------------------------------------------------------------------------------------


def test_compare_shows_a_regression(report_a: Report, report_b: Report) -> None:
    diff = reports.compare(report_b, report_a)  # B is the worse run here
    assert diff.by_type["events"].f1.delta == pytest.approx(-1 / 3)
    assert diff.by_type["claims"].f1.delta == 0
    changes = diff.articles["kursk-1"]
    assert [r.index for r in changes["events"].lost] == [2]
    assert [r.evidence for r in changes["events"].spurious_added] == ["Die Hilfe beläuft sich auf"]
    assert [r.index for r in changes["figures"].lost] == [1]
    assert "events f1 −0.333" in diff.regressions
    md = reports.compare_markdown(diff)
    assert "| events | f1 | 1.000 | 0.667 | **−0.333 ▼** |" in md
    assert "- ▼ kursk-1 events E2 lost (matched in A only)" in md


def test_compare_the_other_way_is_an_improvement(report_a: Report, report_b: Report) -> None:
    diff = reports.compare(report_a, report_b)
    assert diff.regressions == []
    md = reports.compare_markdown(diff)
    assert "No regressions." in md and "▼" not in md
    assert "| events | f1 | 0.667 | 1.000 | +0.333 |" in md
    assert [r.index for r in diff.articles["kursk-1"]["events"].gained] == [2]


def test_compare_reports_field_changes() -> None:
    diff = reports.compare(_case_report("perfect"), _case_report("wrong_value"))
    claims = diff.articles["kursk-1"]["claims"].fields_changed
    assert [(r.index, r.field, r.a, r.b) for r in claims] == [(1, "claimant", True, False)]
    assert diff.by_type["claims"].fields["claimant"].delta == pytest.approx(-0.5)
    assert "claims field claimant −0.500" in diff.regressions
    md = reports.compare_markdown(diff)
    assert "| claims | field claimant | 1.000 | 0.500 | **−0.500 ▼** |" in md


def test_compare_table_marks_regressions(report_a: Report, report_b: Report) -> None:
    console = Console(record=True, width=160)
    console.print(reports.compare_table(reports.compare(report_b, report_a)))
    out = console.export_text()
    assert "−0.333 ▼" in out
    assert "regression(s)" in out


# --- the eval commands ---------------------------------------------------------------------------

runner = CliRunner()


def _score(tmp_path: Path, pred: str, *extra: str) -> tuple[int, str, Path]:
    out = tmp_path / f"{Path(pred).stem}.json"
    result = runner.invoke(
        eval_cli.app,
        ["score", str(REPO / pred), "--gold", str(GOLD_DIR), "--report", str(out), *extra],
    )
    return result.exit_code, result.output, out


def test_cli_score_writes_report_markdown_and_html(tmp_path: Path) -> None:
    md, page = tmp_path / "r.md", tmp_path / "r.html"
    code, output, out = _score(
        tmp_path, "predictions_a.jsonl", "--markdown", str(md), "--html", str(page)
    )
    assert code == 0, output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["by_type"]["events"]["f1"] == pytest.approx(2 / 3)
    assert out.read_text(encoding="utf-8").startswith('{\n  "summary"')
    assert "| events | 0.667 |" in md.read_text(encoding="utf-8")
    # article text found through the gold `source`, relative to the folder holding evals/
    assert "AP &amp; dpa" in page.read_text(encoding="utf-8")
    assert "events" in output and "0.667" in output


def test_cli_score_articles_option(tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    code, output, _ = _score(
        tmp_path, "predictions_a.jsonl", "--html", str(page), "--articles", str(tmp_path)
    )
    assert code == 0, output
    assert "article text for kursk-1 not found" in output
    assert "article text not available" in page.read_text(encoding="utf-8")


def test_cli_score_fail_under(tmp_path: Path) -> None:
    code, output, _ = _score(tmp_path, "predictions_a.jsonl", "--fail-under", "0.9")
    assert code == 1
    assert "FAIL events F1 0.667 < 0.900" in output
    assert "FAIL figures F1 0.800 < 0.900" in output
    assert "claims F1" not in output
    code, output, _ = _score(tmp_path, "predictions_b.jsonl", "--fail-under", "0.9")
    assert code == 0, output


def _unboxed(output: str) -> str:
    """The words of a CLI error, without the panel rich draws around it: where the panel wraps
    depends on the length of the path inside (where the checkout lies)."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", output).split())


def test_cli_score_usage_errors(tmp_path: Path) -> None:
    code, output, _ = _score(tmp_path, "missing.jsonl")
    assert code == 2 and "does not exist" in _unboxed(output)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    result = runner.invoke(
        eval_cli.app,
        ["score", str(bad), "--gold", str(GOLD_DIR), "--report", str(tmp_path / "x.json")],
    )
    assert result.exit_code == 2
    assert "bad.jsonl:1 is not an ArticleResult" in result.output


def test_cli_compare(tmp_path: Path) -> None:
    _, _, a = _score(tmp_path, "predictions_a.jsonl")
    _, _, b = _score(tmp_path, "predictions_b.jsonl")
    md = tmp_path / "cmp.md"
    result = runner.invoke(eval_cli.app, ["compare", str(b), str(a), "--markdown", str(md)])
    assert result.exit_code == 0, result.output
    assert "−0.333 ▼" in result.output
    assert "**−0.333 ▼**" in md.read_text(encoding="utf-8")
    result = runner.invoke(eval_cli.app, ["compare", str(b), str(REPO / "predictions_b.jsonl")])
    assert result.exit_code == 2
    assert "was it written by" in result.output


def test_check_gate(report_a: Report) -> None:
    report = report_a.model_copy(deep=True)
    for kind, f1 in zip(scoring.KINDS, (0.5, 0.9, 1.0), strict=True):
        report.by_type[kind].f1 = f1
    assert eval_cli.check_gate(report, None) == []
    assert eval_cli.check_gate(report, 0.9) == ["events F1 0.500 < 0.900"]
    report.task = [tasks.compute("event_type", [], {})]
    assert eval_cli.check_gate(report, None, {"event_type": 0.5}) == []
    assert eval_cli.check_gate(report, None, {"cue_overlap": 0.5}) == [
        "task metric cue_overlap was not computed"
    ]
    # a recall-only metric is gated on its recall (it has no F1)
    gold = records.GoldArticle(
        article_id="a",
        source="a.txt",
        figures=[
            records.Figure(
                text="3", value=3.0, measured="", evidence="3", span=(0, 1), flags=["cardinal"]
            )
        ],
    )
    report.task = [tasks.compute("cardinal_recall", [], {"a": gold})]
    assert report.task[0].f1 is None
    assert eval_cli.check_gate(report, None, {"cardinal_recall": 0.98}) == [
        "task cardinal_recall recall 0.000 < 0.980"
    ]


def test_compare_reads_a_report_from_before_the_typed_report(
    tmp_path: Path, report_b: Report
) -> None:
    """The committed seed report was written by scorer version 1 (no modes, no task)."""
    old_path = Path(__file__).parents[1] / "evals" / "suites" / "seeds" / "expected_report.json"
    old = scoring.load_report(old_path)
    assert old.modes == {} and old.task == [] and old.meta.matching == "lenient"
    assert old.by_type["events"].fn == 20
    diff = reports.compare(old, old)
    assert diff.regressions == [] and diff.by_type["events"].strict_f1 is None
    result = runner.invoke(eval_cli.app, ["compare", str(old_path), str(old_path)])
    assert result.exit_code == 0, result.output
    assert "no regressions" in result.output


def test_report_round_trips_through_json(report_a: Report) -> None:
    again = Report.model_validate_json(report_a.to_json())
    assert again == report_a
    assert json.loads(report_a.to_json())["articles"]["kursk-1"]["events"]["missed"][0] == {
        "gold_index": 2,
        "label": "REQUEST",
        "evidence": "Kiew forderte neue Sanktionen gegen Moskau",
        "span": list(report_a.articles["kursk-1"].events.missed[0].span),
        "grounding": "exact",
    }


def test_a_scored_report_keeps_its_articles_as_json(tmp_path: Path) -> None:
    """`score` keeps each article's score as JSON in an `ArticleStore` (memory stays flat); the
    report reads, dumps, copies and writes as one whose articles are models in a dict."""
    preds = scoring.load_predictions(REPO / "predictions_a.jsonl")
    scored = scoring.score(preds, scoring.load_gold(GOLD_DIR))
    assert isinstance(scored.articles, ArticleStore)
    plain = Report.model_validate_json(scored.to_json())
    assert isinstance(plain.articles, dict)
    assert dict(scored.articles.items()) == plain.articles
    assert scored.model_dump(mode="json") == plain.model_dump(mode="json")
    copy = scored.model_copy(deep=True)
    assert isinstance(copy.articles, dict) and copy.articles == plain.articles
    # a file takes the stored JSON as bytes; a text buffer as text; both as the dict writes it
    for report in (scored, plain):
        with (tmp_path / "r.json").open("w", encoding="utf-8") as f:
            report.write_json(f)
        assert (tmp_path / "r.json").read_text(encoding="utf-8") == plain.to_json()
    assert scored.to_json() == plain.to_json()


def test_article_store_reads_back_past_its_memory_spool() -> None:
    store = ArticleStore()
    big = ArticleScore().model_dump_json(indent=2).encode() + b" " * ArticleStore.SPOOL_BYTES
    for article_id in ("b", "a", "c"):
        store.add(
            article_id, big if article_id == "a" else ArticleScore().model_dump_json().encode()
        )
    store.sort()
    assert list(store) == ["a", "b", "c"] and len(store) == 3 and "b" in store
    assert store["a"] == ArticleScore() and store["c"] == ArticleScore()
    assert store.json("a") == big
