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
from collections.abc import Callable, Iterator

import numpy as np
from scipy.optimize import linear_sum_assignment

from extractor import errors, records
from extractor.eval.report import TaskMetric
from extractor.eval.scoring import prf, values_equal

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
    rows, cols = linear_sum_assignment(-weights)
    return [(int(g), int(p)) for g, p in zip(rows, cols, strict=True) if sizes[g, p] > 0]


def _articles(
    predictions: list[records.ArticleResult], gold: dict[str, records.GoldArticle]
) -> Iterator[tuple[records.ArticleResult | None, records.GoldArticle]]:
    by_id = {p.article_id: p for p in predictions}
    for article_id in sorted(gold):
        yield by_id.get(article_id), gold[article_id]


def _metric(name: str, tp: int, fp: int, fn: int, values_right: float | None = None) -> TaskMetric:
    precision, recall, f1 = prf(tp, fp, fn)
    return TaskMetric(
        name=name,
        description=DESCRIPTIONS[name],
        precision=precision,
        recall=recall,
        f1=f1,
        tp=tp,
        fp=fp,
        fn=fn,
        values_right=values_right,
    )


def cue_overlap(
    predictions: list[records.ArticleResult], gold: dict[str, records.GoldArticle]
) -> TaskMetric:
    tp = fp = fn = 0
    for pred, gold_article in _articles(predictions, gold):
        preds = [cue_ranges(c) for c in (pred.claims if pred else [])]
        golds = [cue_ranges(c) for c in gold_article.claims]
        n = len(_one_to_one(preds, golds))
        tp, fp, fn = tp + n, fp + len(preds) - n, fn + len(golds) - n
    return _metric("cue_overlap", tp, fp, fn)


def quantity_overlap(
    predictions: list[records.ArticleResult], gold: dict[str, records.GoldArticle]
) -> TaskMetric:
    tp = fp = fn = right = 0
    for pred, gold_article in _articles(predictions, gold):
        pred_figures = pred.figures if pred else []
        pairs = _one_to_one(
            [number_range(f) for f in pred_figures],
            [[f.span] if f.span else [] for f in gold_article.figures],
        )
        right += sum(
            values_equal(pred_figures[p].value, gold_article.figures[g].value) for g, p in pairs
        )
        n = len(pairs)
        tp, fp, fn = tp + n, fp + len(pred_figures) - n, fn + len(gold_article.figures) - n
    return _metric("quantity_overlap", tp, fp, fn, right / tp if tp else None)


def event_type(
    predictions: list[records.ArticleResult], gold: dict[str, records.GoldArticle]
) -> TaskMetric:
    tp = fp = fn = 0
    for pred, gold_article in _articles(predictions, gold):
        got = Counter(e.event_type for e in (pred.events if pred else []))
        want = Counter(e.event_type for e in gold_article.events)
        n = sum((got & want).values())
        tp, fp, fn = tp + n, fp + got.total() - n, fn + want.total() - n
    return _metric("event_type", tp, fp, fn)


Task = Callable[[list[records.ArticleResult], dict[str, records.GoldArticle]], TaskMetric]
TASKS: dict[str, Task] = {
    "cue_overlap": cue_overlap,
    "quantity_overlap": quantity_overlap,
    "event_type": event_type,
}
DESCRIPTIONS = {
    "cue_overlap": "claims whose cue words overlap a gold cue (SpkAtt cue overlap)",
    "quantity_overlap": "figures whose number overlaps a gold quantity span (MeasEval-style)",
    "event_type": "events of a gold event's type per article (PLOVER GSR event type)",
}


def compute(
    name: str, predictions: list[records.ArticleResult], gold: dict[str, records.GoldArticle]
) -> TaskMetric:
    task = TASKS.get(name)
    if task is None:
        raise errors.UsageError(f"unknown task metric {name!r}; pick from {', '.join(TASKS)}")
    return task(predictions, gold)
