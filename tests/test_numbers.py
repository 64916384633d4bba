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


# --- the scanner's shortcuts read as the plain forms did ---------------------------------------

SHAPES = (
    "11 000 Mann, 1.000.000 Euro, 3,5 %, 1\u200b000 Tonnen, 2011b, F-16, am 3. Oktober 2024 um "
    "14:30 Uhr, 3.10.2024, 2024-10-03, October 3, 2024, 7 pm, 5 a.m., Bu\u0308rger-Meister, "
    "x-y--z, ١٢ Panzer, 12 345 6789, rund 300, „mehr als 200“, (bis zu 5), fast 10, an estimated "
    "40, mindestens\u00a0 7."
)


def _texts() -> list[str]:
    seeds = sorted((Path(__file__).parent.parent / "seeds").glob("*.txt"))
    return [p.read_text(encoding="utf-8") for p in seeds] + [SHAPES]


def test_token_pattern_reads_tokens_as_the_plain_pattern_does() -> None:
    """The token pattern (possessive letter runs, words first) splits text as the plain one
    does: one letter at a time, digits first."""
    import re

    from extractor import numbers

    letters = r"(?:[^\W\d_]|[\u0300-\u036f])+"
    zw, d = numbers.ZERO_WIDTH, numbers._D
    plain = re.compile(
        r"(?=[\w\u0300-\u036f])(?:"
        rf"\d{{1,3}}(?:[ \u00a0\u202f\u2009]\d{{3}})+(?![\d{zw}]|[.,]\d)(?:,{d})?"
        rf"|{d}(?:[{zw}]*[.,][{zw}]*{d})*"
        rf"|{letters}(?:-{letters})*)"
    )
    for text in _texts():
        got = [m.span() for m in numbers._TOKEN_RE.finditer(text)]
        assert got == [m.span() for m in plain.finditer(text)]


def test_the_token_pass_finds_every_digit_run() -> None:
    from extractor import numbers

    for text in [*_texts(), "a_1 km² x\u200b12 11.000,5 12 345 6789 COVID19 ١٢.٣"]:
        _, runs = numbers._candidates(text, "de")
        assert runs == [m.start() for m in numbers._DIGIT_RUN.finditer(text)]


def test_one_words_are_candidates_only_before_a_scale_word() -> None:
    """The token pass leaves out "ein", "an", "one" unless a scale word follows; that drops
    nothing only because such a word is never an ordinal and counts only before a scale."""
    from extractor import numbers

    for word, lang in itertools.product(sorted(numbers._ONE_WORDS), ["de", "en", None]):
        for tok in (word, word.capitalize(), word.upper()):
            for before in ("", "the ", "die "):
                text = f"{before}{tok} Soldaten"
                assert numbers._ordinal_word(tok, text, len(before), lang) is None
    candidates, _ = numbers._candidates("ein Mann, eine Million, an hour, one billion", "de")
    assert [m.group() for m in candidates] == ["eine", "Million", "one", "billion"]
    assert values_in("eine Million Menschen und ein Mann", "de") == [1e6]
    assert values_in("one billion people and an hour", "en") == [1e9]


@pytest.mark.parametrize("lang", ["de", "en"])
def test_date_pre_pass_tries_the_patterns_where_any_matches(lang: str) -> None:
    from extractor import numbers

    patterns = numbers._DIGIT_FIRST_EN if lang == "en" else numbers._DIGIT_FIRST
    scan = numbers._DIGIT_FIRST_EN_AT if lang == "en" else numbers._DIGIT_FIRST_AT
    for text in _texts():
        runs = [m.start() for m in numbers._DIGIT_RUN.finditer(text)]
        want = [p for p in runs if any(rx.match(text, p) for rx, _kind in patterns)]
        assert [m.start() for m in scan.finditer(text)] == want
    assert [m.kind for m in find_numbers(SHAPES, lang) if m.text == "14:30 Uhr"] == ["time"]


def test_plain_digits_and_grouped_digits_parse() -> None:
    from extractor.numbers import _parse_digits

    assert _parse_digits("0012", None) == 12.0
    assert _parse_digits("١٢", "de") == 12.0
    assert _parse_digits("11 000", "de") == 11000.0
    assert _parse_digits("1\u200b000", "de") == 1000.0
    assert _parse_digits("1.5.3", "de") is None


def test_qualifier_cues_before_a_number() -> None:
    from extractor.numbers import _QUALIFIER_ENDS, _QUALIFIER_WORDS

    assert all(cue.split()[-1] in _QUALIFIER_ENDS for cue in _QUALIFIER_WORDS)
    found = {m.text: m.qualifier for m in find_numbers(SHAPES, "de") if m.kind == "quantity"}
    assert found["rund 300"] == "about"
    assert found["mehr als 200"] == "more_than"
    assert found["bis zu 5"] == "up_to"
    assert found["fast 10"] == "about"
    assert found["mindestens\u00a0 7"] == "at_least"


def test_grouped_digits_before_an_ordinal_suffix_are_a_quantity_not_a_crash() -> None:
    (mention,) = find_numbers("1,234,567.53rd place", "en")
    assert (mention.text, mention.value, mention.kind) == ("1,234,567.53", 1234567.53, "quantity")
    (ordinal,) = find_numbers("the 3rd round", "en")
    assert (ordinal.text, ordinal.kind) == ("3rd", "ordinal")
