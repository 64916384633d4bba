"""Benchmarks' own headline metrics, computed by our code from our predictions and gold.

They sit next to our scores so that a number can be compared with a published one:

- `cue_overlap` (SpkAtt-2023 Task 2 / GePaDe): a predicted claim matches a gold claim when
  their cue words overlap in the article, one to one. A cue is located word by word, each word
  as a whole word in the record's evidence, in order.
- `quantity_overlap` (MeasEval Quantity, SmartData NUMBER): many-to-one, as MeasEval scores
  a list ("3, 5 and 7 K") as one Quantity. A predicted figure counts when its number (its
  `text` located in its evidence) overlaps a gold figure's evidence span, else it is a false
  positive; a gold figure is found (TP) when a predicted number overlaps it, else it is a miss.
  Precision = counted predictions / predictions, recall = found gold / gold, F1 their harmonic
  mean (three predicted items of one gold list: 1 TP, 0 FP, `counted` 3). `values_right`: the
  share of counted predictions whose value equals (within `scoring.values_equal`'s tolerance)
  the value of a gold figure it overlaps or any number written in that gold figure's evidence
  (`gold_numbers`: each item of a list or range, both sides of "3.19 ± 0.10").
- `cardinal_recall` (SmartData, the issue's "German cardinals"): recall only, over the gold
  figures flagged `cardinal` by the importer (cardinal numbers under GUIDELINES §5.1). A gold
  cardinal is found when a predicted number overlaps it; its value is right when the first
  overlapping predicted figure (in article order) has the gold value. `values_right` is the share
  of found cardinals with the right value. No precision: predictions are not labelled cardinal.
- `event_type` (PLOVER GSR): per article, an event of a gold event's type is a hit (each
  predicted and gold event counts once); other events are false positives, unfound types misses.
  Spans are ignored, as in the GSR scoring, where each record is one sentence.

Predictions for articles without gold are ignored; a gold article without a prediction counts
as all missed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

import numpy as np
from text_to_num import text2num

from extractor import errors, records
from extractor.eval import scoring
from extractor.eval.report import Kind, MatchMode, Report, TaskMetric, TaskName
from extractor.eval.scoring import assign, prf, values_equal

Range = tuple[int, int]


def _word_ranges(words: list[str], evidence: str, offset: int) -> list[Range]:
    """Each word found as a whole word in `evidence`, in order, as article offsets."""
    found: list[Range] = []
    pos = 0
    for word in words:
        m = re.search(rf"(?<!\w){re.escape(word)}(?!\w)", evidence[pos:], re.IGNORECASE)
        if m is None:
            continue
        found.append((offset + pos + m.start(), offset + pos + m.end()))
        pos += m.end()
    return found


def cue_ranges(claim: records.Claim) -> list[Range]:
    if claim.span is None:
        return []
    return _word_ranges(claim.cue.split(), claim.evidence, claim.span[0])


def number_range(figure: records.Figure) -> list[Range]:
    """The figure's number in the article: its `text` in its evidence, else the evidence."""
    if figure.span is None:
        return []
    start = figure.evidence.find(figure.text) if figure.text else -1
    if start < 0:
        return [figure.span]
    begin = figure.span[0] + start
    return [(begin, begin + len(figure.text))]


def _overlap(a: list[Range], b: list[Range]) -> int:
    return sum(max(0, min(x[1], y[1]) - max(x[0], y[0])) for x in a for y in b)


#: gold flag an importer sets on a figure that is a cardinal number (GUIDELINES §5.1)
CARDINAL = "cardinal"

# A number written with digits, with an optional sign, thousands groups, decimals, an exponent
# ("× 10−8", "e-8") and a scale word; German groups with "." or a space and writes "," for the
# decimal mark, other languages (MeasEval's English) the other way round.
_GROUPED = {
    "de": r"\d{1,3}(?:[. \u00a0\u202f]\d{3})+(?:,\d+)?(?!\d)|\d+(?:,\d+)?",
    "en": r"\d{1,3}(?:[,\u00a0\u202f\u2009]\d{3})+(?:\.\d+)?(?!\d)|\d+(?:\.\d+)?|\.\d+",
}
_SCALES = {
    "de": {"tsd": 1e3, "tausend": 1e3, "mio": 1e6, "million": 1e6, "millionen": 1e6,
           "mrd": 1e9, "milliarde": 1e9, "milliarden": 1e9, "billion": 1e12, "billionen": 1e12},
    "en": {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12},
}  # fmt: skip
_NUMBERS = {
    lang: re.compile(
        rf"(?<![\w.,])(?P<sign>[-−])?(?P<num>{grouped})"
        r"(?:\s*[×x]\s*10\s*(?P<exp>[-−–]?\d+)|[eE](?P<e>[-−+]?\d+))?"
        r"(?:\s*(?P<scale>[^\W\d_]+))?"
    )
    for lang, grouped in _GROUPED.items()
}


def gold_numbers(text: str, language: str | None) -> list[float]:
    """Every number written with digits in a gold quantity ("3, 5 and 7 K" -> 3, 5, 7), else
    every number word; read plainly (text2num), not by `extractor.numbers`, whose readings are
    what is being scored."""
    lang = "de" if language == "de" else "en"
    out: list[float] = []
    for m in _NUMBERS[lang].finditer(text):
        raw = re.sub(r"[\s\u00a0\u202f\u2009]", "", m["num"])
        raw = raw.replace(".", "").replace(",", ".") if lang == "de" else raw.replace(",", "")
        value = float(raw)
        # a hyphen between two numbers is a range dash, not a minus sign
        if m["sign"] and (m["sign"] == "−" or not text[: m.start()].rstrip()[-1:].isdigit()):
            value = -value
        exp = m["exp"] or m["e"]
        if exp:
            value *= 10.0 ** int(re.sub("[−–]", "-", exp).replace("+", ""))
        scale = (m["scale"] or "").rstrip(".").lower()
        out.append(value * _SCALES[lang].get(scale, 1.0))
    if out:
        return out
    # no digits: number words ("Five out of eight", "Two-hundred", "drei Wochen")
    for word in re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)*", text):
        for part in (word, *word.split("-")) if "-" in word else (word,):
            try:
                out.append(float(text2num(part.replace("-", " ").lower(), lang)))
            except ValueError:
                continue
            break
    return out


def _value_right(value: float | None, gold: records.Figure, language: str | None) -> bool:
    if values_equal(value, gold.value):
        return True
    return any(values_equal(value, v) for v in gold_numbers(gold.evidence, language))


def _one_to_one(preds: list[list[Range]], golds: list[list[Range]]) -> list[tuple[int, int]]:
    """(gold, pred) pairs whose ranges overlap, as many as possible, most overlap first."""
    if not preds or not golds:
        return []
    sizes = np.array([[_overlap(p, g) for p in preds] for g in golds], dtype=float)
    if not sizes.any():
        return []
    # maximise the number of pairs first, then the overlap (a pair's weight is 1 + share)
    weights = np.where(sizes > 0, 1.0 + sizes / (sizes.max() + 1.0), 0.0)
    return assign(weights, sizes > 0)


# --- per article: (tp, fp, fn, values right) -------------------------------------------------


class Tally(NamedTuple):
    tp: int  # gold records found
    fp: int | None  # predictions that do not count; None when the metric counts none
    fn: int  # gold records missed
    right: int  # counted predictions with the right value
    counted: int  # predictions that count (tp, unless several may count for one gold record)


def _cue_overlap(
    pred: records.ArticleResult | None, gold: records.GoldArticle, language: str | None
) -> Tally:
    preds = [cue_ranges(c) for c in (pred.claims if pred else [])]
    golds = [cue_ranges(c) for c in gold.claims]
    n = len(_one_to_one(preds, golds))
    return Tally(n, len(preds) - n, len(golds) - n, 0, n)


def _quantity_overlap(
    pred: records.ArticleResult | None, gold: records.GoldArticle, language: str | None
) -> Tally:
    figures = pred.figures if pred else []
    golds = [[f.span] if f.span else [] for f in gold.figures]
    found: set[int] = set()
    counted = right = 0
    for figure in figures:
        number = number_range(figure)
        hits = [g for g, ranges in enumerate(golds) if _overlap(number, ranges)]
        if not hits:
            continue
        counted += 1
        found.update(hits)
        right += any(_value_right(figure.value, gold.figures[g], language) for g in set(hits))
    return Tally(len(found), len(figures) - counted, len(golds) - len(found), right, counted)


def _cardinal_recall(
    pred: records.ArticleResult | None, gold: records.GoldArticle, language: str | None
) -> Tally:
    figures = sorted(pred.figures if pred else [], key=lambda f: f.span or (0, 0))
    numbers = [number_range(f) for f in figures]
    found = right = 0
    cardinals = [f for f in gold.figures if CARDINAL in f.flags and f.span]
    for want in cardinals:
        hit = (f for f, n in zip(figures, numbers, strict=True) if _overlap(n, [want.span]))
        first = next(hit, None)
        if first is None:
            continue
        found += 1
        right += values_equal(first.value, want.value)
    return Tally(found, None, len(cardinals) - found, right, found)


def _event_type(
    pred: records.ArticleResult | None, gold: records.GoldArticle, language: str | None
) -> Tally:
    got = Counter(e.event_type for e in (pred.events if pred else []))
    want = Counter(e.event_type for e in gold.events)
    n = sum((got & want).values())
    return Tally(n, got.total() - n, want.total() - n, 0, n)


PerArticle = Callable[[records.ArticleResult | None, records.GoldArticle, str | None], Tally]
TASKS: dict[TaskName, PerArticle] = {
    "cue_overlap": _cue_overlap,
    "quantity_overlap": _quantity_overlap,
    "cardinal_recall": _cardinal_recall,
    "event_type": _event_type,
}
#: task metrics that report the share of matched figures with the right value
_WITH_VALUES = {"quantity_overlap", "cardinal_recall"}
#: task metrics that count gold only: recall is their headline, precision is not defined
_RECALL_ONLY = {"cardinal_recall"}


class TaskCounter:
    """Sums one task metric over the gold articles; `add` is a `scoring.ArticleObserver`.

    `language` is the gold texts' language, for reading the numbers in a gold quantity."""

    def __init__(self, name: str, language: str | None = None) -> None:
        if name not in TASKS:
            raise errors.UsageError(f"unknown task metric {name!r}; pick from {', '.join(TASKS)}")
        self.name = name
        self.language = language
        self.tp = self.fp = self.fn = self.right = self.counted = 0

    def add(self, pred: records.ArticleResult | None, gold: records.GoldArticle) -> None:
        tally = TASKS[self.name](pred, gold, self.language)
        self.tp, self.fn = self.tp + tally.tp, self.fn + tally.fn
        self.fp += tally.fp or 0
        self.right, self.counted = self.right + tally.right, self.counted + tally.counted

    def metric(self) -> TaskMetric:
        values_right = None
        if self.name in _WITH_VALUES and self.counted:
            values_right = self.right / self.counted
        recall_only = self.name in _RECALL_ONLY
        recall = prf(self.tp, self.fp, self.fn)[1]
        precision: float | None = None
        f1: float | None = None
        if not recall_only:
            precision = prf(self.counted, self.fp, self.fn)[0]
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return TaskMetric(
            name=self.name,
            description=DESCRIPTIONS[self.name],
            precision=precision,
            recall=recall,
            f1=f1,
            tp=self.tp,
            fp=None if recall_only else self.fp,
            fn=self.fn,
            counted=self.counted if self.counted != self.tp else None,
            values_right=values_right,
            headline="recall" if recall_only else "f1",
        )


DESCRIPTIONS = {
    "cue_overlap": "claims whose cue words overlap a gold cue (SpkAtt cue overlap)",
    "quantity_overlap": "figures whose number overlaps a gold quantity span, many to one "
    "(MeasEval-style: a list is one quantity)",
    "cardinal_recall": "gold cardinal numbers overlapped by a predicted number (recall only)",
    "event_type": "events of a gold event's type per article (PLOVER GSR event type)",
}


def compute(
    name: str,
    predictions: list[records.ArticleResult],
    gold: Mapping[str, records.GoldArticle],
    language: str | None = None,
) -> TaskMetric:
    """One task metric over a whole run (gold articles only; a missing prediction misses all)."""
    counter = TaskCounter(name, language)
    by_id = {p.article_id: p for p in predictions}
    for article_id in sorted(gold):
        counter.add(by_id.get(article_id), gold[article_id])
    return counter.metric()


def evaluate(
    predictions: Iterable[records.ArticleResult],
    gold: Mapping[str, records.GoldArticle],
    *,
    matching: MatchMode,
    threshold: float,
    types: list[Kind],
    task: list[str],
    language: str | None = None,
) -> Report:
    """The report with the benchmark task metrics next to ours; predictions may stream."""
    counters = [TaskCounter(name, language) for name in task]
    result = scoring.score(
        predictions,
        gold,
        threshold=threshold,
        mode=matching,
        types=types,
        observers=[c.add for c in counters],
    )
    result.task = [c.metric() for c in counters]
    return result
