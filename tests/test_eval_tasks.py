"""Benchmark task metrics, on hand-computed cases."""

from __future__ import annotations

import pytest

from extractor import errors, records
from extractor.eval import tasks

TEXT = "Der Minister gab am Montag an, 300 Soldaten und 12 Panzer seien verlegt worden."


def _claim(cue: str, evidence: str) -> records.Claim:
    start = TEXT.index(evidence)
    return records.Claim(
        claimant="x",
        cue=cue,
        message="m",
        speech=records.Speech.REPORTED,
        evidence=evidence,
        span=(start, start + len(evidence)),
    )


def _figure(text: str, evidence: str, value: float | None) -> records.Figure:
    start = TEXT.index(evidence)
    return records.Figure(
        text=text, value=value, measured="", evidence=evidence, span=(start, start + len(evidence))
    )


def _event(kind: records.EventType) -> records.Event:
    start = TEXT.index("verlegt")
    return records.Event(event_type=kind, summary="s", evidence="verlegt", span=(start, start + 7))


def _run(name: str, pred: dict, gold: dict) -> records.ArticleResult:
    result = records.ArticleResult(article_id="a", model="m", **pred)
    golds = {"a": records.GoldArticle(article_id="a", source="a.txt", **gold)}
    return tasks.compute(name, [result], golds)


def test_cue_overlap_counts_word_overlap_one_to_one() -> None:
    gold = {"claims": [_claim("gab an", "Der Minister gab am Montag an")]}
    # "an" is located after "gab", not inside "Montag"; two predictions for one cue: one counts
    pred = {
        "claims": [
            _claim("an", "Der Minister gab am Montag an"),
            _claim("gab", "Minister gab"),
        ]
    }
    m = _run("cue_overlap", pred, gold)
    assert (m.tp, m.fp, m.fn) == (1, 1, 0)
    assert m.precision == 0.5 and m.recall == 1.0
    m = _run("cue_overlap", {"claims": [_claim("Montag", "am Montag")]}, gold)
    assert (m.tp, m.fp, m.fn) == (0, 1, 1)


def test_quantity_overlap_and_values_right() -> None:
    gold = {
        "figures": [
            _figure("300", "300 Soldaten", 300.0),
            _figure("12", "12 Panzer", 12.0),
        ]
    }
    pred = {
        "figures": [
            _figure("300", "300 Soldaten und", 300.0),  # number inside the gold quantity
            _figure("12", "12 Panzer", 21.0),  # found, wrong value
            _figure("Montag", "am Montag", None),  # spurious
        ]
    }
    m = _run("quantity_overlap", pred, gold)
    assert (m.tp, m.fp, m.fn) == (2, 1, 0)
    assert m.values_right == 0.5


def test_event_type_counts_types_per_article() -> None:
    gold = {"events": [_event(records.EventType.MOBILIZE)]}
    pred = {"events": [_event(records.EventType.MOBILIZE), _event(records.EventType.MOBILIZE)]}
    m = _run("event_type", pred, gold)
    assert (m.tp, m.fp, m.fn) == (1, 1, 0)
    m = _run("event_type", {"events": [_event(records.EventType.ASSAULT)]}, gold)
    assert (m.tp, m.fp, m.fn, m.f1) == (0, 1, 1, 0.0)


def test_missing_prediction_is_all_missed_and_unknown_task_is_an_error() -> None:
    golds = {
        "a": records.GoldArticle(
            article_id="a", source="a.txt", events=[_event(records.EventType.ASSAULT)]
        )
    }
    m = tasks.compute("event_type", [], golds)
    assert (m.tp, m.fp, m.fn) == (0, 0, 1)
    with pytest.raises(errors.UsageError, match="unknown task metric"):
        tasks.compute("bleu", [], golds)
