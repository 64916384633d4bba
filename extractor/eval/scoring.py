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

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from rapidfuzz import fuzz
from scipy.optimize import linear_sum_assignment

from extractor import errors, records
from extractor.eval.gold import load_gold as load_gold
from extractor.eval.report import (
    KINDS,
    ArticleScore,
    Counts,
    Kind,
    Latency,
    MatchMode,
    Meta,
    MissedRecord,
    Pair,
    RecordView,
    Report,
    SpuriousRecord,
    Summary,
    Tokens,
    TypeMetrics,
    TypeScore,
)

SCORER_VERSION = "2"
MATCH_THRESHOLD = 0.5
CLAIM_WEIGHTS = {"evidence": 0.6, "claimant": 0.4}
FIGURE_WEIGHTS = {"evidence": 0.6, "value": 0.25, "unit": 0.15}
VALUE_REL_TOL = 1e-6
VALUE_ABS_TOL = 1e-9
#: rapidfuzz score (0-100) from which free-text fields (message, measured, names) agree
FUZZY_FIELD_MIN = 80
#: strict mode: the share of the shorter evidence span two records must share
STRICT_MIN_OVERLAP = 0.5
#: strict mode: units up to this many characters are symbols, compared case-sensitively
STRICT_SYMBOL_MAX = 3

MISSING_PREDICTION = "missing_prediction"

Record = records.Event | records.Claim | records.Figure

# --- normalisation -------------------------------------------------------------------------

_PUNCT_MAP = str.maketrans(
    {
        "\u201e": '"',
        "\u201c": '"',
        "\u201d": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u00ad": "",
    }
)
_TOKEN = re.compile(r"\w+")


def normalize_text(text: str | None) -> str:
    """Casefolded, NFKC, punctuation-free and single-spaced: what two annotators agree on."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).translate(_PUNCT_MAP).casefold()
    return " ".join(_TOKEN.findall(text))


def values_equal(a: float | None, b: float | None) -> bool:
    """Numbers agree after normalisation when equal within the relative/absolute tolerance."""
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=VALUE_REL_TOL, abs_tol=VALUE_ABS_TOL)


def units_equal(a: str | None, b: str | None) -> bool:
    return (a or "").strip().casefold() == (b or "").strip().casefold()


def names_similarity(a: str | None, b: str | None) -> float:
    """0-1: 'Ryder' and 'Pat Ryder' are the same speaker, hence token_set_ratio."""
    na, nb = normalize_text(a), normalize_text(b)
    if not na and not nb:
        return 1.0
    return fuzz.token_set_ratio(na, nb) / 100.0


def _names_equal(a: str | None, b: str | None) -> bool:
    return names_similarity(a, b) * 100 >= FUZZY_FIELD_MIN


def _fuzzy_equal(a: str | None, b: str | None) -> bool:
    na, nb = normalize_text(a), normalize_text(b)
    if not na and not nb:
        return True
    return fuzz.ratio(na, nb) >= FUZZY_FIELD_MIN


def _norm_equal(a: str | None, b: str | None) -> bool:
    return normalize_text(a) == normalize_text(b)


def _name_set_equal(a: Iterable[str], b: Iterable[str]) -> bool:
    return {normalize_text(x) for x in a} - {""} == {normalize_text(x) for x in b} - {""}


# --- prepared records: each string normalised once, not once per pair ------------------------


@dataclass(frozen=True)
class Prepared:
    """A record with the normalised text the pair scores need, computed once per record."""

    rec: Any
    tokens: frozenset[str]
    name: str  # normalised claimant ("" for other types)
    name_tokens: frozenset[str]
    cue: str  # normalised cue ("" for other types)

    @classmethod
    def of(cls, rec: Any) -> Prepared:
        name = normalize_text(getattr(rec, "claimant", None))
        return cls(
            rec=rec,
            tokens=frozenset(normalize_text(rec.evidence).split()),
            name=name,
            name_tokens=frozenset(name.split()),
            cue=normalize_text(getattr(rec, "cue", None)),
        )


def _prepare(recs: Iterable[Any]) -> list[Prepared]:
    return [Prepared.of(r) for r in recs]


# --- similarity ------------------------------------------------------------------------------


def _valid_span(span: tuple[int, int] | None, text_len: int | None) -> tuple[int, int] | None:
    if span is None:
        return None
    start, end = span
    if start < 0 or end <= start or (text_len is not None and end > text_len):
        return None
    return start, end


def _overlap(p: Prepared, g: Prepared, text_len: int | None, *, iou: bool) -> float:
    """Span IoU (or overlap over the shorter span), else the same on evidence tokens."""
    ps, gs = _valid_span(p.rec.span, text_len), _valid_span(g.rec.span, text_len)
    if ps is not None and gs is not None:
        inter = max(0, min(ps[1], gs[1]) - max(ps[0], gs[0]))
        a, b = ps[1] - ps[0], gs[1] - gs[0]
    else:
        if not p.tokens or not g.tokens:
            return 0.0
        inter, a, b = len(p.tokens & g.tokens), len(p.tokens), len(g.tokens)
    den = a + b - inter if iou else min(a, b)
    return inter / den if den else 0.0


def evidence_overlap(pred: Record, gold: Record, text_len: int | None = None) -> float:
    """Character IoU of the spans, or token Jaccard of the evidence when a span is missing."""
    return _overlap(Prepared.of(pred), Prepared.of(gold), text_len, iou=True)


def _names_score(p: Prepared, g: Prepared) -> float:
    if not p.name and not g.name:
        return 1.0
    return fuzz.token_set_ratio(p.name, g.name) / 100.0


def _lenient(kind: str, p: Prepared, g: Prepared, text_len: int | None) -> float:
    if kind == "events" and p.rec.event_type != g.rec.event_type:
        return 0.0
    ev = _overlap(p, g, text_len, iou=True)
    if kind == "events":
        return ev
    if kind == "claims":
        return CLAIM_WEIGHTS["evidence"] * ev + CLAIM_WEIGHTS["claimant"] * _names_score(p, g)
    return (
        FIGURE_WEIGHTS["evidence"] * ev
        + FIGURE_WEIGHTS["value"] * values_equal(p.rec.value, g.rec.value)
        + FIGURE_WEIGHTS["unit"] * units_equal(p.rec.unit, g.rec.unit)
    )


def strict_units_equal(pred: str | None, gold: str | None) -> bool:
    """Units as symbols: 'mW' is not 'MW'; counted nouns ('Soldaten') ignore case."""
    a = unicodedata.normalize("NFKC", pred or "").strip()
    b = unicodedata.normalize("NFKC", gold or "").strip()
    if a == b:
        return True
    return min(len(a), len(b)) > STRICT_SYMBOL_MAX and a.casefold() == b.casefold()


def _strict(kind: str, p: Prepared, g: Prepared, text_len: int | None) -> float:
    """The overlap over the shorter span when every strict condition holds, else 0."""
    pred, gold = p.rec, g.rec
    if kind == "events" and pred.event_type != gold.event_type:
        return 0.0
    if kind == "claims" and (
        p.cue != g.cue or (g.name_tokens and not p.name_tokens & g.name_tokens)
    ):
        return 0.0
    if kind == "figures" and (
        not values_equal(pred.value, gold.value)
        or (gold.unit and not strict_units_equal(pred.unit, gold.unit))
    ):
        return 0.0
    ev = _overlap(p, g, text_len, iou=False)
    return ev if ev >= STRICT_MIN_OVERLAP else 0.0


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
    rule = _strict if mode == MatchMode.STRICT else _lenient
    return rule(kind, Prepared.of(pred), Prepared.of(gold), text_len)


# --- per-field agreement over matched pairs -------------------------------------------------

FieldCheck = Callable[[Any, Any], bool]


def _attr(name: str, check: Callable[[Any, Any], bool]) -> FieldCheck:
    return lambda p, g: check(getattr(p, name), getattr(g, name))


def _eq(a: Any, b: Any) -> bool:
    return a == b


FIELDS: dict[str, dict[str, FieldCheck]] = {
    "events": {
        "event_type": _attr("event_type", _eq),
        "actors": _attr("actors", _name_set_equal),
        "recipients": _attr("recipients", _name_set_equal),
        "location": _attr("location", _norm_equal),
        "date": _attr("date", _eq),
        "magnitude": _attr("magnitude", _eq),
    },
    "claims": {
        "claimant": _attr("claimant", _names_equal),
        "claimant_role": _attr("claimant_role", _norm_equal),
        "cue": _attr("cue", _norm_equal),
        "speech": _attr("speech", _eq),
        "hedging": _attr("hedging", _eq),
        "message": _attr("message", _fuzzy_equal),
    },
    "figures": {
        "value": _attr("value", values_equal),
        "unit": _attr("unit", units_equal),
        "measured": _attr("measured", _fuzzy_equal),
        "qualifier": _attr("qualifier", _eq),
        "attributed_to": _attr("attributed_to", _names_equal),
    },
}


def field_agreement(kind: str, pred: Any, gold: Any) -> dict[str, bool]:
    return {name: bool(check(pred, gold)) for name, check in FIELDS[kind].items()}


# --- pairing ---------------------------------------------------------------------------------


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
    rule = _strict if mode == MatchMode.STRICT else _lenient
    sim = np.array([[rule(kind, p, g, text_len) for p in preds] for g in golds], dtype=float)
    # strict pairs carry their own bar (STRICT_MIN_OVERLAP); the threshold is lenient's
    bar = 0.0 if mode == MatchMode.STRICT else threshold
    usable = (sim >= bar) & (sim > 0.0)
    if not usable.any():
        return []
    weights = np.where(usable, sim, 0.0)
    rows, cols = linear_sum_assignment(-weights)
    return [
        (int(g), int(p), float(sim[g, p])) for g, p in zip(rows, cols, strict=True) if usable[g, p]
    ]


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
        return rec.event_type.value
    if kind == "claims":
        return rec.claimant
    return rec.text


def _view(kind: str, rec: Any) -> dict[str, Any]:
    return {
        "label": _label(kind, rec),
        "evidence": rec.evidence,
        "span": rec.span,
        "grounding": rec.grounding.value,
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
    kind: str,
    preds: list[Prepared],
    golds: list[Prepared],
    threshold: float,
    mode: MatchMode,
) -> TypeScore:
    pairs = _match_prepared(kind, preds, golds, threshold, mode)
    paired_gold = {g for g, _, _ in pairs}
    paired_pred = {p for _, p, _ in pairs}
    tp, fp, fn = len(pairs), len(preds) - len(pairs), len(golds) - len(pairs)
    return TypeScore(
        tp=tp,
        fp=fp,
        fn=fn,
        f1=prf(tp, fp, fn)[2],
        pairs=[
            Pair(
                gold_index=g,
                pred_index=p,
                similarity=round(s, 6),
                fields=field_agreement(kind, preds[p].rec, golds[g].rec),
                gold=RecordView(**_view(kind, golds[g].rec)),
                pred=RecordView(**_view(kind, preds[p].rec)),
            )
            for g, p, s in sorted(pairs)
        ],
        missed=[
            MissedRecord(gold_index=i, **_view(kind, r.rec))
            for i, r in enumerate(golds)
            if i not in paired_gold
        ],
        spurious=[
            SpuriousRecord(pred_index=i, **_view(kind, r.rec))
            for i, r in enumerate(preds)
            if i not in paired_pred
        ],
    )


# --- the report ------------------------------------------------------------------------------


def _rate(num: float, den: float) -> float | None:
    return num / den if den else None


def _by_id(predictions: list[records.ArticleResult]) -> dict[str, records.ArticleResult]:
    by_id: dict[str, records.ArticleResult] = {}
    for pred in predictions:
        if pred.article_id in by_id:
            raise errors.InputError(
                f"article {pred.article_id!r} appears more than once in the predictions; "
                "keep one line per article"
            )
        by_id[pred.article_id] = pred
    return by_id


def score(
    predictions: list[records.ArticleResult],
    gold: dict[str, records.GoldArticle],
    *,
    threshold: float = MATCH_THRESHOLD,
    mode: MatchMode = MatchMode.LENIENT,
    types: Sequence[Kind] = KINDS,
) -> Report:
    """The report: `by_type` and `articles` in `mode`, both modes' counts in `modes`.

    Only the record types in `types` are scored: a suite whose benchmark labels only claims
    does not count the events and figures a model finds as false positives.
    """
    if not gold:
        raise errors.GoldError("no gold articles to score against; point --gold at evals/gold")
    kinds = [k for k in KINDS if k in types]
    if not kinds:
        raise errors.UsageError(f"no record type to score; pick from {', '.join(KINDS)}")
    by_id = _by_id(predictions)
    other = MatchMode.STRICT if mode == MatchMode.LENIENT else MatchMode.LENIENT

    articles: dict[str, ArticleScore] = {}
    error_counts: Counter[str] = Counter()
    field_hits = {kind: Counter[str]() for kind in kinds}
    per_article_f1: dict[str, list[float]] = {kind: [] for kind in kinds}
    other_counts = {kind: [0, 0, 0] for kind in kinds}
    scored: list[records.ArticleResult] = []
    for article_id in sorted(gold):
        gold_article = gold[article_id]
        pred = by_id.get(article_id)
        entry = ArticleScore()
        if pred is None:
            error_counts[MISSING_PREDICTION] += 1
            entry.error = records.ArticleError(
                kind=MISSING_PREDICTION, message="no prediction for this gold article"
            )
        else:
            scored.append(pred)
            if pred.error is not None:
                error_counts[pred.error.kind] += 1
            entry.error = pred.error
        for kind in kinds:
            preds = _prepare(getattr(pred, kind) if pred else [])
            golds = _prepare(getattr(gold_article, kind))
            result = _score_type(kind, preds, golds, threshold, mode)
            setattr(entry, kind, result)
            per_article_f1[kind].append(result.f1)
            for pair in result.pairs:
                field_hits[kind].update(name for name, ok in pair.fields.items() if ok)
            n = len(_match_prepared(kind, preds, golds, threshold, other))
            tally = other_counts[kind]
            tally[0] += n
            tally[1] += len(preds) - n
            tally[2] += len(golds) - n
        articles[article_id] = entry

    by_type: dict[Kind, TypeMetrics] = {}
    for kind in kinds:
        results = [getattr(a, kind) for a in articles.values()]
        tp = sum(r.tp for r in results)
        fp = sum(r.fp for r in results)
        fn = sum(r.fn for r in results)
        predicted = [r for p in scored for r in getattr(p, kind)]
        grounded = sum(r.grounding != records.Grounding.NOT_FOUND for r in predicted)
        by_type[kind] = TypeMetrics(
            **counts(tp, fp, fn).model_dump(),
            macro_f1=float(np.mean(per_article_f1[kind])),
            grounding_rate=_rate(grounded, len(predicted)),
            fields={name: _rate(field_hits[kind][name], tp) for name in FIELDS[kind]},
        )
    modes = {
        mode: {kind: counts(m.tp, m.fp, m.fn) for kind, m in by_type.items()},
        other: {kind: counts(*other_counts[kind]) for kind in kinds},
    }

    all_predicted = [r for p in scored for kind in kinds for r in getattr(p, kind)]
    grounded_all = sum(r.grounding != records.Grounding.NOT_FOUND for r in all_predicted)
    latencies = [p.usage.latency_s for p in scored]
    requests = sum(p.usage.requests for p in scored)
    summary = Summary(
        articles=len(gold),
        predicted_articles=len(scored),
        valid_output_rate=sum(p.error is None for p in scored) / len(gold),
        grounding_rate=_rate(grounded_all, len(all_predicted)),
        errors=dict(sorted(error_counts.items())),
        requests=requests,
        cached_share=_rate(sum(p.usage.cached for p in scored), requests),
        tokens=Tokens(
            prompt=sum(p.usage.prompt_tokens for p in scored),
            completion=sum(p.usage.completion_tokens for p in scored),
            total=sum(p.usage.total_tokens for p in scored),
        ),
        cost_usd=sum(p.usage.cost_usd for p in scored),
        latency_s=Latency(
            sum=sum(latencies),
            p50=float(np.percentile(latencies, 50)) if latencies else None,
            p95=float(np.percentile(latencies, 95)) if latencies else None,
        ),
    )
    meta = Meta(
        scorer_version=SCORER_VERSION,
        threshold=threshold,
        weights={"claims": CLAIM_WEIGHTS, "figures": FIGURE_WEIGHTS},
        value_tolerance={"relative": VALUE_REL_TOL, "absolute": VALUE_ABS_TOL},
        models=sorted({p.model for p in scored}),
        prompt_versions=sorted({p.prompt_version for p in scored if p.prompt_version}),
        missing_predictions=sorted(set(gold) - set(by_id)),
        unscored_predictions=sorted(set(by_id) - set(gold)),
        matching=mode,
        types=kinds,
    )
    return Report(summary=summary, by_type=by_type, articles=articles, meta=meta, modes=modes)


# --- loading -------------------------------------------------------------------------------


def load_predictions(path: str | Path) -> list[records.ArticleResult]:
    """Read a predictions JSONL file (one ArticleResult a line; blank lines are skipped)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise errors.InputError(
            f"predictions file {path} does not exist; run `extractor` first"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.InputError(f"cannot read predictions file {path}: {exc}") from exc
    results: list[records.ArticleResult] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            results.append(records.ArticleResult.model_validate_json(line))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = f" at {'.'.join(map(str, first['loc']))}" if first["loc"] else ""
            raise errors.InputError(
                f"{path}:{number} is not an ArticleResult line: {first['msg']}{where} "
                f"({exc.error_count()} problem(s)); fix or regenerate the predictions file"
            ) from exc
    return results


def load_report(path: str | Path) -> Report:
    """Read a report written by `score` (for compare); older reports load too."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise errors.UsageError(f"report {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.UsageError(f"cannot read report {path}: {exc}") from exc
    try:
        return Report.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "top level"
        raise errors.UsageError(
            f"report {path} is not an eval report ({first['msg']} at {where}); "
            "was it written by score?"
        ) from exc
