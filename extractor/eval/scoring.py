"""Score predictions against hand-labelled gold: pair records, count, and keep what went wrong.

Pairing follows the MeasEval / SpkAtt scorers: per article and per record type, predicted
records are paired one-to-one with gold records by Hungarian assignment
(`scipy.optimize.linear_sum_assignment`) on a similarity in [0, 1]. A pair counts as a true
positive only when its similarity is at least `MATCH_THRESHOLD`; otherwise the gold record is
missed (FN) and the prediction is spurious (FP). Sub-threshold similarities are zeroed before
the assignment, so two weak pairs never outweigh one good one.

Similarity (see `similarity`):
- evidence overlap: character IoU of the two `span`s when both are present and valid, else
  the Jaccard overlap of the normalised evidence tokens (a prediction that could not be
  grounded still gets credit for quoting the right words);
- events: `event_type` must match, else 0; then the evidence overlap;
- claims: `CLAIM_WEIGHTS` = 0.6 evidence + 0.4 claimant (rapidfuzz `token_set_ratio` of the
  normalised names / 100);
- figures: `FIGURE_WEIGHTS` = 0.6 evidence + 0.25 value equal within tolerance (relative
  `VALUE_REL_TOL`, absolute `VALUE_ABS_TOL`) + 0.15 unit equal (case-insensitive).
So a figure quoting the same words with a wrong value still matches (0.75) and shows up as a
wrong `value` field; a figure that also gets the unit wrong needs an evidence IoU of at least 5/6.

That is the `lenient` mode. The `strict` mode (`MatchMode.STRICT`) admits a pair only when
- every type: the evidence spans overlap by at least `STRICT_MIN_OVERLAP` (half) of the shorter
  span (of the shorter token set when a span is missing);
- events: the same `event_type`;
- claims: the same cue (normalised) and claimant names that share a word (waived when the gold
  record names no claimant);
- figures: an equal value (within the tolerance below) and, where gold has a unit, an equal unit
  (`strict_units_equal`: symbols are case-sensitive, counted nouns are not);
and then weighs it by that overlap. Every report carries both modes' counts (`Report.modes`).

Rates with an empty denominator: precision (recall) is 1.0 when an article or run has neither
predictions nor gold, else 0.0 when nothing was predicted (nothing is gold); F1 is
2TP / (2TP + FP + FN), and 1.0 when all three are 0. Macro F1 is the mean of per-article F1
over every gold article, so an article with no gold and no predictions counts as 1.0.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from pydantic_core import to_json
from rapidfuzz import fuzz

from extractor import errors, records, textnorm
from extractor.eval.gold import GoldSet
from extractor.eval.gold import load_gold as load_gold
from extractor.eval.report import (
    KINDS,
    MATCH_THRESHOLD,
    ArticleStore,
    Counts,
    Kind,
    Latency,
    MatchMode,
    Meta,
    Report,
    SuiteSet,
    Summary,
    Tokens,
    TypeMetrics,
)

SCORER_VERSION = "2"
CLAIM_WEIGHTS = {"evidence": 0.6, "claimant": 0.4}
FIGURE_WEIGHTS = {"evidence": 0.6, "value": 0.25, "unit": 0.15}
VALUE_REL_TOL = textnorm.REL_TOL
VALUE_ABS_TOL = textnorm.ABS_TOL
#: rapidfuzz score (0-100) from which free-text fields (message, measured, names) agree
FUZZY_FIELD_MIN = 80
#: strict mode: the share of the shorter evidence span two records must share
STRICT_MIN_OVERLAP = 0.5
#: strict mode: units up to this many characters are symbols, compared case-sensitively
STRICT_SYMBOL_MAX = 3

MISSING_PREDICTION = "missing_prediction"

Record = records.Event | records.Claim | records.Figure

# --- normalisation -------------------------------------------------------------------------

_TOKEN = re.compile(r"\w+")
#: the fold table's invisible characters (soft hyphen, zero-width), which join the word they
#: split; its quotes and dashes need no mapping here, as punctuation falls away anyway
_VANISH = re.compile(
    "[" + re.escape("".join(chr(c) for c, to in textnorm.FOLD_TABLE.items() if not to)) + "]"
)


def normalize_text(text: str | None) -> str:
    """Casefolded, NFKC, punctuation-free and single-spaced: what two annotators agree on.

    Quotes, dashes and other punctuation fall away with the non-word characters; a soft hyphen
    or a zero-width character joins the word it splits (the core fold table).
    """
    if not text:
        return ""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        if _VANISH.search(text):  # rare: a search is much cheaper than translating every text
            text = _VANISH.sub("", text)
    return " ".join(_TOKEN.findall(text.casefold()))


def values_equal(a: float | None, b: float | None) -> bool:
    """Numbers agree after normalisation when equal within the relative/absolute tolerance."""
    if a is None or b is None:
        return a is None and b is None
    return textnorm.close(a, b)


def units_equal(a: str | None, b: str | None) -> bool:
    return (a or "").strip().casefold() == (b or "").strip().casefold()


def _names_score(na: str, nb: str) -> float:
    """0-1 on normalised names: 'Ryder' and 'Pat Ryder' are one speaker (token_set_ratio)."""
    if not na and not nb:
        return 1.0
    return fuzz.token_set_ratio(na, nb) / 100.0


def names_similarity(a: str | None, b: str | None) -> float:
    """0-1: 'Ryder' and 'Pat Ryder' are the same speaker, hence token_set_ratio."""
    return _names_score(normalize_text(a), normalize_text(b))


# --- prepared records: each string normalised once, not once per pair ------------------------


@dataclass(slots=True, init=False)
class Prepared:
    """A record with its normalised strings, each computed once however many pairs use it.

    `memo` may be shared by the records of one article: gold and predicted records quote the
    same sentences and name the same speakers, and each distinct string is normalised once.
    """

    rec: Any
    memo: dict[str, str]
    _cache: dict[str, Any]

    def __init__(self, rec: Any, memo: dict[str, str] | None = None) -> None:
        self.rec, self.memo, self._cache = rec, {} if memo is None else memo, {}

    def norm(self, name: str) -> str:
        """`normalize_text` of a string field, memoised."""
        value = self._cache.get(name)
        if value is None:
            value = self._cache[name] = self._normalize(getattr(self.rec, name, None))
        return value

    def _normalize(self, text: str | None) -> str:
        if not text:
            return ""
        value = self.memo.get(text)
        if value is None:
            value = self.memo[text] = normalize_text(text)
        return value

    def names(self, name: str) -> frozenset[str]:
        """A list field of names as a set of normalised names, memoised."""
        key = f"{name}[]"
        value = self._cache.get(key)
        if value is None:
            value = frozenset(self._normalize(x) for x in getattr(self.rec, name)) - {""}
            self._cache[key] = value
        return value

    def tokens(self, name: str) -> frozenset[str]:
        key = f"{name}{{}}"
        value = self._cache.get(key)
        if value is None:
            value = self._cache[key] = frozenset(self.norm(name).split())
        return value


def _prepare(recs: Iterable[Any], memo: dict[str, str] | None = None) -> list[Prepared]:
    shared: dict[str, str] = {} if memo is None else memo
    return [Prepared(r, shared) for r in recs]


# --- similarity ------------------------------------------------------------------------------


def _valid_span(span: tuple[int, int] | None, text_len: int | None) -> tuple[int, int] | None:
    if span is None:
        return None
    start, end = span
    if start < 0 or end <= start or (text_len is not None and end > text_len):
        return None
    return start, end


def _overlaps(
    pred: Prepared,
    gold: Prepared,
    ps: tuple[int, int] | None,
    gs: tuple[int, int] | None,
) -> tuple[float, float]:
    """(IoU, overlap over the shorter) of two records' spans, or of their evidence tokens when a
    span is missing (a prediction that could not be grounded still gets credit for its words)."""
    if ps is None or gs is None:
        pt, gt = pred.tokens("evidence"), gold.tokens("evidence")
        if not pt or not gt:
            return 0.0, 0.0
        n = len(pt & gt)
        return n / (len(pt) + len(gt) - n), n / min(len(pt), len(gt))
    inter = max(min(ps[1], gs[1]) - max(ps[0], gs[0]), 0)
    lp, lg = ps[1] - ps[0], gs[1] - gs[0]
    return inter / (lp + lg - inter), inter / min(lp, lg)


def evidence_overlap(pred: Record, gold: Record, text_len: int | None = None) -> float:
    """Character IoU of the spans, or token Jaccard of the evidence when a span is missing."""
    spans = _valid_span(pred.span, text_len), _valid_span(gold.span, text_len)
    return _overlaps(Prepared(pred), Prepared(gold), *spans)[0]


def strict_units_equal(pred: str | None, gold: str | None) -> bool:
    """Units as symbols: 'mW' is not 'MW'; counted nouns ('Soldaten') ignore case."""
    a = unicodedata.normalize("NFKC", pred or "").strip()
    b = unicodedata.normalize("NFKC", gold or "").strip()
    if a == b:
        return True
    return min(len(a), len(b)) > STRICT_SYMBOL_MAX and a.casefold() == b.casefold()


#: the most a lenient pair scores without any shared evidence (its claimant; value and unit)
_WITHOUT_EVIDENCE = {
    "events": 0.0,
    "claims": CLAIM_WEIGHTS["claimant"],
    "figures": FIGURE_WEIGHTS["value"] + FIGURE_WEIGHTS["unit"],
}


class _Candidates:
    """The (gold, pred) pairs of one article and record type that can match, with both modes'
    evidence overlaps: pairs whose spans overlap, or that lack a span (compared by tokens).

    A pair whose spans do not overlap scores 0 in strict mode and at most `_WITHOUT_EVIDENCE`
    in lenient mode, below any usual threshold: skipping it leaves every match as it is and
    spares the similarity of most pairs. With a threshold that low (or `every`), every pair is
    a candidate. Both modes' similarities are computed from these (`lenient`, `strict`)."""

    def __init__(
        self,
        kind: str,
        preds: list[Prepared],
        golds: list[Prepared],
        text_len: int | None,
        threshold: float,
        every: bool = False,
    ) -> None:
        self.kind, self.preds, self.golds = kind, preds, golds
        self.shape = (len(golds), len(preds))
        every = every or threshold <= _WITHOUT_EVIDENCE[kind]
        ps = [_valid_span(r.rec.span, text_len) for r in preds]
        spanned = [(p, span[0], span[1]) for p, span in enumerate(ps) if span is not None]
        unspanned = [p for p, span in enumerate(ps) if span is None]
        everyone = range(len(preds))
        #: (gold, pred, IoU, overlap over the shorter), gold-major
        self.pairs: list[tuple[int, int, float, float]] = []
        append = self.pairs.append
        for g, gold in enumerate(golds):
            gs = _valid_span(gold.rec.span, text_len)
            if gs is not None and not every and not unspanned:
                # the usual case, `_overlaps` inlined: spans overlap when each starts before the
                # other ends
                start, end = gs
                lg = end - start
                for p, s, e in spanned:
                    if s < end and e > start:
                        inter, lp = min(e, end) - max(s, start), e - s
                        append((g, p, inter / (lp + lg - inter), inter / min(lp, lg)))
                continue
            near: Iterable[int] = everyone
            if gs is not None and not every:
                start, end = gs
                near = sorted([*(p for p, s, e in spanned if s < end and e > start), *unspanned])
            for p in near:
                append((g, p, *_overlaps(preds[p], gold, ps[p], gs)))

    def of(self, mode: MatchMode) -> list[tuple[int, int, float]]:
        """(gold, pred, similarity) of every candidate pair in `mode`."""
        return self.strict() if mode == MatchMode.STRICT else self.lenient()

    def lenient(self) -> list[tuple[int, int, float]]:
        preds, golds = self.preds, self.golds
        if self.kind == "events":
            return [
                (g, p, iou if preds[p].rec.event_type == golds[g].rec.event_type else 0.0)
                for g, p, iou, _ in self.pairs
            ]
        if self.kind == "claims":
            ew, cw = CLAIM_WEIGHTS["evidence"], CLAIM_WEIGHTS["claimant"]
            return [
                (
                    g,
                    p,
                    ew * iou
                    + cw * _names_score(preds[p].norm("claimant"), golds[g].norm("claimant")),
                )
                for g, p, iou, _ in self.pairs
            ]
        ew, vw, uw = FIGURE_WEIGHTS["evidence"], FIGURE_WEIGHTS["value"], FIGURE_WEIGHTS["unit"]
        out = []
        for g, p, iou, _ in self.pairs:
            pr, gr = preds[p].rec, golds[g].rec
            same_value = values_equal(pr.value, gr.value)
            out.append((g, p, ew * iou + vw * same_value + uw * units_equal(pr.unit, gr.unit)))
        return out

    def strict(self) -> list[tuple[int, int, float]]:
        """The overlap over the shorter span where every strict condition holds, else 0."""
        out = []
        for g, p, _, shorter in self.pairs:
            if shorter >= STRICT_MIN_OVERLAP and self._strict_ok(self.preds[p], self.golds[g]):
                out.append((g, p, shorter))
        return out

    def _strict_ok(self, pred: Prepared, gold: Prepared) -> bool:
        pr, gr = pred.rec, gold.rec
        if self.kind == "events":
            return bool(pr.event_type == gr.event_type)
        if self.kind == "claims":
            if pred.norm("cue") != gold.norm("cue"):
                return False
            names = gold.tokens("claimant")
            return not names or bool(pred.tokens("claimant") & names)
        return values_equal(pr.value, gr.value) and (
            not gr.unit or strict_units_equal(pr.unit, gr.unit)
        )


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown record type {kind!r}; expected one of {', '.join(KINDS)}")


def similarity(
    kind: str,
    pred: Any,
    gold: Any,
    text_len: int | None = None,
    mode: MatchMode = MatchMode.LENIENT,
) -> float:
    """How well `pred` stands for `gold`, in [0, 1]; the rules are in the module docstring."""
    _check_kind(kind)
    pair = _Candidates(kind, [Prepared(pred)], [Prepared(gold)], text_len, 0.0, every=True)
    found = pair.of(mode)
    return found[0][2] if found else 0.0


# --- per-field agreement over matched pairs -------------------------------------------------


def _names_agree(a: str, b: str) -> bool:
    """Normalised names of one speaker: 'Ryder' and 'Pat Ryder' (see `_names_score`)."""
    return _names_score(a, b) * 100 >= FUZZY_FIELD_MIN


def _texts_agree(a: str, b: str) -> bool:
    """Normalised free texts that say nearly the same (rapidfuzz `ratio`)."""
    return (not a and not b) or fuzz.ratio(a, b) >= FUZZY_FIELD_MIN


# Each field agrees when its values are equal; otherwise, for text, when the normalised values
# agree (equal, equal sets, or close enough): the check that normalises runs only when the raw
# values differ, as normalising is most of the cost of the fields. One function per record
# type, a dict in report order: a check per field through closures cost twice as much.


def _event_fields(p: Prepared, g: Prepared) -> dict[str, bool]:
    pr, gr = p.rec, g.rec
    return {
        "event_type": pr.event_type == gr.event_type,
        "actors": pr.actors == gr.actors or p.names("actors") == g.names("actors"),
        "recipients": (
            pr.recipients == gr.recipients or p.names("recipients") == g.names("recipients")
        ),
        "location": pr.location == gr.location or p.norm("location") == g.norm("location"),
        "date": pr.date == gr.date,
        "magnitude": pr.magnitude == gr.magnitude,
    }


def _claim_fields(p: Prepared, g: Prepared) -> dict[str, bool]:
    pr, gr = p.rec, g.rec
    return {
        "claimant": (
            pr.claimant == gr.claimant or _names_agree(p.norm("claimant"), g.norm("claimant"))
        ),
        "claimant_role": (
            pr.claimant_role == gr.claimant_role
            or p.norm("claimant_role") == g.norm("claimant_role")
        ),
        "cue": pr.cue == gr.cue or p.norm("cue") == g.norm("cue"),
        "speech": pr.speech == gr.speech,
        "hedging": pr.hedging == gr.hedging,
        "message": pr.message == gr.message or _texts_agree(p.norm("message"), g.norm("message")),
    }


def _figure_fields(p: Prepared, g: Prepared) -> dict[str, bool]:
    pr, gr = p.rec, g.rec
    return {
        "value": values_equal(pr.value, gr.value),
        "unit": units_equal(pr.unit, gr.unit),
        "measured": (
            pr.measured == gr.measured or _texts_agree(p.norm("measured"), g.norm("measured"))
        ),
        "qualifier": pr.qualifier == gr.qualifier,
        "attributed_to": (
            pr.attributed_to == gr.attributed_to
            or _names_agree(p.norm("attributed_to"), g.norm("attributed_to"))
        ),
    }


#: the fields each record type is checked on, in report order (a test holds the checks to it)
FIELDS: dict[str, tuple[str, ...]] = {
    "events": ("event_type", "actors", "recipients", "location", "date", "magnitude"),
    "claims": ("claimant", "claimant_role", "cue", "speech", "hedging", "message"),
    "figures": ("value", "unit", "measured", "qualifier", "attributed_to"),
}
_FIELD_CHECKS: dict[str, Callable[[Prepared, Prepared], dict[str, bool]]] = {
    "events": _event_fields,
    "claims": _claim_fields,
    "figures": _figure_fields,
}


def field_agreement(kind: str, pred: Any, gold: Any) -> dict[str, bool]:
    return _fields(kind, Prepared(pred), Prepared(gold))


def _fields(kind: str, p: Prepared, g: Prepared) -> dict[str, bool]:
    return _FIELD_CHECKS[kind](p, g)


# --- pairing ---------------------------------------------------------------------------------


def _pairs(
    candidates: _Candidates, threshold: float, mode: MatchMode
) -> list[tuple[int, int, float]]:
    """The (gold, pred, similarity) matches among the candidates in `mode`."""
    # strict pairs carry their own bar (STRICT_MIN_OVERLAP); the threshold is lenient's
    bar = 0.0 if mode == MatchMode.STRICT else threshold
    usable = [(g, p, v) for g, p, v in candidates.of(mode) if v >= bar and v > 0.0]
    if len({g for g, _, _ in usable}) < len(usable) or len({p for _, p, _ in usable}) < len(usable):
        # a row or column with two usable pairs: the Hungarian assignment decides
        weights = np.zeros(candidates.shape)
        rows, cols, values = zip(*usable, strict=True)
        weights[rows, cols] = values
        chosen = set(_hungarian(weights))
        usable = [(g, p, v) for g, p, v in usable if (g, p) in chosen]
    return usable


def _match_prepared(
    kind: str,
    preds: list[Prepared],
    golds: list[Prepared],
    threshold: float,
    mode: MatchMode,
    text_len: int | None = None,
) -> list[tuple[int, int, float]]:
    if not preds or not golds:
        return []
    return _pairs(_Candidates(kind, preds, golds, text_len, threshold), threshold, mode)


def assign(weights: np.ndarray, usable: np.ndarray) -> list[tuple[int, int]]:
    """The one-to-one (row, column) pairing of largest total weight, usable pairs only
    (Hungarian assignment, `_hungarian`).

    Weights must be positive where usable. When no row and no column has two usable pairs, every
    usable pair is in the best assignment: they are returned without running it (the usual case,
    and most of the scorer's time when it ran for every article)."""
    if usable.sum(axis=0).max(initial=0) <= 1 and usable.sum(axis=1).max(initial=0) <= 1:
        rows, cols = np.nonzero(usable)
        return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True)]
    return [(r, c) for r, c in _hungarian(weights) if usable[r, c]]


def _hungarian(weights: np.ndarray) -> list[tuple[int, int]]:
    """scipy's assignment of largest total weight, every (row, column) it pairs (scipy is
    imported here: it costs 0.5 s that `--help` need not pay)."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(-weights)
    return list(zip(rows.tolist(), cols.tolist(), strict=True))


def match(
    kind: str,
    preds: list[Any],
    golds: list[Any],
    threshold: float = MATCH_THRESHOLD,
    mode: MatchMode = MatchMode.LENIENT,
) -> list[tuple[int, int, float]]:
    """One-to-one (gold index, pred index, similarity) pairs that count as matches."""
    _check_kind(kind)
    return _match_prepared(kind, _prepare(preds), _prepare(golds), threshold, mode)


def _label(kind: str, rec: Any) -> str:
    if kind == "events":
        return str(rec.event_type)
    if kind == "claims":
        return rec.claimant
    return rec.text


def _view(kind: str, rec: Any) -> dict[str, Any]:
    """A `RecordView` as JSON data (the report's articles are built as data, see `_score_type`).

    A `StrEnum` goes in as `str(member)`, its value as a plain string: `to_json` writes an enum
    member 20 times slower, and `.value` is a descriptor written in Python."""
    return {
        "label": _label(kind, rec),
        "evidence": rec.evidence,
        "span": rec.span,
        "grounding": str(rec.grounding),
    }


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall, F1 with the empty-denominator rules of the module docstring."""
    empty = 1.0 if tp + fp + fn == 0 else 0.0
    precision = tp / (tp + fp) if tp + fp else empty
    recall = tp / (tp + fn) if tp + fn else empty
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    return precision, recall, f1


def counts(tp: int, fp: int, fn: int) -> Counts:
    precision, recall, f1 = prf(tp, fp, fn)
    return Counts(precision=precision, recall=recall, f1=f1, tp=tp, fp=fp, fn=fn)


def _score_type(
    kind: str, preds: list[Prepared], golds: list[Prepared], pairs: list[tuple[int, int, float]]
) -> dict[str, Any]:
    """One article's `TypeScore` as JSON data, in the model's field order.

    Building thousands of small models (`Pair`, `RecordView`, …) per run was most of the
    scorer's time; the data goes straight to JSON (`ArticleStore`) and becomes a `TypeScore`
    again only when a renderer asks for that article.
    """
    paired_gold = {g for g, _, _ in pairs}
    paired_pred = {p for _, p, _ in pairs}
    tp, fp, fn = len(pairs), len(preds) - len(pairs), len(golds) - len(pairs)
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "f1": prf(tp, fp, fn)[2],
        "pairs": [
            {
                "gold_index": g,
                "pred_index": p,
                "similarity": round(s, 6),
                "fields": _fields(kind, preds[p], golds[g]),
                "gold": _view(kind, golds[g].rec),
                "pred": _view(kind, preds[p].rec),
            }
            for g, p, s in sorted(pairs)
        ],
        "missed": [
            {"gold_index": i, **_view(kind, r.rec)}
            for i, r in enumerate(golds)
            if i not in paired_gold
        ],
        "spurious": [
            {"pred_index": i, **_view(kind, r.rec)}
            for i, r in enumerate(preds)
            if i not in paired_pred
        ],
    }


# --- the report ------------------------------------------------------------------------------


def _rate(num: float, den: float) -> float | None:
    return num / den if den else None


#: called once per gold article with its prediction (None when missing): task metrics listen
ArticleObserver = Callable[[records.ArticleResult | None, records.GoldArticle], None]


@dataclass
class _Totals:
    """What the summary needs of the predictions, summed as they stream by."""

    predicted: int = 0
    valid: int = 0
    requests: int = 0
    cached: int = 0
    prompt: int = 0
    completion: int = 0
    total: int = 0
    cost: float = 0.0
    latencies: list[float] = field(default_factory=list)
    models: set[str] = field(default_factory=set)
    prompts: set[str] = field(default_factory=set)

    def add(self, pred: records.ArticleResult) -> None:
        u = pred.usage
        self.predicted += 1
        self.valid += pred.error is None
        self.requests += u.requests
        self.cached += u.cached
        self.prompt += u.prompt_tokens
        self.completion += u.completion_tokens
        self.total += u.total_tokens
        self.cost += u.cost_usd
        self.latencies.append(u.latency_s)
        self.models.add(pred.model)
        if pred.prompt_version:
            self.prompts.add(pred.prompt_version)


class _Scorer:
    """Scores one gold article at a time, so predictions can stream from a file; each scored
    article goes to the `ArticleStore`, only the run's tallies stay in memory."""

    def __init__(
        self,
        gold: Mapping[str, records.GoldArticle],
        threshold: float,
        mode: MatchMode,
        kinds: list[Kind],
        observers: Sequence[ArticleObserver],
    ) -> None:
        self.gold, self.threshold, self.mode, self.kinds = gold, threshold, mode, kinds
        self.other = MatchMode.STRICT if mode == MatchMode.LENIENT else MatchMode.LENIENT
        self.observers = observers
        self.articles = ArticleStore()
        self.errors: Counter[str] = Counter()
        self.field_hits = {kind: Counter[str]() for kind in kinds}
        self.counts = {kind: [0, 0, 0] for kind in kinds}
        self.other_counts = {kind: [0, 0, 0] for kind in kinds}
        self.f1s: dict[str, dict[str, float]] = {kind: {} for kind in kinds}
        self.predicted_records = {kind: 0 for kind in kinds}
        self.grounded_records = {kind: 0 for kind in kinds}
        self.totals = _Totals()

    def add(self, article_id: str, pred: records.ArticleResult | None) -> None:
        gold_article = self.gold[article_id]
        if pred is None:
            self.errors[MISSING_PREDICTION] += 1
            error = records.ArticleError(
                kind=MISSING_PREDICTION, message="no prediction for this gold article"
            )
        else:
            self.totals.add(pred)
            if pred.error is not None:
                self.errors[pred.error.kind] += 1
            error = pred.error
        # an `ArticleScore` as JSON data, in its field order (unscored types are null)
        entry: dict[str, Any] = {"error": error.model_dump(mode="json") if error else None}
        memo: dict[str, str] = {}
        for kind in KINDS:
            entry[kind] = (
                None
                if kind not in self.kinds
                else self._score(
                    article_id, kind, getattr(pred, kind) if pred else [], gold_article, memo
                )
            )
        for observe in self.observers:
            observe(pred, gold_article)
        self.articles.add(article_id, to_json(entry, indent=2))

    def _score(
        self,
        article_id: str,
        kind: Kind,
        predicted: list[Any],
        gold_article: records.GoldArticle,
        memo: dict[str, str],
    ) -> dict[str, Any]:
        preds, golds = _prepare(predicted, memo), _prepare(getattr(gold_article, kind), memo)
        pairs: list[tuple[int, int, float]] = []
        other = 0
        if preds and golds:
            candidates = _Candidates(kind, preds, golds, None, self.threshold)
            pairs = _pairs(candidates, self.threshold, self.mode)
            other = len(_pairs(candidates, self.threshold, self.other))
        result = _score_type(kind, preds, golds, pairs)
        self.f1s[kind][article_id] = result["f1"]
        for tally, n in ((self.counts[kind], len(pairs)), (self.other_counts[kind], other)):
            tally[0] += n
            tally[1] += len(preds) - n
            tally[2] += len(golds) - n
        hits = self.field_hits[kind]
        for pair in result["pairs"]:
            hits.update([name for name, ok in pair["fields"].items() if ok])
        self.predicted_records[kind] += len(predicted)
        self.grounded_records[kind] += sum(
            r.grounding != records.Grounding.NOT_FOUND for r in predicted
        )
        return result

    def by_type(self) -> dict[Kind, TypeMetrics]:
        out: dict[Kind, TypeMetrics] = {}
        for kind in self.kinds:
            tp, fp, fn = self.counts[kind]
            f1s = self.f1s[kind]
            out[kind] = TypeMetrics(
                **counts(tp, fp, fn).model_dump(),
                macro_f1=float(np.mean([f1s[a] for a in sorted(f1s)])),
                grounding_rate=_rate(self.grounded_records[kind], self.predicted_records[kind]),
                fields={name: _rate(self.field_hits[kind][name], tp) for name in FIELDS[kind]},
            )
        return out

    def summary(self) -> Summary:
        t = self.totals
        return Summary(
            articles=len(self.gold),
            predicted_articles=t.predicted,
            valid_output_rate=t.valid / len(self.gold),
            grounding_rate=_rate(
                sum(self.grounded_records.values()), sum(self.predicted_records.values())
            ),
            errors=dict(sorted(self.errors.items())),
            requests=t.requests,
            cached_share=_rate(t.cached, t.requests),
            tokens=Tokens(prompt=t.prompt, completion=t.completion, total=t.total),
            cost_usd=t.cost,
            latency_s=Latency(
                sum=sum(t.latencies),
                p50=float(np.percentile(t.latencies, 50)) if t.latencies else None,
                p95=float(np.percentile(t.latencies, 95)) if t.latencies else None,
            ),
        )


def _score_all(
    scorer: _Scorer, predictions: Iterable[records.ArticleResult]
) -> tuple[list[str], list[str]]:
    """Score every prediction, then every gold article without one: (missing, unscored) ids."""
    seen: set[str] = set()
    unscored: list[str] = []
    for pred in predictions:
        if pred.article_id in seen:
            raise errors.InputError(
                f"article {pred.article_id!r} appears more than once in the predictions; "
                "keep one line per article"
            )
        seen.add(pred.article_id)
        if pred.article_id in scorer.gold:
            scorer.add(pred.article_id, pred)
        else:
            unscored.append(pred.article_id)
    missing = sorted(set(scorer.gold) - seen)
    for article_id in missing:
        scorer.add(article_id, None)
    return missing, unscored


def score(
    predictions: Iterable[records.ArticleResult],
    gold: Mapping[str, records.GoldArticle],
    *,
    threshold: float = MATCH_THRESHOLD,
    mode: MatchMode = MatchMode.LENIENT,
    types: Sequence[Kind] = KINDS,
    observers: Sequence[ArticleObserver] = (),
) -> Report:
    """The report: `by_type` and `articles` in `mode`, both modes' counts in `modes`.

    Only the record types in `types` are scored: a suite whose benchmark labels only claims
    does not count the events and figures a model finds as false positives. `predictions` may
    be a stream (`iter_predictions`): each is scored when it arrives and then let go.
    A `GoldSet` loaded with `lazy=True` is checked as it is read; any problem is reported as
    an up-front check would have (a gold file's problem first).
    """
    if not gold:
        raise errors.GoldError("no gold articles to score against; point --gold at evals/gold")
    try:
        kinds = [k for k in KINDS if k in types]
        if not kinds:
            raise errors.UsageError(f"no record type to score; pick from {', '.join(KINDS)}")
        scorer = _Scorer(gold, threshold, mode, kinds, observers)
        missing, unscored = _score_all(scorer, predictions)
    except errors.ExtractorError:
        if isinstance(gold, GoldSet):
            gold.check_all()
        raise
    by_type = scorer.by_type()
    modes = {
        mode: {kind: counts(m.tp, m.fp, m.fn) for kind, m in by_type.items()},
        scorer.other: {kind: counts(*scorer.other_counts[kind]) for kind in kinds},
    }
    meta = Meta(
        scorer_version=SCORER_VERSION,
        threshold=threshold,
        weights={"claims": CLAIM_WEIGHTS, "figures": FIGURE_WEIGHTS},
        value_tolerance={"relative": VALUE_REL_TOL, "absolute": VALUE_ABS_TOL},
        models=sorted(scorer.totals.models),
        prompt_versions=sorted(scorer.totals.prompts),
        missing_predictions=missing,
        unscored_predictions=sorted(unscored),
        matching=mode,
        types=kinds,
    )
    report = Report(summary=scorer.summary(), by_type=by_type, articles={}, meta=meta, modes=modes)
    scorer.articles.sort()
    report.articles = scorer.articles  # as is: validating it would parse every article again
    return report


# --- loading -------------------------------------------------------------------------------


def iter_predictions(path: str | Path) -> Iterator[records.ArticleResult]:
    """Stream a predictions JSONL file (one ArticleResult a line; blank lines are skipped)."""
    path = Path(path)
    try:
        f = path.open(encoding="utf-8")
    except FileNotFoundError as exc:
        raise errors.InputError(
            f"predictions file {path} does not exist; run `extractor` first"
        ) from exc
    except OSError as exc:
        raise errors.InputError(f"cannot read predictions file {path}: {exc}") from exc
    with f:
        number = 0
        try:
            for number, line in enumerate(f, start=1):
                if not line.isspace():  # (a line of 10 kB is not copied to find out)
                    yield _prediction(path, number, line)
        except UnicodeDecodeError as exc:
            raise errors.InputError(
                f"cannot read predictions file {path} after line {number}: {exc}"
            ) from exc


def _prediction(path: Path, number: int, line: str) -> records.ArticleResult:
    try:
        return records.ArticleResult.model_validate_json(line)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = f" at {'.'.join(map(str, first['loc']))}" if first["loc"] else ""
        raise errors.InputError(
            f"{path}:{number} is not an ArticleResult line: {first['msg']}{where} "
            f"({exc.error_count()} problem(s)); fix or regenerate the predictions file"
        ) from exc


def load_predictions(path: str | Path) -> list[records.ArticleResult]:
    """Read a whole predictions JSONL file (see `iter_predictions`)."""
    return list(iter_predictions(path))


def load_report(path: str | Path) -> Report | SuiteSet:
    """Read a report written by `score` or `run` (for compare), or the suites' report of a run
    over several suites; older reports load too."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise errors.UsageError(f"report {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.UsageError(f"cannot read report {path}: {exc}") from exc
    model: type[Report] | type[SuiteSet] = (
        SuiteSet if raw.lstrip("{ \n\r\t").startswith('"suites"') else Report
    )
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "top level"
        raise errors.UsageError(
            f"report {path} is not an eval report ({first['msg']} at {where}); "
            "was it written by `extractor eval score` or `run`?"
        ) from exc
