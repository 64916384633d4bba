from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from extractor.chunking import ABBREVIATIONS, Chunk, chunk_text, sentences
from extractor.errors import UsageError

DATA = Path(__file__).parent / "data" / "articles"
SEEDS = Path(__file__).parent.parent / "seeds"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def assert_well_formed(text: str, chunks: list[Chunk], max_chars: int, overlap: int) -> None:
    assert chunks[0].start == 0
    assert chunks[-1].start + len(chunks[-1].text) == len(text)
    for chunk in chunks:
        assert text[chunk.start : chunk.start + len(chunk.text)] == chunk.text
        assert 0 < len(chunk.text) <= max_chars
        end = chunk.start + len(chunk.text)
        # never inside a word
        assert not (
            chunk.start > 0 and text[chunk.start - 1].isalnum() and text[chunk.start].isalnum()
        )
        assert not (end < len(text) and text[end - 1].isalnum() and text[end].isalnum())
    for before, after in itertools.pairwise(chunks):
        shared = before.start + len(before.text) - after.start
        assert after.start > before.start
        assert 0 <= shared <= overlap  # no gap, and the overlap stays bounded


def test_short_text_is_one_chunk() -> None:
    text = read(SEEDS / "000_bc9a927a736966c8.txt")
    assert chunk_text(text) == [Chunk(0, text)]


def test_long_text_gives_overlapping_chunks_cut_at_sentences() -> None:
    text = read(SEEDS / "000_bc9a927a736966c8.txt")
    chunks = chunk_text(text, max_chars=500, overlap=100)
    assert len(chunks) >= 5
    assert_well_formed(text, chunks, 500, 100)
    for chunk in chunks[:-1]:
        assert chunk.text.endswith((".", "!", "?")), chunk.text[-30:]
    overlapping = [b for a, b in itertools.pairwise(chunks) if b.start < a.start + len(a.text)]
    assert len(overlapping) == len(chunks) - 1


def test_paragraph_breaks_are_preferred() -> None:
    text = read(SEEDS / "004_8a3114eecaafb72d.txt")
    chunks = chunk_text(text, max_chars=1000, overlap=200)
    assert_well_formed(text, chunks, 1000, 200)
    for chunk in chunks[:-1]:
        end = chunk.start + len(chunk.text)
        assert text[end : end + 2] == "\n\n"
    assert chunks[1].text.startswith("Es war das erste Gefecht")  # a sentence start in the overlap


def test_abbreviations_and_ordinals_do_not_end_a_chunk() -> None:
    text = read(DATA / "abbreviations.txt")
    chunks = chunk_text(text, max_chars=100, overlap=30)
    assert_well_formed(text, chunks, 100, 30)
    for chunk in chunks[:-1]:
        last_word = chunk.text.rstrip(".!?“").split()[-1].lower()
        assert last_word not in ABBREVIATIONS and not last_word.isdigit(), chunk.text
        assert len(last_word) > 1


def test_one_megabyte_text_chunks_fast() -> None:
    seed = read(SEEDS / "004_8a3114eecaafb72d.txt")
    text = (seed + "\n\n") * (1_000_000 // len(seed) + 1)
    started = time.perf_counter()
    chunks = chunk_text(text)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5
    assert len(chunks) > 80
    assert_well_formed(text, chunks, 12000, 1000)


def test_one_megabyte_without_paragraphs_chunks_fast() -> None:
    seed = read(SEEDS / "000_bc9a927a736966c8.txt").replace("\n", " ")
    text = (seed + " ") * (1_000_000 // len(seed) + 1)
    started = time.perf_counter()
    chunks = chunk_text(text)
    assert time.perf_counter() - started < 0.5
    assert_well_formed(text, chunks, 12000, 1000)
    assert all(c.text.endswith(".") for c in chunks[:-1])


@pytest.mark.parametrize(("max_chars", "overlap"), [(1000, 500), (1000, -1), (1, 0)])
def test_impossible_settings_are_usage_errors(max_chars: int, overlap: int) -> None:
    with pytest.raises(UsageError, match="overlap"):
        chunk_text("Ein Satz.", max_chars=max_chars, overlap=overlap)


def test_one_sentence_splitter_for_chunks_and_analyzers() -> None:
    from extractor.analyzers import text as analyzer_text
    from extractor.chunking import sentence_breaks, sentences

    assert analyzer_text.sentences is sentences
    text = read(DATA / "abbreviations.txt")
    found = sentences(text)
    ends = {s.end for s in found}
    for end, nxt in sentence_breaks(text):
        assert end in ends and text[end:nxt].isspace()
    for s in found:
        assert text[s.start : s.end] == s.text
        assert s.text.split()[-1].lower().rstrip(".") not in {"z", "b", "ca", "nr", "mio"}


def test_glued_sentence_ends_are_where_the_zero_width_pattern_finds_them() -> None:
    import re

    from extractor import chunking

    zero_width = re.compile(r"(?<=[a-zäöüß]{2}[.!?])(?=[A-ZÄÖÜ][a-zäöüß])")
    seeds = sorted((Path(__file__).parent.parent / "seeds").glob("*.txt"))
    texts = [p.read_text(encoding="utf-8") for p in seeds]
    texts.append("Satz.Nächster ok!Dann ab?Wer x.Yy aa.Bb cc.DD Ee.Ff äöü.Öl")
    for text in texts:
        want = [m.start() for m in zero_width.finditer(text)]
        assert [m.end() for m in chunking._GLUED.finditer(text)] == want
    assert [s.text for s in sentences("Er kam.Dann ging er.")] == ["Er kam.", "Dann ging er."]
