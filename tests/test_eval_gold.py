"""Gold files are checked against their article before anything is scored (issue 12, item 12)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT

from extractor import errors
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
