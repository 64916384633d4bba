"""Cut a long article into overlapping chunks that each fit one model context.

Cuts fall at paragraph breaks, else at sentence ends, else at whitespace, so no word is split
(unless a single "word" is longer than half a chunk). Each chunk after the first starts at a
sentence (or paragraph) start inside the last `overlap` characters of the chunk before it, so
a fact that straddles a cut is seen whole at least once; the caller merges the records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractor.errors import UsageError

_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
#: sentence-final punctuation, closing quotes/brackets, then whitespace (group 1)
_SENTENCE_END = re.compile(r"[.!?…][\"'“”»«’)\]]*(\s+)")
_OPENING = "\"'„“‚‘»«(["
_WORD_BEFORE = re.compile(r"(\w+)$")
_SPACE = re.compile(r"\s+")
# fmt: off
#: words that end in a period without ending the sentence (German first, then English)
ABBREVIATIONS = frozenset({
    "abs", "art", "bd", "bspw", "bzgl", "bzw", "ca", "chr", "co", "dr", "ebd", "etc", "evtl", "f",
    "ff", "fr", "ggf", "hr", "hrsg", "inc", "jh", "jhd", "jr", "kap", "mio", "mrd", "nr", "prof",
    "s", "sog", "sr", "st", "str", "tel", "u", "usw", "v", "vgl", "vs", "z", "zb", "zit", "zzgl",
    "mr", "mrs", "ms", "no", "vol", "e", "g", "i", "gen", "lt", "col", "sgt", "gov", "sen", "rep"
})
# fmt: on


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
    for ws_start, _ in _sentence_breaks(text, lo, hi + 1):
        last = ws_start
    if last is not None:
        return last
    space = max(text.rfind(c, lo, hi + 1) for c in " \n\t")
    return space if space >= lo else hi


def _next_start(text: str, lo: int, cut: int) -> int:
    """First sentence (or paragraph) start in [lo, cut), else the first word start there."""
    candidates = [start for _, start in _sentence_breaks(text, lo, cut)][:1]
    paragraph = _PARAGRAPH.search(text, lo, cut)
    if paragraph:
        candidates.append(paragraph.end())
    candidates = [c for c in candidates if c < cut]
    if candidates:
        return min(candidates)
    space = _SPACE.search(text, lo, cut)
    return space.end() if space and space.end() < cut else cut


def _sentence_breaks(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """(whitespace start, next sentence start) of every sentence end in text[lo:hi]."""
    breaks = []
    for m in _SENTENCE_END.finditer(text, lo, hi):
        ws_start, nxt = m.span(1)
        if nxt >= len(text):
            continue
        if "\n" not in m.group(1):
            following = text[nxt : nxt + 2].lstrip(_OPENING)[:1]
            if not (following.isupper() or following.isdigit()):
                continue
            if m.group().startswith(".") and _is_abbreviation(text, m.start()):
                continue
        breaks.append((ws_start, nxt))
    return breaks


def _is_abbreviation(text: str, dot: int) -> bool:
    """Is the period at `dot` part of "z. B.", "Mio.", "Nr.", an initial or an ordinal ("3.")?"""
    word = _WORD_BEFORE.search(text, max(0, dot - 20), dot)
    if word is None:
        return False
    w = word.group(1)
    return len(w) == 1 or w.isdigit() or w.lower() in ABBREVIATIONS
