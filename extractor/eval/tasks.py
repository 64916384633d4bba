"""Benchmarks' own headline metrics, computed by our code from our predictions and gold.

They sit next to our scores so that a number can be compared with a published one:

- `cue_overlap` (SpkAtt-2023 Task 2 / GePaDe): a predicted claim matches a gold claim when
  their cue words overlap in the article, one to one. A cue is located word by word, each word
  as a whole word in the record's evidence, in order.
- `quantity_overlap` (MeasEval Quantity, SmartData NUMBER): a predicted figure matches a gold
  figure when the predicted number (its `text` located in its evidence) overlaps the gold
  figure's evidence span (the benchmark's annotated quantity, e.g. "3.19 ± 0.10 GPa"), one to
  one; `values_right` is the share of matches whose values agree (`scoring.values_equal`).
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

import numpy as np

from extractor import errors, records
from extractor.eval import scoring
from extractor.eval.report import Kind, MatchMode, Report, TaskMetric
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

Tally = tuple[int, int, int, int]


def _cue_overlap(pred: records.ArticleResult | None, gold: records.GoldArticle) -> Tally:
    preds = [cue_ranges(c) for c in (pred.claims if pred else [])]
    golds = [cue_ranges(c) for c in gold.claims]
    n = len(_one_to_one(preds, golds))
    return n, len(preds) - n, len(golds) - n, 0


def _quantity_overlap(pred: records.ArticleResult | None, gold: records.GoldArticle) -> Tally:
    figures = pred.figures if pred else []
    pairs = _one_to_one(
        [number_range(f) for f in figures], [[f.span] if f.span else [] for f in gold.figures]
    )
    right = sum(values_equal(figures[p].value, gold.figures[g].value) for g, p in pairs)
    n = len(pairs)
    return n, len(figures) - n, len(gold.figures) - n, right


def _event_type(pred: records.ArticleResult | None, gold: records.GoldArticle) -> Tally:
    got = Counter(e.event_type for e in (pred.events if pred else []))
    want = Counter(e.event_type for e in gold.events)
    n = sum((got & want).values())
    return n, got.total() - n, want.total() - n, 0


PerArticle = Callable[[records.ArticleResult | None, records.GoldArticle], Tally]
TASKS: dict[str, PerArticle] = {
    "cue_overlap": _cue_overlap,
    "quantity_overlap": _quantity_overlap,
    "event_type": _event_type,
}
#: task metrics that report the share of matched figures with the right value
_WITH_VALUES = {"quantity_overlap"}


class TaskCounter:
    """Sums one task metric over the gold articles; `add` is a `scoring.ArticleObserver`."""

    def __init__(self, name: str) -> None:
        if name not in TASKS:
            raise errors.UsageError(f"unknown task metric {name!r}; pick from {', '.join(TASKS)}")
        self.name = name
        self.tp = self.fp = self.fn = self.right = 0

    def add(self, pred: records.ArticleResult | None, gold: records.GoldArticle) -> None:
        tp, fp, fn, right = TASKS[self.name](pred, gold)
        self.tp, self.fp, self.fn = self.tp + tp, self.fp + fp, self.fn + fn
        self.right += right

    def metric(self) -> TaskMetric:
        precision, recall, f1 = prf(self.tp, self.fp, self.fn)
        values_right = None
        if self.name in _WITH_VALUES and self.tp:
            values_right = self.right / self.tp
        return TaskMetric(
            name=self.name,
            description=DESCRIPTIONS[self.name],
            precision=precision,
            recall=recall,
            f1=f1,
            tp=self.tp,
            fp=self.fp,
            fn=self.fn,
            values_right=values_right,
        )


DESCRIPTIONS = {
    "cue_overlap": "claims whose cue words overlap a gold cue (SpkAtt cue overlap)",
    "quantity_overlap": "figures whose number overlaps a gold quantity span (MeasEval-style)",
    "event_type": "events of a gold event's type per article (PLOVER GSR event type)",
}


def compute(
    name: str, predictions: list[records.ArticleResult], gold: Mapping[str, records.GoldArticle]
) -> TaskMetric:
    """One task metric over a whole run (gold articles only; a missing prediction misses all)."""
    counter = TaskCounter(name)
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
) -> Report:
    """The report with the benchmark task metrics next to ours; predictions may stream."""
    counters = [TaskCounter(name) for name in task]
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
