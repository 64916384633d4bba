"""Gold files are checked against their article before anything is scored (issue 12, item 12)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT

from extractor import errors, records
from extractor.eval import gold as gold_module
from extractor.eval import scoring
from extractor.eval.gold import load_gold

REPO = Path(__file__).parent / "data" / "scoring" / "repo"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the fixture repository (gold + article) that a test may break."""
    shutil.copytree(REPO, tmp_path / "repo")
    return tmp_path / "repo"


def _break(repo: Path, kind: str, index: int, **changes: object) -> Path:
    path = repo / "evals" / "gold" / "kursk-1.json"
    gold = json.loads(path.read_text(encoding="utf-8"))
    gold[kind][index].update(changes)
    path.write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    return path


def test_the_committed_gold_passes() -> None:
    assert set(load_gold(ROOT / "evals" / "gold")) == {
        p.stem for p in (ROOT / "evals" / "gold").glob("*.json")
    }
    assert set(load_gold(REPO / "evals" / "gold")) == {"kursk-1"}


@pytest.mark.parametrize(
    ("kind", "changes", "reason"),
    [
        ("events", {"span": [55, 10]}, "events[0]: span [55, 10) is reversed or empty"),
        ("claims", {"span": [10, 100000]}, "claims[0]: span [10, 100000) is outside the article"),
        ("figures", {"span": [-3, 4]}, "figures[0]: span [-3, 4) is outside the article"),
        ("events", {"span": None}, "events[0]: has no span"),
        (
            "events",
            {"evidence": "griffen russische Truppen das Dorf Sudscha NICHT an"},
            "events[0]: evidence 'griffen russische Truppen das Dorf Sudscha NICHT an' differs "
            "from the article at span [10, 55), which reads 'griffen russische Truppen das Dorf "
            "Sudscha an'",
        ),
    ],
)
def test_bad_gold_is_refused_naming_file_record_and_reason(
    repo: Path, kind: str, changes: dict[str, object], reason: str
) -> None:
    path = _break(repo, kind, 0, **changes)
    with pytest.raises(errors.GoldError) as info:
        load_gold(repo / "evals" / "gold")
    assert str(path) in str(info.value)
    assert reason in str(info.value)


def test_eval_score_exits_2_on_bad_gold(repo: Path, cli) -> None:
    path = _break(repo, "figures", 1, span=[5, 2])
    result = cli(
        "eval",
        "score",
        repo / "predictions_b.jsonl",
        "--gold",
        repo / "evals" / "gold",
        "--report",
        repo / "r.json",
    )
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert str(path) in out and "figures[1]: span [5, 2) is reversed" in out
    assert not (repo / "r.json").exists()


def test_missing_article_text_is_refused(repo: Path) -> None:
    (repo / "articles" / "kursk-1.txt").unlink()
    with pytest.raises(errors.GoldError, match=r"article text 'articles/kursk-1.txt' not found"):
        load_gold(repo / "evals" / "gold")


def test_a_source_outside_the_repository_is_refused(repo: Path) -> None:
    path = repo / "evals" / "gold" / "kursk-1.json"
    gold = json.loads(path.read_text(encoding="utf-8"))
    gold["source"] = "../../etc/passwd"
    path.write_text(json.dumps(gold), encoding="utf-8")
    with pytest.raises(errors.GoldError, match="must be a relative path inside"):
        load_gold(repo / "evals" / "gold")


def _second_gold(repo: Path, article_id: str) -> Path:
    """Another gold file for the same article, sorting after kursk-1."""
    gold = repo / "evals" / "gold"
    data = json.loads((gold / "kursk-1.json").read_text(encoding="utf-8"))
    data["article_id"] = article_id
    path = gold / f"{article_id}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _predictions(repo: Path, *article_ids: str) -> Path:
    """predictions_b's line for kursk-1, once under each of `article_ids`."""
    line = json.loads((repo / "predictions_b.jsonl").read_text(encoding="utf-8").splitlines()[0])
    path = repo / "more.jsonl"
    path.write_text(
        "".join(json.dumps({**line, "article_id": a}) + "\n" for a in article_ids),
        encoding="utf-8",
    )
    return path


def _break_file(path: Path, span: list[int]) -> Path:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["events"][0]["span"] = span
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _score_lazily(repo: Path, predictions: Path) -> None:
    scoring.score(
        scoring.iter_predictions(predictions), load_gold(repo / "evals" / "gold", lazy=True)
    )


def test_lazy_gold_reports_what_an_up_front_check_reports(repo: Path) -> None:
    """`eval score` checks each gold file as it scores it; a problem is reported with the same
    message, and with two bad files the first in file order is named, as up front, even when
    scoring meets the other one first."""
    second = _break_file(_second_gold(repo, "kursk-2"), [55, 10])
    with pytest.raises(errors.GoldError) as eager:
        load_gold(repo / "evals" / "gold")
    lazy = load_gold(repo / "evals" / "gold", lazy=True)
    assert set(lazy) == {"kursk-1", "kursk-2"}
    with pytest.raises(errors.GoldError) as scored:
        _score_lazily(repo, _predictions(repo, "kursk-1", "kursk-2"))
    assert str(scored.value) == str(eager.value)
    assert str(second) in str(scored.value)

    first = _break(repo, "claims", 0, span=[10, 100000])
    with pytest.raises(errors.GoldError) as both:
        _score_lazily(repo, _predictions(repo, "kursk-2", "kursk-1"))
    assert str(first) in str(both.value) and str(second) not in str(both.value)


def test_lazy_gold_problem_wins_over_a_prediction_problem(repo: Path) -> None:
    """As when gold is checked before the predictions are read: a duplicated prediction line
    met before the bad gold file is read does not hide it."""
    second = _break_file(_second_gold(repo, "kursk-2"), [-3, 4])
    with pytest.raises(errors.GoldError) as info:
        _score_lazily(repo, _predictions(repo, "kursk-1", "kursk-1"))
    assert str(second) in str(info.value)
    _break_file(second, [10, 55])  # fixed: the duplicate is the problem
    with pytest.raises(errors.InputError, match="appears more than once"):
        _score_lazily(repo, _predictions(repo, "kursk-1", "kursk-1"))


def test_lazy_gold_parses_each_file_once(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    parse = gold_module._parse

    def counting(path: Path) -> records.GoldArticle:
        parsed.append(path.name)
        return parse(path)

    monkeypatch.setattr(gold_module, "_parse", counting)
    _second_gold(repo, "kursk-2")
    _score_lazily(repo, _predictions(repo, "kursk-2", "kursk-1"))
    assert sorted(parsed) == ["kursk-1.json", "kursk-2.json"]
