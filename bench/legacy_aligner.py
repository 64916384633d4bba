"""Frozen copy of the aligner as of commit 682927c (extractor/grounding.py), kept only so
bench/grounding_recall.py can print the old and the new aligner side by side. Not used by
the package; do not import it anywhere else.
"""

from __future__ import annotations

import bisect
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz

from extractor.records import Grounding

#: partial_ratio score (0-100) a fuzzy alignment needs; below it the quote is "not found"
FUZZY_THRESHOLD = 90.0
#: quotes shorter than this are never matched fuzzily (too many false hits)
FUZZY_MIN_CHARS = 12

_FOLD = {
    **dict.fromkeys("„“”‟″«»「」", '"'),
    **dict.fromkeys("‚‘’‛′‹›`´", "'"),
    **dict.fromkeys("‐‑‒–—―−", "-"),
    "\u00ad": "",  # soft hyphen
    "\u200b": "",  # zero-width space
}


@dataclass(frozen=True)
class Folded:
    """Text in normalised form, with the original index of every normalised character."""

    text: str
    index: list[int]  # len(text) + 1 entries; the last is len(original)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        return self.index[start], self.index[end - 1] + 1 if end > start else self.index[start]


def fold(text: str) -> Folded:
    """Casefold, unify quotes and dashes, collapse whitespace; keep a map back to `text`."""
    out: list[str] = []
    index: list[int] = []
    last_space = True
    for i, ch in enumerate(text):
        if ch.isspace():
            if not last_space:
                out.append(" ")
                index.append(i)
            last_space = True
            continue
        mapped = _FOLD.get(ch, ch)
        for c in unicodedata.normalize("NFKC", mapped).casefold():
            out.append(c)
            index.append(i)
        last_space = False
    if out and out[-1] == " ":
        out.pop()
        index.pop()
    index.append(len(text))
    return Folded("".join(out), index)


class Aligner:
    """Aligns many quotes against one text; the folded text is computed once."""

    def __init__(self, text: str, fuzzy_threshold: float = FUZZY_THRESHOLD) -> None:
        self.text = text
        self.fuzzy_threshold = fuzzy_threshold
        self._folded: Folded | None = None

    @property
    def folded(self) -> Folded:
        if self._folded is None:
            self._folded = fold(self.text)
        return self._folded

    def align(
        self, quote: str, window: tuple[int, int] | None = None
    ) -> tuple[tuple[int, int] | None, Grounding]:
        """Span of `quote` in the text and how it was found.

        `window` bounds the (expensive) fuzzy search to a region, e.g. the chunk the model saw.
        """
        quote = quote.strip()
        if not quote:
            return None, Grounding.NOT_FOUND
        start = self.text.find(quote)
        if start >= 0:
            return (start, start + len(quote)), Grounding.EXACT
        folded_quote = fold(quote).text
        if not folded_quote:
            return None, Grounding.NOT_FOUND
        hay = self.folded
        pos = hay.text.find(folded_quote)
        if pos >= 0:
            return hay.to_original(pos, pos + len(folded_quote)), Grounding.NORMALIZED
        if len(folded_quote) < FUZZY_MIN_CHARS:
            return None, Grounding.NOT_FOUND
        lo, hi = 0, len(hay.text)
        if window is not None:
            # map the original window into folded coordinates (index is non-decreasing)
            lo = bisect.bisect_left(hay.index, window[0])
            hi = bisect.bisect_left(hay.index, window[1])
        found = fuzz.partial_ratio_alignment(
            folded_quote, hay.text[lo:hi], score_cutoff=self.fuzzy_threshold
        )
        if found is None or found.dest_end <= found.dest_start:
            return None, Grounding.NOT_FOUND
        start, end = self._trim_to_words(lo + found.dest_start, lo + found.dest_end)
        return hay.to_original(start, end), Grounding.FUZZY

    def _trim_to_words(self, start: int, end: int) -> tuple[int, int]:
        """Widen a fuzzy hit to whole words so the span never cuts a word in half."""
        text = self.folded.text
        while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
            start -= 1
        while end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
            end += 1
        return start, end
