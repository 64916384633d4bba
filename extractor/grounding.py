"""Find each evidence quote in the article: exact, then normalised, then fuzzy.

The model only ever supplies the quote; the span and the status are computed here, so a
record whose quote is not in the article (invented, or copied from a few-shot example) cannot
pass as grounded. A record's `evidence` is then the article's own text at `span`.

The fuzzy step aligns words, not characters, so a quote that drops or adds a word is still
found, and its span starts and ends on a word of the quote (never on whitespace or on a
neighbouring word). A near match must still say the same thing: its numbers, negations and
capitalised words (names) must agree with the quote, else the quote is "not found".
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from extractor import numbers
from extractor.cleaning import CleanText
from extractor.records import ArticleExtraction, Claim, Event, Figure, Grounding
from extractor.textnorm import FOLD_TABLE, MappedText, close, fold, fold_text

__all__ = ["Aligner", "Alignment", "Drafts", "Grounder", "close", "disagreement", "fold"]

#: character similarity (0-100) of the quote's words and the span's words a fuzzy match needs
FUZZY_THRESHOLD = 90.0
#: quotes shorter than this are never matched fuzzily (too many false hits)
FUZZY_MIN_CHARS = 12
#: a quote of N words may lack this many words of its span: 1 + N // EXTRA_WORD_PER
EXTRA_WORD_PER = 8
#: similarity (0-100) under which a partly matching word at either end is left out of the span
EDGE_WORD_MIN = 75.0
#: candidate places per quote that get a word alignment, and how many distinct texts among the
#: best of them are checked for a changed number, negation or name
MAX_CANDIDATES = 32
MAX_CHECKS = 4

_WORD = re.compile(r"\w+")
_WORD_SPLIT = re.compile(r"(\w+)")
_DIGITS = re.compile(r"\d+")
_NEGATION = re.compile(
    r"\b(?:nicht|nichts|nie|niemals|niemand\w*|nirgend\w*|kein\w*|weder|ohne"
    r"|not|no|never|none|nobody|nothing|nowhere|neither|nor|cannot|without)\b|n't\b"
)


@dataclass(frozen=True)
class Alignment:
    """Where a quote is in the text (span in the aligned text's coordinates) and how found."""

    span: tuple[int, int] | None
    grounding: Grounding
    #: why a near match was refused (a number, negation or name differs), else None
    problem: str | None = None


NOT_FOUND = Alignment(None, Grounding.NOT_FOUND)


def disagreement(quote: str, found: str, language: str | None = None) -> str | None:
    """What `found` (the article's text at a near match) changes in `quote`, or None.

    Only meaning-bearing tokens count: the digits, the number values (so 'drei' vs 'vier'),
    the negations, and every capitalised word of the quote, which must line up with the same
    word in `found`. A quote may leave out an ordinary word, not a number or a negation.
    """
    if _digits(quote) != _digits(found):
        return "a number differs"
    if fold_text(quote) == fold_text(found):
        return None  # only case, spacing, quote marks or dashes differ
    q_values, f_values = numbers.values_in(quote, language), numbers.values_in(found, language)
    if len(q_values) != len(f_values) or not all(
        close(a, b) for a, b in zip(sorted(q_values), sorted(f_values), strict=True)
    ):
        return "a number differs"
    if _negations(quote) != _negations(found):
        return "a negation differs"
    q_words, f_words = _words_of(quote), _words_of(found)
    aligned: set[int] = set()
    for op in Indel.opcodes([w for w, _ in q_words], [w for w, _ in f_words]):
        if op.tag == "equal":
            aligned.update(range(op.src_start, op.src_end))
    for i, (_, word) in enumerate(q_words):
        if word[0].isupper() and i not in aligned:
            return f"a name differs ({word!r} is not in the article there)"
    return None


def _words_of(text: str) -> list[tuple[str, str]]:
    """(folded, as written) for each word."""
    return [
        (unicodedata.normalize("NFKC", m.group().translate(FOLD_TABLE)).casefold(), m.group())
        for m in _WORD.finditer(text)
    ]


def _digits(text: str) -> str:
    """All digits in order: '2.000' and '2000' agree here (their values are compared too)."""
    return unicodedata.normalize("NFKC", "".join(_DIGITS.findall(text)))


def _negations(text: str) -> Counter[str]:
    return Counter(_NEGATION.findall(fold_text(text)))


class Aligner:
    """Aligns many quotes against one text; the folded text and its word index are built once."""

    def __init__(
        self, text: str, fuzzy_threshold: float = FUZZY_THRESHOLD, language: str | None = None
    ) -> None:
        self.text = text
        self.fuzzy_threshold = fuzzy_threshold
        self.language = language
        self._folded: MappedText | None = None
        self._words: _Words | None = None

    @property
    def folded(self) -> MappedText:
        if self._folded is None:
            self._folded = fold(self.text)
        return self._folded

    @property
    def words(self) -> _Words:
        if self._words is None:
            self._words = _Words(self.folded.text)
        return self._words

    def align(self, quote: str, window: tuple[int, int] | None = None) -> Alignment:
        """Span of `quote` in the text and how it was found.

        `window` bounds the (expensive) fuzzy search to a region, e.g. the chunk the model saw.
        """
        quote = quote.strip()
        if not quote:
            return NOT_FOUND
        start = self.text.find(quote)
        if start >= 0:
            return Alignment((start, start + len(quote)), Grounding.EXACT)
        folded_quote = fold_text(quote)
        if not folded_quote:
            return NOT_FOUND
        span = self._normalized(folded_quote)
        if span is not None:
            return self._checked(quote, span, Grounding.NORMALIZED)
        if len(folded_quote) < FUZZY_MIN_CHARS:
            return NOT_FOUND
        return self._fuzzy(quote, folded_quote, window)

    def _checked(self, quote: str, span: tuple[int, int], status: Grounding) -> Alignment:
        problem = disagreement(quote, self.text[span[0] : span[1]], self.language)
        if problem is not None:
            return Alignment(None, Grounding.NOT_FOUND, problem)
        return Alignment(span, status)

    def _normalized(self, folded_quote: str) -> tuple[int, int] | None:
        """First occurrence in the folded text, preferring one that starts and ends a word."""
        hay = self.folded
        first: tuple[int, int] | None = None
        pos = hay.text.find(folded_quote)
        while pos >= 0:
            end = pos + len(folded_quote)
            # a hit inside one source char's folding (the second 's' of 'ß') is no hit
            if hay.starts_source_char(pos) and hay.starts_source_char(end):
                if _word_bounded(hay.text, pos, end):
                    return hay.to_original(pos, end)
                if first is None:
                    first = hay.to_original(pos, end)
            pos = hay.text.find(folded_quote, pos + 1)
        return first

    def _fuzzy(self, quote: str, folded_quote: str, window: tuple[int, int] | None) -> Alignment:
        """Best word alignment that meets the threshold and agrees on numbers and names."""
        q_words = _WORD.findall(folded_quote)
        if not q_words:
            return NOT_FOUND
        words = self.words
        lo, hi = 0, len(words.tokens)
        if window is not None and (window[0] > 0 or window[1] < len(self.text)):
            hay = self.folded
            lo = words.index_at(bisect.bisect_left(hay.offsets, window[0]))
            hi = words.index_at(bisect.bisect_left(hay.offsets, window[1]))
        scored = [
            (self._score(q_words, words.tokens[first : last + 1]), first, last)
            for first, last in set(self._candidates(q_words, lo, hi))
        ]
        scored.sort(key=lambda c: (-c[0], c[1]))  # best first, then the earliest
        refused: Alignment | None = None
        checked: set[str] = set()  # the text repeats (a caption, a copied paragraph): check once
        for score, first, last in scored:
            if score < self.fuzzy_threshold or len(checked) >= MAX_CHECKS:
                break
            start, end = self._widen(folded_quote, *words.span(first, last))
            span = self.folded.to_original(start, end)
            if self.text[span[0] : span[1]] in checked:
                continue
            checked.add(self.text[span[0] : span[1]])
            found = self._checked(quote, span, Grounding.FUZZY)
            if found.span is not None:
                return found
            refused = refused or found
        return refused or NOT_FOUND

    def _candidates(self, q_words: list[str], lo: int, hi: int) -> list[tuple[int, int]]:
        """Word ranges [first, last] of the text where the quote's words line up best.

        Each quote word votes for the offsets its occurrences imply; the best offsets get a
        full word alignment (rapidfuzz's Indel opcodes on word lists), and the span is cut to
        the run of matched words that covers the most quote words per extra text word.
        """
        n = len(q_words)
        slack = max(2, n // 4)
        # the rarer half of the quote's words vote: common words add cost, not information
        postings = self.words.positions(q_words, lo, hi)
        voters = sorted(((p, i) for i, p in enumerate(postings) if p), key=lambda v: len(v[0]))
        voters = voters[: max(4, math.ceil(n / 2))]
        votes: Counter[int] = Counter()
        for where, i in voters:
            votes.update(map((-i).__add__, where))  # counted at C speed
        if not votes:
            return []
        # each diagonal's votes summed over [d, d + slack], by prefix sums and bisection: all
        # of it in C (map), not a Python loop per diagonal
        diagonals = sorted(votes)
        before = [0, *itertools.accumulate(map(votes.__getitem__, diagonals))]
        upto = map(bisect.bisect_right, itertools.repeat(diagonals), map(slack.__add__, diagonals))
        minus = map(operator.sub, before, map(before.__getitem__, upto))  # minus the sums
        near = sorted(zip(minus, diagonals, strict=True))  # most votes first, then the earliest
        need = max(1, math.ceil(len(voters) / 2))
        out: list[tuple[int, int]] = []
        taken: list[int] = []
        for minus_count, d in near:
            if -minus_count < need or len(taken) >= MAX_CANDIDATES:
                break
            if any(abs(d - t) <= slack for t in taken):
                continue
            taken.append(d)
            a, b = max(lo, d - slack), min(hi, d + n + 2 * slack)
            matched = _best_run(q_words, self.words.tokens[a:b])
            if matched is not None:
                out.append((a + matched[0], a + matched[1]))
        return out

    def _score(self, q_words: list[str], span_words: list[str]) -> float:
        """About 100 when the span holds every quote word in order plus at most the allowed
        extra words (a tenth off per extra); otherwise the character similarity (0-100) of
        the two word sequences."""
        allowed = 1 + len(q_words) // EXTRA_WORD_PER
        extra = len(span_words) - len(q_words)
        if 0 <= extra <= allowed and Indel.distance(q_words, span_words) == extra:
            return 100.0 - extra / 10
        return fuzz.ratio(" ".join(q_words), " ".join(span_words))

    def _widen(self, folded_quote: str, start: int, end: int) -> tuple[int, int]:
        """Take in punctuation at either end when the quote has the same there ('.', '“')."""
        text = self.folded.text
        words = list(_WORD.finditer(folded_quote))
        head, tail = folded_quote[: words[0].start()], folded_quote[words[-1].end() :]
        if head and text[max(0, start - len(head)) : start] == head:
            start -= len(head)
        if tail and text[end : end + len(tail)] == tail:
            end += len(tail)
        return start, end


def _word_bounded(text: str, start: int, end: int) -> bool:
    return not (start > 0 and text[start - 1].isalnum() and text[start].isalnum()) and not (
        end < len(text) and text[end - 1].isalnum() and text[end].isalnum()
    )


def _best_run(q_words: list[str], region: list[str]) -> tuple[int, int] | None:
    """[first, last] region words of the aligned run that best covers the quote.

    Matched word pairs come from the LCS alignment. The run maximises two per matched word
    minus one per unmatched region word inside it, so it takes in up to two dropped words to
    reach one more quote word but leaves out a stray match beyond a longer gap. A partly
    matching word right outside the run (an inflected first or last word) is taken in.
    """
    pairs: list[tuple[int, int]] = []
    for op in Indel.opcodes(q_words, region):
        if op.tag == "equal":
            pairs.extend(
                zip(range(op.src_start, op.src_end), range(op.dest_start, op.dest_end), strict=True)
            )
    if not pairs:
        return None
    # the LCS may pair a repeated word ('der Art der Kriegsführung') with its far copy: move
    # each pair to the copy nearest its neighbour, so the gaps below are the real ones
    for k in range(len(pairs) - 2, -1, -1):
        (q, t), following = pairs[k], pairs[k + 1][1]
        if following - t < 2:
            continue  # next to its neighbour already (the usual case)
        later = [j for j in range(t + 1, following) if region[j] == q_words[q]]
        if later:
            pairs[k] = (q, later[-1])
    if len(pairs) > 1:
        (q, t), previous = pairs[-1], pairs[-2][1]
        earlier = [j for j in range(previous + 1, t) if region[j] == q_words[q]]
        if earlier:
            pairs[-1] = (q, earlier[0])
    # maximum-sum run (Kadane): 2 per match, minus 1 per unmatched word inside; ties go to
    # more matches, so a run takes in up to two dropped words to reach one more match
    best = current = (2, 1)
    best_a = best_b = a = 0
    for k in range(1, len(pairs)):
        gap = pairs[k][1] - pairs[k - 1][1]
        extended = (current[0] + 3 - gap, current[1] + 1)
        if extended >= (2, 1):
            current = extended
        else:
            current, a = (2, 1), k
        if current > best:
            best, best_a, best_b = current, a, k
    (qa, first), (qb, last) = pairs[best_a], pairs[best_b]
    while qa > 0 and first > 0 and fuzz.ratio(q_words[qa - 1], region[first - 1]) >= EDGE_WORD_MIN:
        qa, first = qa - 1, first - 1
    while (
        qb + 1 < len(q_words)
        and last + 1 < len(region)
        and fuzz.ratio(q_words[qb + 1], region[last + 1]) >= EDGE_WORD_MIN
    ):
        qb, last = qb + 1, last + 1
    return first, last


class _Words:
    """The words of the folded text with their positions, and where each word occurs."""

    def __init__(self, text: str) -> None:
        # split into [gap, word, gap, word, ...]: the running sum of the pieces' lengths gives
        # every word's start and end without a match object per word
        self._pieces = _WORD_SPLIT.split(text)
        self._summed = False  # whether `span` has summed the pieces once already
        self.tokens: list[str] = self._pieces[1::2]
        self._where: dict[str, list[int]] = defaultdict(list)
        for i, token in enumerate(self.tokens):
            self._where[token].append(i)

    @cached_property
    def starts(self) -> list[int]:
        """Where each word starts: a window smaller than the text needs them all."""
        return list(itertools.accumulate(map(len, self._pieces[:-1])))[::2]

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Where words first..last start and end. The first match of an article sums the
        pieces before it at C speed; from the second on, every word's start is built once."""
        if "starts" not in self.__dict__ and not self._summed:
            self._summed = True
            start = sum(map(len, itertools.islice(self._pieces, 2 * first + 1)))
            return start, start + sum(map(len, self._pieces[2 * first + 1 : 2 * last + 2]))
        return self.starts[first], self.starts[last] + len(self.tokens[last])

    def index_at(self, char: int) -> int:
        """Index of the first word starting at or after folded position `char`."""
        return bisect.bisect_left(self.starts, char)

    def positions(self, words: list[str], lo: int, hi: int) -> list[list[int]]:
        """Where each of `words` occurs in words [lo, hi); the caller must not change them."""
        if lo <= 0 and hi >= len(self.tokens):
            return list(map(self._where.get, words, itertools.repeat([])))
        out = []
        for word in words:
            where = self._where.get(word, [])
            out.append(where[bisect.bisect_left(where, lo) : bisect.bisect_left(where, hi)])
        return out


#: each chunk's draft with the window of the cleaned text it came from
Drafts = list[tuple[Any, tuple[int, int]]]


class Grounder:
    """Turns drafts into records: spans into the original text, statuses, figure checks."""

    def __init__(
        self,
        original: str,
        cleaned: CleanText,
        language: str | None,
        mentions: numbers.MentionIndex | None = None,
    ) -> None:
        """`mentions` are the cleaned text's numbers when the caller has them already."""
        self.original = original
        self.cleaned = cleaned
        self.language = language
        self.aligner = Aligner(cleaned.text, language=language)
        self._mentions = mentions

    @property
    def mentions(self) -> numbers.MentionIndex:
        if self._mentions is None:
            self._mentions = numbers.MentionIndex.of(self.cleaned.text, self.language)
        return self._mentions

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
        """A record whose `evidence` is the article's text at `span`; the model's own quote is
        kept in `quote` when it differs."""
        if type(item) is cls:  # the baseline's own records, validated when they were made
            update = {"span": None, "grounding": Grounding.NOT_FOUND, "flags": [], "quote": None}
            record = item.model_copy(update=update)
        else:
            data = item.model_dump(exclude={"span", "grounding", "flags", "quote"})
            record = cls.model_validate(data)
        hinted = getattr(item, "span", None)
        if hinted and self.cleaned.text[hinted[0] : hinted[1]] == record.evidence:
            found = Alignment(tuple(hinted), Grounding.EXACT)
        else:
            found = self._align(record.evidence, window)
        if found.span is not None:
            start, end = self.cleaned.to_original(*found.span)
            record.span = (start, end)
            status = found.grounding
            if self.original[start:end] != record.evidence:
                if status == Grounding.EXACT:
                    status = Grounding.NORMALIZED  # markup or a repeated caption sat inside
                record.quote = record.evidence
                record.evidence = self.original[start:end]
            record.grounding = status
        else:
            record.grounding = Grounding.NOT_FOUND
            reason = found.problem or "evidence is not in the article"
            record.flags.append(f"ungrounded: {reason}")
        if isinstance(record, Figure):
            self._check_value(record, found.span)
        return record

    def _align(self, quote: str, window: tuple[int, int]) -> Alignment:
        """Prefer an exact hit inside the chunk the model saw, then anywhere."""
        q = quote.strip()
        pos = self.cleaned.text.find(q, window[0], window[1])
        if q and pos >= 0:
            return Alignment((pos, pos + len(q)), Grounding.EXACT)
        return self.aligner.align(quote, window)

    def _check_value(self, fig: Figure, span: tuple[int, int] | None) -> None:
        """The value must agree with the article's text at the span (the model's quote when
        ungrounded); a disagreement is flagged, and the text's value kept.

        A value that equals a number the whole text's scan found inside the span agrees (the
        usual case, a lookup); anything else is decided by reading the span on its own.
        """
        if (
            span is not None
            and fig.value is not None
            and any(close(fig.value, v) for v in self.mentions.values(*span))
        ):
            return
        evidence = fig.evidence if span is None else self.cleaned.text[span[0] : span[1]]
        found = numbers.values_in(evidence, self.language)
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
        where = record.span if record.span else fold_text(record.evidence)
        detail = {
            "events": lambda r: r.event_type,
            "claims": lambda r: fold_text(r.claimant),
            "figures": lambda r: r.value,
        }[name](record)
        return (where, detail)
