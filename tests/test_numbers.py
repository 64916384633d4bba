from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from extractor.numbers import find_numbers, parse_number, values_in

DATA = Path(__file__).parent / "data" / "numbers"
SEEDS = Path(__file__).parent.parent / "seeds"
CASES = json.loads((DATA / "cases.json").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['language']}:{c['input']}" for c in CASES])
def test_first_mention_matches_case(case: dict) -> None:
    mentions = find_numbers(case["input"], case["language"])
    if case.get("none"):
        assert mentions == []
        return
    assert mentions, "no number found"
    first = mentions[0]
    for field, expected in case["expect"].items():
        got = getattr(first, field)
        if isinstance(expected, int | float) and not isinstance(expected, bool):
            assert got == pytest.approx(expected), field
        else:
            assert got == expected, field
    if "quantities" in case:
        assert values_in(case["input"], case["language"]) == case["quantities"]


@pytest.mark.parametrize("path", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.name)
def test_mentions_are_grounded_ordered_and_disjoint(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    mentions = find_numbers(text, "de")
    assert mentions
    for m in mentions:
        assert text[m.start : m.end] == m.text
    for a, b in itertools.pairwise(mentions):
        assert a.end <= b.start


def test_seed_004_quantities() -> None:
    text = (SEEDS / "004_8a3114eecaafb72d.txt").read_text(encoding="utf-8")
    quantities = {(m.text, m.value, m.unit, m.qualifier) for m in find_numbers(text, "de")
                  if m.kind == "quantity"}  # fmt: skip
    assert quantities == {
        ("bis zu 12.000", 12000.0, "Soldaten", "up_to"),
        ("etwa 12.000", 12000.0, "Soldaten", "about"),
        ("500", 500.0, "Offiziere", "exact"),
        ("drei", 3.0, "Generäle", "exact"),
        ("etwa 2.000 US-Dollar", 2000.0, "USD", "about"),
        ("etwa 600.000 Tonnen", 600000.0, "t", "about"),
    }


@pytest.mark.parametrize(
    ("expression", "language", "value"),
    [
        ("11.000", "de", 11000),
        ("11.000", None, 11000),
        ("1,2 Milliarden", "de", 1.2e9),
        ("drei", "de", 3),
        ("zwölftausend", "de", 12000),
        ("$2.5 billion", "en", 2.5e9),
        ("1,200", "en", 1200),
        ("1,200", "de", 1.2),
        ("1,200", "de-DE", 1.2),
        ("1,200", "en_US", 1200),
        ("2 Billionen", "de", 2e12),
        ("2 Billion", None, 2e12),
        ("2 billion", None, 2e9),
    ],
)
def test_parse_number(expression: str, language: str | None, value: float) -> None:
    assert parse_number(expression, language) == pytest.approx(value)


@pytest.mark.parametrize("expression", ["", "keine Zahl", "ein Mann", "one of them"])
def test_parse_number_none(expression: str) -> None:
    assert parse_number(expression) is None


def test_values_in_skips_years_dates_and_ordinals_and_keeps_range_bounds() -> None:
    text = "Am 3. Oktober 2024 kamen zum ersten Mal 200 bis 300 Soldaten, 2023 waren es 50."
    assert values_in(text, "de") == [200.0, 300.0, 50.0]


def test_language_is_guessed_when_not_given() -> None:
    assert values_in("Die Armee hat 1,200 Panzer und die Marine 3 Schiffe.") == [1.2, 3.0]
    assert values_in("The army has 1,200 tanks and the navy has 3 ships.") == [1200.0, 3.0]
