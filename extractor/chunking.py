"""Cut a long article into overlapping chunks that each fit one model context, and split text
into sentences (the one splitter the package has: the offline analyzers use it too).

Cuts fall at paragraph breaks, else at sentence ends, else at whitespace, so no word is split
(unless a single "word" is longer than half a chunk). Each chunk after the first starts at a
sentence (or paragraph) start inside the last `overlap` characters of the chunk before it, so
a fact that straddles a cut is seen whole at least once; the caller merges the records.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from extractor import numbers
from extractor.errors import UsageError
from extractor.numbers import NumberKind, NumberMention

_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_SPACE = re.compile(r"\s+")
#: sentence-final punctuation and closing quotes/brackets, before whitespace that holds a line
#: break or leads (past opening quotes) to a capital or a digit
_BOUNDARY = re.compile(r"[.!?…]+[\"'“”’»«)\]]*(?=[ \t\u00a0]*\n|\s+[\"'„“‚‘»«(\[]?[A-ZÄÖÜ0-9])")
#: "Satz.Nächster": a sentence end without the space (it ends the match; the pattern starts at
#: the punctuation, so the scan skips ahead to it instead of trying every position)
_GLUED = re.compile(r"[.!?](?<=[a-zäöüß]{2}[.!?])(?=[A-ZÄÖÜ][a-zäöüß])")
_WORD_BEFORE = re.compile(r"([^\W\d_]+)$")
# fmt: off
#: words that end in a period without ending the sentence (German first, then English)
ABBREVIATIONS = frozenset({
    "abs", "art", "bd", "bspw", "bzgl", "bzw", "ca", "chr", "co", "dr", "ebd", "etc", "evtl", "f",
    "ff", "fr", "ggf", "hr", "hrsg", "inc", "jh", "jhd", "jr", "kap", "mio", "mrd", "bio", "nr",
    "prof", "s", "sog", "sr", "st", "str", "tel", "u", "usw", "v", "vgl", "vs", "z", "zb", "zit",
    "zzgl", "inkl", "tsd", "ggü", "max", "min", "d", "h", "a", "o", "ä", "jan", "feb", "mär",
    "apr", "jun", "jul", "aug", "sep", "sept", "okt", "nov", "dez", "mr", "mrs", "ms", "no",
    "vol", "e", "g", "i", "gen", "lt", "col", "sgt", "gov", "sen", "rep", "corp", "ltd", "fig",
    "figs", "eq", "eqs", "al", "approx", "resp", "dept", "univ",
})
# fmt: on


@dataclass(frozen=True)
class Sentence:
    """One sentence: `text == source[start:end]`, without surrounding whitespace."""

    start: int
    end: int
    text: str


def sentence_breaks(
    text: str, lo: int = 0, hi: int | None = None, mentions: Sequence[NumberMention] | None = None
) -> list[tuple[int, int]]:
    """(end of a sentence, start of the next) for every sentence end in text[lo:hi].

    A period is no end after an abbreviation or an initial ("z. B.", "Mio.", "J. Smith"), nor
    inside a date or ordinal ("am 3. Oktober", "die 2. Welle"), which `mentions` (the number
    mentions of `text`, found here when not given) tell.
    """
    hi = len(text) if hi is None else hi
    protected = None if mentions is None else _protected_dots(text, mentions)
    out: list[tuple[int, int]] = []
    for m in _BOUNDARY.finditer(text, lo, hi):
        dot = m.start()
        if text[dot] == ".":
            if _is_abbreviation(text, dot):
                continue
            if protected is None and dot > 0 and text[dot - 1].isdigit():
                window = max(0, dot - 20)
                near = [_shift(n, window) for n in numbers.find_numbers(text[window : dot + 25])]
                if dot in _protected_dots(text, near):
                    continue
            elif protected is not None and dot in protected:
                continue
        space = _SPACE.match(text, m.end())
        out.append((m.end(), space.end() if space else m.end()))
    return out


def _protected_dots(text: str, mentions: Sequence[NumberMention]) -> set[int]:
    """Periods inside dates, ordinals and abbreviated scale words ("3.", "3. Oktober", "Mio.")."""
    return {
        i
        for m in mentions
        if m.kind in (NumberKind.ORDINAL, NumberKind.DATE) or m.text.endswith(".")
        for i in range(m.start, m.end)
        if text[i] == "."
    }


def sentences(text: str, mentions: Sequence[NumberMention] | None = None) -> list[Sentence]:
    """The sentences of a text; a line break always ends one (headlines, list items)."""
    if mentions is None:
        mentions = numbers.find_numbers(text)
    cuts = {0, len(text)}
    cuts.update(m.end() for m in re.finditer(r"\n", text))
    cuts.update(end for end, _ in sentence_breaks(text, mentions=mentions))
    cuts.update(m.end() for m in _GLUED.finditer(text))
    out: list[Sentence] = []
    bounds = sorted(cuts)
    for a, b in itertools.pairwise(bounds):
        chunk = text[a:b]
        stripped = chunk.strip()
        if stripped:
            s = a + (len(chunk) - len(chunk.lstrip()))
            out.append(Sentence(s, s + len(stripped), stripped))
    return out


def _shift(m: NumberMention, by: int) -> NumberMention:
    return dataclasses.replace(m, start=m.start + by, end=m.end + by)


def _is_abbreviation(text: str, dot: int) -> bool:
    """Is the period at `dot` part of "z. B.", "Mio.", "Nr." or an initial?"""
    word = _WORD_BEFORE.search(text, max(0, dot - 20), dot)
    if word is None:
        return False
    w = word.group(1)
    return len(w) == 1 or w.lower() in ABBREVIATIONS


@dataclass(frozen=True)
class Chunk:
    """A slice of the text: `text == source[start:start + len(text)]`."""

    start: int
    text: str


def chunk_text(text: str, max_chars: int = 12000, overlap: int = 1000) -> list[Chunk]:
    """Cut `text` into chunks of at most `max_chars`, consecutive ones overlapping by ~`overlap`."""
    if max_chars < 2 or not 0 <= overlap < max_chars // 2:
        raise UsageError(
            f"chunk size {max_chars} with overlap {overlap} cannot make progress; "
            "use an overlap smaller than half the chunk size"
        )
    chunks: list[Chunk] = []
    pos = 0
    while len(text) - pos > max_chars:
        cut = _cut(text, pos + max_chars // 2, pos + max_chars)
        chunks.append(Chunk(pos, text[pos:cut]))
        pos = _next_start(text, max(pos + 1, cut - overlap), cut)
    chunks.append(Chunk(pos, text[pos:]))
    return chunks


def _cut(text: str, lo: int, hi: int) -> int:
    """Best end for a chunk in [lo, hi]: paragraph, else sentence, else word boundary."""
    last = None
    for m in _PARAGRAPH.finditer(text, lo, hi + 1):
        last = m.start()
    if last is not None:
        return last
    for end, _ in sentence_breaks(text, lo, hi + 1):
        last = end
    if last is not None:
        return last
    space = max(text.rfind(c, lo, hi + 1) for c in " \n\t")
    return space if space >= lo else hi


def _next_start(text: str, lo: int, cut: int) -> int:
    """First sentence (or paragraph) start in [lo, cut), else the first word start there."""
    candidates = [start for _, start in sentence_breaks(text, lo, cut) if start < len(text)][:1]
    paragraph = _PARAGRAPH.search(text, lo, cut)
    if paragraph:
        candidates.append(paragraph.end())
    candidates = [c for c in candidates if c < cut]
    if candidates:
        return min(candidates)
    space = _SPACE.search(text, lo, cut)
    return space.end() if space and space.end() < cut else cut
