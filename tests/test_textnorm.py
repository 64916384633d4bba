"""The shared text primitives: one fold table, one offset map, one float tolerance."""

from __future__ import annotations

import pytest

from extractor import textnorm
from extractor.cleaning import CleanText, clean
from extractor.eval import scoring
from extractor.textnorm import MappedText, close, fold


def test_fold_unifies_quotes_dashes_case_and_spacing() -> None:
    folded = fold("  „Die  Armee“ – sagt\u00adman\u200b:\n\tNEIN ")
    assert folded.text == '"die armee" - sagtman: nein'


def test_fold_maps_every_char_back_to_its_source() -> None:
    text = "Straße  „A“\n\n b"
    folded = fold(text)
    assert folded.text == 'strasse "a" b'
    assert folded.to_original(0, 7) == (0, 6)  # "strasse" is "Straße"
    assert folded.to_original(7, 8) == (6, 8)  # the collapsed run of two spaces
    assert folded.to_original(11, 12) == (11, 14)  # "\n\n " became one space
    assert text[slice(*folded.to_original(8, 11))] == "„A“"


def test_one_offset_map_for_cleaning_and_folding() -> None:
    assert issubclass(CleanText, MappedText)
    assert CleanText.to_original is MappedText.to_original
    cleaned = clean("a &amp;  b")
    assert cleaned.text == "a & b"
    assert cleaned.to_original(2, 3) == (2, 7)
    with pytest.raises(ValueError, match="outside"):
        fold("abc").to_original(1, 9)


def test_scoring_uses_the_same_fold_table() -> None:
    assert scoring.normalize_text("„Kursk“‐Region\u200b") == "kursk region"
    assert scoring.normalize_text("Ver\u00adluste ″12″") == "verluste 12"
    # a zero-width space no longer splits a word in two
    assert scoring.normalize_text("Nord\u200bkorea") == "nordkorea"


def test_one_tolerance() -> None:
    assert close(1.2e9, 1.2e9 * (1 + 1e-7))
    assert not close(300, 3000)
    assert not close(0.0, 1e-6)
    assert scoring.VALUE_REL_TOL == textnorm.REL_TOL and scoring.VALUE_ABS_TOL == textnorm.ABS_TOL
    for a, b in [(1.0, 1.0 + 1e-7), (1.0, 1.001), (0.0, 1e-10)]:
        assert scoring.values_equal(a, b) == close(a, b)
    assert scoring.values_equal(None, None) and not scoring.values_equal(1.0, None)
