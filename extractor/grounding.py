"""Find each evidence quote in the article: exact, then normalised, then fuzzy.

The model only ever supplies the quote; the span and the status are computed here, so a
record whose quote is not in the article (invented, or copied from a few-shot example) cannot
pass as grounded.
"""

from __future__ import annotations

import bisect
import math
import unicodedata
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from extractor import numbers
from extractor.cleaning import CleanText
from extractor.records import ArticleExtraction, Claim, Event, Figure, Grounding

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


#: each chunk's draft with the window of the cleaned text it came from
Drafts = list[tuple[Any, tuple[int, int]]]


class Grounder:
    """Turns drafts into records: spans into the original text, statuses, figure checks."""

    def __init__(self, original: str, cleaned: CleanText, language: str | None) -> None:
        self.original = original
        self.cleaned = cleaned
        self.language = language
        self.aligner = Aligner(cleaned.text)

    def merge(self, drafts: Drafts) -> ArticleExtraction:
        """Ground every chunk's records and drop duplicates from overlapping chunks."""
        out = ArticleExtraction()
        seen: set[tuple[Any, ...]] = set()
        for draft, window in drafts:
            for name, cls in (("events", Event), ("claims", Claim), ("figures", Figure)):
                for item in getattr(draft, name):
                    record = self.ground(cls, item, window)
                    key = self._identity(name, record)
                    if key not in seen:
                        seen.add(key)
                        getattr(out, name).append(record)
        return out

    def ground(self, cls: type[Event | Claim | Figure], item: Any, window: tuple[int, int]) -> Any:
        data = item.model_dump(exclude={"span", "grounding", "flags"})
        record = cls.model_validate(data)
        hinted = getattr(item, "span", None)
        if hinted and self.cleaned.text[hinted[0] : hinted[1]] == record.evidence:
            span, status = tuple(hinted), Grounding.EXACT
        else:
            span, status = self._align(record.evidence, window)
        if span is not None:
            start, end = self.cleaned.to_original(*span)
            record.span = (start, end)
            if status == Grounding.EXACT and self.original[start:end] != record.evidence:
                status = Grounding.NORMALIZED  # markup or a repeated caption sat inside
        record.grounding = status
        if status == Grounding.NOT_FOUND:
            record.flags.append("ungrounded: evidence is not in the article")
        if isinstance(record, Figure):
            self._check_value(record)
        return record

    def _align(self, quote: str, window: tuple[int, int]) -> tuple[Any, Grounding]:
        """Prefer an exact hit inside the chunk the model saw, then anywhere."""
        q = quote.strip()
        pos = self.cleaned.text.find(q, window[0], window[1])
        if q and pos >= 0:
            return (pos, pos + len(q)), Grounding.EXACT
        return self.aligner.align(quote, window)

    def _check_value(self, fig: Figure) -> None:
        """The value must agree with the evidence; a disagreement is flagged, not kept."""
        found = numbers.values_in(fig.evidence, self.language)
        if not found:
            fig.flags.append("value_not_in_evidence")
            return
        if fig.value is None:
            fig.value = found[0] if len(found) == 1 else None
            return
        if any(close(fig.value, v) for v in found):
            return
        from_text = numbers.parse_number(fig.text, self.language)
        evidence_value = from_text if from_text in found else found[0]
        fig.flags.append(
            f"value_mismatch: model said {fig.value:g}, evidence says {evidence_value:g}"
        )
        fig.value = evidence_value

    def _identity(self, name: str, record: Any) -> tuple[Any, ...]:
        where = record.span if record.span else fold(record.evidence).text
        detail = {
            "events": lambda r: r.event_type,
            "claims": lambda r: fold(r.claimant).text,
            "figures": lambda r: r.value,
        }[name](record)
        return (where, detail)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
