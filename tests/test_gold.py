"""The hand-labelled gold files must stay usable as ground truth for the scorer.

A gold record that quotes text not in its article, points its span elsewhere, or carries a
value its evidence does not show would silently turn correct predictions into errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractor.numbers import values_in
from extractor.records import GoldArticle

ROOT = Path(__file__).resolve().parents[1]
GOLD_DIR = ROOT / "evals" / "gold"
GOLD_FILES = sorted(GOLD_DIR.glob("*.json"))
KINDS = ("events", "claims", "figures")


def _load(path: Path) -> tuple[GoldArticle, str]:
    gold = GoldArticle.model_validate_json(path.read_text(encoding="utf-8"))
    text = (ROOT / gold.source).read_text(encoding="utf-8")
    return gold, text


def test_every_seed_has_a_gold_file() -> None:
    seeds = {p.stem for p in (ROOT / "seeds").glob("*.txt")}
    assert seeds, "no seed articles found"
    assert seeds <= {p.stem for p in GOLD_FILES}


@pytest.mark.parametrize("path", GOLD_FILES, ids=lambda p: p.stem)
def test_gold_file_names_its_article(path: Path) -> None:
    gold = GoldArticle.model_validate_json(path.read_text(encoding="utf-8"))
    source = ROOT / gold.source
    assert gold.article_id == path.stem
    assert source.is_file(), f"{gold.source} does not exist"
    assert source.stem == gold.article_id
    assert gold.source.startswith("seeds/")


@pytest.mark.parametrize("path", GOLD_FILES, ids=lambda p: p.stem)
def test_evidence_is_verbatim_and_span_points_at_it(path: Path) -> None:
    gold, text = _load(path)
    for kind in KINDS:
        for i, rec in enumerate(getattr(gold, kind)):
            where = f"{kind}[{i}] {rec.evidence!r}"
            assert rec.evidence in text, where
            assert rec.span is not None, where
            start, end = rec.span
            assert text[start:end] == rec.evidence, where
            assert rec.grounding.value == "exact", where
            assert rec.flags == [], where


@pytest.mark.parametrize("path", GOLD_FILES, ids=lambda p: p.stem)
def test_records_are_in_text_order(path: Path) -> None:
    gold, _ = _load(path)
    for kind in KINDS:
        starts = [rec.span[0] for rec in getattr(gold, kind) if rec.span]
        assert starts == sorted(starts), kind


@pytest.mark.parametrize("path", GOLD_FILES, ids=lambda p: p.stem)
def test_figure_value_appears_in_its_evidence(path: Path) -> None:
    gold, _ = _load(path)
    assert gold.figures, "an article without figures is suspicious for this corpus"
    for fig in gold.figures:
        assert fig.value is not None, fig.evidence
        assert fig.value in values_in(fig.evidence, "de"), fig.evidence
        assert fig.text in fig.evidence


@pytest.mark.parametrize("path", GOLD_FILES, ids=lambda p: p.stem)
def test_file_is_in_canonical_form(path: Path) -> None:
    raw = path.read_text(encoding="utf-8")
    gold = GoldArticle.model_validate_json(raw)
    canonical = json.dumps(gold.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    assert raw == canonical, "rewrite with: python evals/tools/spans.py " + str(path)
