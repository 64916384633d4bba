from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from extractor.cleaning import CleanText, clean

DATA = Path(__file__).parent / "data" / "articles"
SEEDS = Path(__file__).parent.parent / "seeds"
SEED_004 = SEEDS / "004_8a3114eecaafb72d.txt"
SEED_000 = SEEDS / "000_bc9a927a736966c8.txt"
MARKUP = DATA / "markup.txt"


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")  # keeps \r\n, unlike read_text


def assert_offsets_point_at_sources(original: str, cleaned: CleanText) -> None:
    """Each cleaned char comes from the same char, an entity, or whitespace/a tag."""
    assert len(cleaned.offsets) == len(cleaned.text) + 1
    assert cleaned.offsets[-1] == len(original)
    assert cleaned.offsets == sorted(cleaned.offsets)
    for i, ch in enumerate(cleaned.text):
        source = original[cleaned.offsets[i]]
        if source == ch:
            continue
        if source == "&":
            start = cleaned.offsets[i]
            assert ch in html.unescape(original[start : cleaned.ends[i]]), (i, ch)
        else:
            assert ch.isspace() and (source.isspace() or source == "<"), (i, ch, source)


def test_seed_004_loses_the_span_and_the_repeated_caption() -> None:
    original = read(SEED_004)
    cleaned = clean(original)
    assert "<span" not in cleaned.text and "</span>" not in cleaned.text
    caption = "Ukrainische Soldaten feuern eine Haubitze auf feindliche Stellungen."
    assert original.count(caption) == 2
    assert cleaned.text.count(caption) == 1
    assert cleaned.text.count("Stellungen.Libkos/AP/dpa") == 1
    # everything after the caption is untouched
    body = "Die ukrainische Armee hat zum ersten Mal"
    assert cleaned.text[cleaned.text.index(body) :] == original[original.index(body) :]


def test_seed_004_offsets_property() -> None:
    original = read(SEED_004)
    assert_offsets_point_at_sources(original, clean(original))


def test_caption_maps_back_over_the_removed_tag() -> None:
    original = read(SEED_004)
    cleaned = clean(original)
    quote = "Stellungen.Libkos/AP/dpa"
    start = cleaned.text.index(quote)
    a, b = cleaned.to_original(start, start + len(quote))
    assert original[a:b] == 'Stellungen.<span class="copyright">Libkos/AP/dpa'


def test_clean_text_is_unchanged() -> None:
    original = read(SEED_000)
    cleaned = clean(original)
    assert cleaned.text == original
    assert cleaned.offsets == list(range(len(original) + 1))


def test_markup_fixture_is_cleaned() -> None:
    cleaned = clean(read(MARKUP))
    text = cleaned.text
    assert "\r" not in text
    assert "<" not in text.replace("a < b", "")  # tags and comment gone, prose "<" kept
    assert "Streik bei der Bahn – Pendler warten\xa0vergeblich\n\n" in text
    assert "aufgerufen. Betroffen sind Fern- und Regionalzüge.\n" in text  # <br> became a space
    assert "sagte: „Wir haben keine Wahl.“ Mehr dazu & zum Hintergrund." in text
    assert text.count("Ein Zug im Bahnhof Fulda.") == 1  # duplicate line, spacing aside
    assert '"unbezahlbar"; AT&T und a < b bleiben stehen.' in text
    assert "ad slot" not in text


def test_markup_offsets_property() -> None:
    original = read(MARKUP)
    assert_offsets_point_at_sources(original, clean(original))


def test_entity_maps_to_its_source_range() -> None:
    original = read(MARKUP)
    cleaned = clean(original)
    i = cleaned.text.index("„")
    assert cleaned.to_original(i, i + 1) == (
        original.index("&#8222;"),
        original.index("&#8222;") + len("&#8222;"),
    )
    quote = "„Wir haben keine Wahl.“"
    start = cleaned.text.index(quote)
    a, b = cleaned.to_original(start, start + len(quote))
    assert original[a:b] == "&#8222;Wir   haben\tkeine Wahl.&#8220;"

    word = "Regionalzüge"
    start = cleaned.text.index(word)
    a, b = cleaned.to_original(start, start + len(word))
    assert original[a:b] == "Regionalz&#252;ge"


@pytest.mark.parametrize("path", [SEED_004, MARKUP])
def test_plain_words_map_to_the_same_words(path: Path) -> None:
    original = read(path)
    cleaned = clean(original)
    checked = 0
    for m in re.finditer(r"\w+(?: \w+)*", cleaned.text):
        a, b = cleaned.to_original(*m.span())
        if "&" in original[a:b] or "<" in original[a:b] or "\t" in original[a:b]:
            continue
        assert original[a:b] == m.group(), m.group()
        checked += 1
    assert checked > 10


def test_to_original_rejects_spans_outside_the_text() -> None:
    cleaned = clean("a &amp; b")
    assert cleaned.text == "a & b"
    assert cleaned.to_original(2, 2) == (2, 2)
    assert cleaned.to_original(0, 5) == (0, 9)
    with pytest.raises(ValueError, match="outside"):
        cleaned.to_original(3, 9)
