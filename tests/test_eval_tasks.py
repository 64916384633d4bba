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


def _figure(
    text: str,
    evidence: str,
    value: float | None,
    *,
    number: str | None = None,
    cardinal: bool = False,
) -> records.Figure:
    """A Figure at `evidence`'s place in `text`; `number` is its text when not the evidence."""
    start = text.index(evidence)
    return records.Figure(
        text=number or evidence,
        value=value,
        measured="",
        evidence=evidence,
        span=(start, start + len(evidence)),
        flags=[tasks.CARDINAL] if cardinal else [],
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
            _figure(TEXT, "300 Soldaten", 300.0, number="300"),
            _figure(TEXT, "12 Panzer", 12.0, number="12"),
        ]
    }
    pred = {
        "figures": [
            _figure(
                TEXT, "300 Soldaten und", 300.0, number="300"
            ),  # number inside the gold quantity
            _figure(TEXT, "12 Panzer", 21.0, number="12"),  # found, wrong value
            _figure(TEXT, "am Montag", None, number="Montag"),  # spurious
        ]
    }
    m = _run("quantity_overlap", pred, gold)
    assert (m.tp, m.fp, m.fn, m.counted) == (2, 1, 0, None)
    assert m.values_right == 0.5 and m.headline == "f1"


LIST = "Samples were annealed at 3, 5 and 7 K for 1,500 s."


def _run_text(name: str, pred: list[records.Figure], gold: list[records.Figure], lang: str):
    result = records.ArticleResult(article_id="a", model="m", figures=pred)
    golds = {"a": records.GoldArticle(article_id="a", source="a.txt", figures=gold)}
    return tasks.compute(name, [result], golds, language=lang)


def test_quantity_overlap_counts_a_list_once_and_any_listed_value_is_right() -> None:
    # MeasEval: "3, 5 and 7 K" is one Quantity valued at its first number
    gold = [
        _figure(LIST, "3, 5 and 7 K", 3.0, number="3, 5 and 7"),
        _figure(LIST, "1,500 s", 1500.0, number="1,500"),
    ]
    pred = [
        _figure(LIST, "3", 3.0),
        _figure(LIST, "5", 5.0),  # a listed value, not the gold record's own: right
        _figure(LIST, "7 K", 8.0, number="7"),  # inside the list, wrong value
    ]
    m = _run_text("quantity_overlap", pred, gold, "en")
    assert (m.tp, m.fp, m.fn, m.counted) == (1, 0, 1, 3)
    assert m.precision == 1.0 and m.recall == 0.5 and m.f1 == pytest.approx(2 / 3)
    assert m.values_right == pytest.approx(2 / 3)
    # one prediction outside every quantity is a false positive
    m = _run_text("quantity_overlap", [*pred, _figure(LIST, "Samples", None)], gold, "en")
    assert (m.tp, m.fp, m.counted) == (1, 1, 3) and m.precision == 0.75


def test_gold_numbers_reads_each_item_in_the_gold_language() -> None:
    assert tasks.gold_numbers("3, 5 and 7 K", "en") == [3.0, 5.0, 7.0]
    assert tasks.gold_numbers("1,500 s", "en") == [1500.0]
    assert tasks.gold_numbers("3.19 ± 0.10 GPa", "en") == [3.19, 0.10]
    assert tasks.gold_numbers("58-70 mm", "en") == [58.0, 70.0]
    assert tasks.gold_numbers("−25.9 °C", "en") == [-25.9]
    assert tasks.gold_numbers("4.3 × 10−8 m", "en") == [pytest.approx(4.3e-8)]
    assert tasks.gold_numbers("220 000 Soldaten", "de") == [220000.0]
    assert tasks.gold_numbers("6,9 Milliarden Dollar", "de") == [pytest.approx(6.9e9)]
    assert tasks.gold_numbers("12.000", "de") == [12000.0]
    # number words only where the text has no digits (a scale word is not a second number)
    assert tasks.gold_numbers("Five out of eight", "en") == [5.0, 8.0]
    assert tasks.gold_numbers("Two-hundred", "en") == [200.0]
    assert tasks.gold_numbers("drei Wochen", "de") == [3.0]
    assert tasks.gold_numbers("10 MILLIARDEN Euro", "de") == [1e10]


CARDS = "Rund 220 000 Soldaten, 10 Panzer und drei Wochen; Stufe 3."


def test_cardinal_recall_counts_only_gold_cardinals() -> None:
    gold = [
        _figure(CARDS, "220 000", 220000.0, cardinal=True),
        _figure(CARDS, "10", 10.0, cardinal=True),
        _figure(CARDS, "drei Wochen", 3.0),  # a DURATION: not a cardinal
        _figure(CARDS, "3", 3.0),  # a code ("Stufe 3"): not a cardinal
    ]
    # "220 000" split in two: found, and the first predicted figure (220) has the wrong value
    pred = [_figure(CARDS, "220", 220.0), _figure(CARDS, "000", 0.0)]
    m = _run_text("cardinal_recall", pred, gold, "de")
    assert (m.tp, m.fp, m.fn) == (1, None, 1)
    assert m.recall == 0.5 and m.values_right == 0.0
    assert m.precision is None and m.f1 is None and m.headline == "recall"
    assert m.score() == 0.5
    pred = [_figure(CARDS, "220 000", 220000.0), _figure(CARDS, "10", 10.0)]
    m = _run_text("cardinal_recall", pred, gold, "de")
    assert (m.tp, m.fn, m.recall, m.values_right) == (2, 0, 1.0, 1.0)


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
