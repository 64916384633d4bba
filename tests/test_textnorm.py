"""The shared text primitives: one fold table, one offset map, one float tolerance."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _fold_per_char(text: str) -> MappedText:
    """The definition `fold` must keep: every character folded on its own, one at a time."""
    import unicodedata

    out: list[str] = []
    offsets: list[int] = []
    ends: dict[int, int] = {}
    in_space = True
    for i, ch in enumerate(text):
        if ch.isspace():
            if in_space:
                if out and out[-1] == " ":
                    ends[len(out) - 1] = i + 1
                continue
            out.append(" ")
            offsets.append(i)
            in_space = True
            continue
        for c in unicodedata.normalize("NFKC", ch.translate(textnorm.FOLD_TABLE)).casefold():
            out.append(c)
            offsets.append(i)
            in_space = False
    if out and out[-1] == " ":
        out.pop()
        offsets.pop()
        ends.pop(len(out), None)
    offsets.append(len(text))
    return MappedText("".join(out), offsets, ends)


#: the characters fold treats apart (whitespace runs and edges, invisible and multi-character
#: ones, the marker fold_text uses), mixed with any others
_TEXTS = st.text(
    alphabet=st.sampled_from(list("aB ß\t\n„“–\u00ad\u200bﬁ¨Ⅻé.1 \x00  İ\u0301")) | st.characters(),
    max_size=60,
)


@given(_TEXTS)
@settings(max_examples=400, deadline=None)
def test_fold_equals_folding_each_character_alone(text: str) -> None:
    fast, slow = fold(text), _fold_per_char(text)
    assert fast.text == slow.text
    assert fast.offsets == slow.offsets
    assert {k: v for k, v in fast.ends.items()} == slow.ends


@given(_TEXTS)
@settings(max_examples=400, deadline=None)
def test_fold_text_is_folds_text(text: str) -> None:
    assert textnorm.fold_text(text) == fold(text).text
