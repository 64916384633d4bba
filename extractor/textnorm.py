"""Text primitives that cleaning, grounding and scoring share, so each exists once: the fold
table, the offset map from a derived text back to its source, and the float tolerance.

The lowest core layer: it imports nothing from the package.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import re
import unicodedata
from collections.abc import Iterator, Sequence
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
    offsets: Sequence[int]
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


class Runs(Sequence[int]):
    """An offset map kept as runs: run k starts at `outs[k]` and maps its i-th character to
    `sources[k] + i` (a copied run) or to `sources[k]` (what one source character became).

    `fold` makes one entry per break in the text instead of one per character; a grounded
    quote then looks up a handful of offsets, by bisection.
    """

    __slots__ = ("_len", "_outs", "_sources", "_steps")

    def __init__(self) -> None:
        """An empty map: `add` its runs in order, then `close` it."""
        self._outs: list[int] = []
        self._sources: list[int] = []
        self._steps: list[int] = []
        self._len = 0

    @classmethod
    def identity(cls, length: int) -> Runs:
        """The map of a text of `length` characters to itself."""
        runs = cls()
        runs.add(0, 0, 1)
        return runs.close(length, length)

    def add(self, at: int, source: int, step: int) -> None:
        """A run from `at` on: its i-th character maps to `source + i` (step 1, copied text)
        or to `source` (step 0, what one source character or run became)."""
        self._outs.append(at)
        self._sources.append(source)
        self._steps.append(step)

    def close(self, end: int, source: int) -> Runs:
        """The last entry: the text's end `end` maps to `source` (the source's end). A run
        added at or past it (a trailing space dropped afterwards) is dropped too."""
        while self._outs and self._outs[-1] >= end:
            del self._outs[-1], self._sources[-1], self._steps[-1]
        self.add(end, source, 0)
        self._len = end + 1
        return self

    def within(self, lo: int, hi: int) -> Iterator[tuple[int, int, int]]:
        """(start, source, step) of each run's part inside [lo, hi), in order."""
        outs = self._outs
        k = max(0, bisect.bisect_right(outs, lo) - 1)
        while k < len(outs) and outs[k] < hi:
            at = max(lo, outs[k])
            yield at, self._sources[k] + (at - outs[k]) * self._steps[k], self._steps[k]
            k += 1

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[int]:
        ends = [*self._outs[1:], self._len]
        for out, end, source, step in zip(
            self._outs, ends, self._sources, self._steps, strict=True
        ):
            if step:
                yield from range(source, source + end - out)
            else:
                yield from itertools.repeat(source, end - out)

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of the same offsets, as the list it stands for was."""
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # like the list it stands for

    def __repr__(self) -> str:
        return f"Runs({list(self)!r})"

    def __getitem__(self, i: int) -> int:  # type: ignore[override]
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(i)
        k = bisect.bisect_right(self._outs, i) - 1
        return self._sources[k] + (i - self._outs[k]) * self._steps[k]


def fold(text: str) -> MappedText:
    """Casefold, NFKC, unify quotes and dashes, collapse whitespace; keep a map back to `text`.

    Each char is folded on its own (no context), so folding a span of `text` gives the same
    string as the matching span of `fold(text).text`. Only the text's distinct characters are
    folded in Python; runs of characters that `str.casefold` folds to the same one character
    are casefolded whole, so the loop runs per odd character (a typographic quote, "ß") or
    whitespace that is not one space between two words.
    """
    odd: list[str] = []  # characters that str.casefold does not fold to _fold_char's one char
    other_spaces: list[str] = []  # whitespace but " "
    for ch in set(text) - _ONE_TO_ONE:
        if ch.isspace():
            if ch != " ":
                other_spaces.append(ch)
        else:
            folded = _fold_char(ch)
            if len(folded) != 1 or folded != ch.casefold():
                odd.append(ch)
            else:
                _ONE_TO_ONE.add(ch)
    vanish = "".join(c for c in odd if not _fold_char(c))
    # usual text (no invisible characters, no double or edge spaces): the pattern is one
    # character class, which the regex engine skips to without trying every position
    simple = not vanish and "  " not in text and not text[:1].isspace() and text[-1:] != " "
    if simple:
        breaks = _breaks_simple("".join(other_spaces) + "".join(odd))
    else:
        breaks = _breaks(vanish, "".join(c for c in odd if _fold_char(c)))
    out: list[str] = []
    offsets = Runs()
    run = offsets.add
    ends: dict[int, int] = {}
    size = 0
    pos = 0
    for match in breaks.finditer(text):
        start, end = match.span()
        if simple and text[start].isspace() and start > pos and text[start - 1] == " ":
            start -= 1  # the run began with a space
        if start > pos:  # a plain run: one char out per char in
            out.append(text[pos:start].casefold())
            run(size, pos, 1)
            size += start - pos
        token = text[start:end]
        if (not token[0].isspace()) if simple else match.lastgroup == "odd":
            folded = _fold_char(token)
            out.append(folded)
            run(size, start, 0)
            size += len(folded)
        else:  # whitespace, perhaps with invisible characters inside: one space at most
            if token.isspace():  # the common case: no invisible characters inside
                first, last = start, end - 1
            else:
                spaces = [start + k for k, c in enumerate(token) if c.isspace()]
                first, last = (spaces[0], spaces[-1]) if spaces else (-1, -1)
            if first >= 0 and size and end < len(text):
                out.append(" ")
                run(size, first, 0)
                if last != first:
                    ends[size] = last + 1
                size += 1
        pos = end
    if pos < len(text):
        out.append(text[pos:].casefold())
        run(size, pos, 1)
    folded_text = "".join(out)
    if folded_text.endswith(" "):  # only invisible characters followed the last space
        folded_text = folded_text[:-1]
        ends.pop(len(folded_text), None)
    return MappedText(folded_text, offsets.close(len(folded_text), len(text)), ends)


#: the characters met so far that `str.casefold` folds to `_fold_char`'s one character (most
#: letters, digits and punctuation): `fold` looks at a text's other characters only
_ONE_TO_ONE: set[str] = {" "}

#: the characters `fold_text` has met, what each becomes (whitespace: _SPACE), and those that
#: `str.casefold` folds right on its own
_MET: set[str] = set()
_TEXT_TABLE: dict[int, str] = {}
_PLAIN: set[str] = {" "}
_SPACE = "\x00"


def fold_text(text: str) -> str:
    """`fold(text).text` without the offset map, for comparing short strings (a quote, a name).

    Most text is letters, digits and single spaces, which `str.casefold` folds as `fold` does;
    the rest goes through one `str.translate`, with a table that grows as characters are met.
    """
    chars = set(text)
    if chars <= _PLAIN:
        return " ".join(filter(None, text.casefold().split(" ")))
    for ch in chars - _MET:
        folded = _SPACE if ch.isspace() else _fold_char(ch)
        if folded == ch.casefold():
            _PLAIN.add(ch)
        if folded != ch:
            _TEXT_TABLE[ord(ch)] = folded
        _MET.add(ch)  # last: another thread that sees it met finds its table entry
    if _SPACE in chars:  # the marker itself: take the long way
        return fold(text).text
    return " ".join(filter(None, text.translate(_TEXT_TABLE).split(_SPACE)))


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch.translate(FOLD_TABLE)).casefold()


@functools.lru_cache(maxsize=256)
def _breaks_simple(chars: str) -> re.Pattern[str]:
    """Each whitespace character but " " with the whitespace after it, and odd characters."""
    return re.compile(rf"[{re.escape(chars)}](?:(?<=\s)\s*)?" if chars else r"(?!)")


@functools.lru_cache(maxsize=256)
def _breaks(vanish: str, odd: str) -> re.Pattern[str]:
    """Whitespace runs (with invisible characters inside them), and odd characters."""
    invisible = f"[{re.escape(vanish)}]*" if vanish else ""
    space = (
        rf"(?P<space>{invisible}(?:\s{invisible})+|[{re.escape(vanish)}]+)"
        if vanish
        else r"(?P<space>\s+)"
    )
    return re.compile(space + (f"|(?P<odd>[{re.escape(odd)}])" if odd else ""))
