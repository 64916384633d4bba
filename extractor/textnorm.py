"""Text primitives that cleaning, grounding and scoring share, so each exists once: the fold
table, the offset map from a derived text back to its source, and the float tolerance.

The lowest core layer: it imports nothing from the package.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field

#: characters an article and a quote of it write differently without meaning anything else:
#: typographic quotes and dashes become ASCII, invisible characters disappear
FOLD_TABLE: dict[int, str] = str.maketrans(
    {
        **dict.fromkeys("„“”‟″«»「」", '"'),
        **dict.fromkeys("‚‘’‛′‹›`´", "'"),
        **dict.fromkeys("‐‑‒–—―−", "-"),
        **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff", ""),  # soft hyphen, zero-width
    }
)

#: relative and absolute tolerance under which two parsed numbers are the same value
REL_TOL = 1e-6
ABS_TOL = 1e-9


def close(a: float, b: float) -> bool:
    """Same value: parsing '1,2 Mrd.' and float arithmetic leave tiny differences."""
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


@dataclass(frozen=True)
class MappedText:
    """A text derived from a source text that remembers where each of its characters came from,
    so a span found in the derived text can be reported in the source's coordinates."""

    text: str
    #: len(text) + 1 entries: offsets[i] = index in the source of char i;
    #: offsets[len(text)] = len(source)
    offsets: list[int]
    #: source end (exclusive) of chars whose source is wider than one character (a decoded
    #: entity, a collapsed run of spaces, a tag turned into a space); others end at
    #: offsets[i] + 1
    ends: dict[int, int] = field(default_factory=dict, repr=False, compare=False)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of `text` to the source's [start, end)."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span [{start}, {end}) is outside the text")
        if start == end:
            return self.offsets[start], self.offsets[start]
        last = end - 1
        return self.offsets[start], self.ends.get(last, self.offsets[last] + 1)

    def starts_source_char(self, i: int) -> bool:
        """Whether position `i` is the first char made from its source char (or the end)."""
        return i == 0 or i == len(self.text) or self.offsets[i - 1] != self.offsets[i]


def fold(text: str) -> MappedText:
    """Casefold, NFKC, unify quotes and dashes, collapse whitespace; keep a map back to `text`.

    Each char is folded on its own (no context), so folding a span of `text` gives the same
    string as the matching span of `fold(text).text`.
    """
    out: list[str] = []
    offsets: list[int] = []
    ends: dict[int, int] = {}
    in_space = True  # drops leading whitespace
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
        mapped = ch.translate(FOLD_TABLE)
        if not mapped:
            continue
        for c in unicodedata.normalize("NFKC", mapped).casefold():
            out.append(c)
            offsets.append(i)
        in_space = False
    if out and out[-1] == " ":
        out.pop()
        offsets.pop()
        ends.pop(len(out), None)
    offsets.append(len(text))
    return MappedText("".join(out), offsets, ends)
