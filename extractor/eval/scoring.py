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

Rates with an empty denominator: precision (recall) is 1.0 when an article or run has neither
predictions nor gold, else 0.0 when nothing was predicted (nothing is gold); F1 is
2TP / (2TP + FP + FN), and 1.0 when all three are 0. Macro F1 is the mean of per-article F1
over every gold article, so an article with no gold and no predictions counts as 1.0.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from rapidfuzz import fuzz
from scipy.optimize import linear_sum_assignment

from extractor import errors, records, textnorm

SCORER_VERSION = "1"
MATCH_THRESHOLD = 0.5
CLAIM_WEIGHTS = {"evidence": 0.6, "claimant": 0.4}
FIGURE_WEIGHTS = {"evidence": 0.6, "value": 0.25, "unit": 0.15}
VALUE_REL_TOL = textnorm.REL_TOL
VALUE_ABS_TOL = textnorm.ABS_TOL
#: rapidfuzz score (0-100) from which free-text fields (message, measured, names) agree
FUZZY_FIELD_MIN = 80

KINDS = ("events", "claims", "figures")
MISSING_PREDICTION = "missing_prediction"

Record = records.Event | records.Claim | records.Figure

# --- normalisation -------------------------------------------------------------------------

_TOKEN = re.compile(r"\w+")


def normalize_text(text: str | None) -> str:
    """Casefolded, NFKC, punctuation-free and single-spaced: what two annotators agree on."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).translate(textnorm.FOLD_TABLE).casefold()
    return " ".join(_TOKEN.findall(text))


def _tokens(text: str | None) -> set[str]:
    return set(normalize_text(text).split())


def values_equal(a: float | None, b: float | None) -> bool:
    """Numbers agree after normalisation when equal within the relative/absolute tolerance."""
    if a is None or b is None:
        return a is None and b is None
    return textnorm.close(a, b)


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


# --- similarity ------------------------------------------------------------------------------


def _valid_span(span: tuple[int, int] | None, text_len: int | None) -> tuple[int, int] | None:
    if span is None:
        return None
    start, end = span
    if start < 0 or end <= start or (text_len is not None and end > text_len):
        return None
    return start, end


def evidence_overlap(pred: Record, gold: Record, text_len: int | None = None) -> float:
    """Character IoU of the spans, or token Jaccard of the evidence when a span is missing."""
    ps, gs = _valid_span(pred.span, text_len), _valid_span(gold.span, text_len)
    if ps is not None and gs is not None:
        inter = max(0, min(ps[1], gs[1]) - max(ps[0], gs[0]))
        union = (ps[1] - ps[0]) + (gs[1] - gs[0]) - inter
        return inter / union if union else 0.0
    pt, gt = _tokens(pred.evidence), _tokens(gold.evidence)
    if not pt or not gt:
        return 0.0
    return len(pt & gt) / len(pt | gt)


def similarity(kind: str, pred: Any, gold: Any, text_len: int | None = None) -> float:
    """How well `pred` stands for `gold`, in [0, 1]; weights are in the module docstring."""
    if kind not in KINDS:
        raise ValueError(f"unknown record type {kind!r}; expected one of {', '.join(KINDS)}")
    ev = evidence_overlap(pred, gold, text_len)
    if kind == "events":
        return ev if pred.event_type == gold.event_type else 0.0
    if kind == "claims":
        claimant = names_similarity(pred.claimant, gold.claimant)
        return CLAIM_WEIGHTS["evidence"] * ev + CLAIM_WEIGHTS["claimant"] * claimant
    return (
        FIGURE_WEIGHTS["evidence"] * ev
        + FIGURE_WEIGHTS["value"] * values_equal(pred.value, gold.value)
        + FIGURE_WEIGHTS["unit"] * units_equal(pred.unit, gold.unit)
    )


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


def match(
    kind: str, preds: list[Any], golds: list[Any], threshold: float = MATCH_THRESHOLD
) -> list[tuple[int, int, float]]:
    """One-to-one (gold index, pred index, similarity) pairs at or above the threshold."""
    if not preds or not golds:
        return []
    sim = np.array([[similarity(kind, p, g) for p in preds] for g in golds], dtype=float)
    usable = (sim >= threshold) & (sim > 0.0)
    weights = np.where(usable, sim, 0.0)
    rows, cols = linear_sum_assignment(-weights)
    return [
        (int(g), int(p), float(sim[g, p])) for g, p in zip(rows, cols, strict=True) if usable[g, p]
    ]


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
        "span": list(rec.span) if rec.span is not None else None,
        "grounding": rec.grounding.value,
    }


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    empty = 1.0 if tp + fp + fn == 0 else 0.0
    precision = tp / (tp + fp) if tp + fp else empty
    recall = tp / (tp + fn) if tp + fn else empty
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    return precision, recall, f1


def _score_type(kind: str, preds: list[Any], golds: list[Any], threshold: float) -> dict[str, Any]:
    pairs = match(kind, preds, golds, threshold)
    paired_gold = {g for g, _, _ in pairs}
    paired_pred = {p for _, p, _ in pairs}
    tp, fp, fn = len(pairs), len(preds) - len(pairs), len(golds) - len(pairs)
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "f1": _prf(tp, fp, fn)[2],
        "pairs": [
            {
                "gold_index": g,
                "pred_index": p,
                "similarity": round(s, 6),
                "fields": field_agreement(kind, preds[p], golds[g]),
                "gold": _view(kind, golds[g]),
                "pred": _view(kind, preds[p]),
            }
            for g, p, s in sorted(pairs)
        ],
        "missed": [
            {"gold_index": i, **_view(kind, rec)}
            for i, rec in enumerate(golds)
            if i not in paired_gold
        ],
        "spurious": [
            {"pred_index": i, **_view(kind, rec)}
            for i, rec in enumerate(preds)
            if i not in paired_pred
        ],
    }


# --- the report ------------------------------------------------------------------------------


def _rate(num: float, den: float) -> float | None:
    return num / den if den else None


def score(
    predictions: list[records.ArticleResult],
    gold: dict[str, records.GoldArticle],
    *,
    threshold: float = MATCH_THRESHOLD,
) -> dict[str, Any]:
    """The JSON-able report: summary, by_type, per-article details and meta."""
    if not gold:
        raise errors.GoldError("no gold articles to score against; point --gold at evals/gold")
    by_id: dict[str, records.ArticleResult] = {}
    for pred in predictions:
        if pred.article_id in by_id:
            raise errors.InputError(
                f"article {pred.article_id!r} appears more than once in the predictions; "
                "keep one line per article"
            )
        by_id[pred.article_id] = pred

    articles: dict[str, Any] = {}
    error_counts: Counter[str] = Counter()
    field_hits = {kind: Counter[str]() for kind in KINDS}
    per_article_f1: dict[str, list[float]] = {kind: [] for kind in KINDS}
    scored: list[records.ArticleResult] = []
    for article_id in sorted(gold):
        gold_article = gold[article_id]
        pred = by_id.get(article_id)
        entry: dict[str, Any] = {}
        if pred is None:
            error_counts[MISSING_PREDICTION] += 1
            entry["error"] = {
                "kind": MISSING_PREDICTION,
                "message": "no prediction for this gold article",
            }
        else:
            scored.append(pred)
            if pred.error is not None:
                error_counts[pred.error.kind] += 1
            entry["error"] = pred.error.model_dump() if pred.error else None
        for kind in KINDS:
            result = _score_type(
                kind, getattr(pred, kind) if pred else [], getattr(gold_article, kind), threshold
            )
            entry[kind] = result
            per_article_f1[kind].append(result["f1"])
            for pair in result["pairs"]:
                field_hits[kind].update(name for name, ok in pair["fields"].items() if ok)
        articles[article_id] = entry

    by_type: dict[str, Any] = {}
    for kind in KINDS:
        tp = sum(a[kind]["tp"] for a in articles.values())
        fp = sum(a[kind]["fp"] for a in articles.values())
        fn = sum(a[kind]["fn"] for a in articles.values())
        precision, recall, f1 = _prf(tp, fp, fn)
        predicted = [r for p in scored for r in getattr(p, kind)]
        grounded = sum(r.grounding != records.Grounding.NOT_FOUND for r in predicted)
        by_type[kind] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "macro_f1": float(np.mean(per_article_f1[kind])),
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "grounding_rate": _rate(grounded, len(predicted)),
            "fields": {name: _rate(field_hits[kind][name], tp) for name in FIELDS[kind]},
        }

    all_predicted = [r for p in scored for kind in KINDS for r in getattr(p, kind)]
    grounded_all = sum(r.grounding != records.Grounding.NOT_FOUND for r in all_predicted)
    latencies = [p.usage.latency_s for p in scored]
    requests = sum(p.usage.requests for p in scored)
    summary = {
        "articles": len(gold),
        "predicted_articles": len(scored),
        "valid_output_rate": sum(p.error is None for p in scored) / len(gold),
        "grounding_rate": _rate(grounded_all, len(all_predicted)),
        "errors": dict(sorted(error_counts.items())),
        "requests": requests,
        "cached_share": _rate(sum(p.usage.cached for p in scored), requests),
        "tokens": {
            "prompt": sum(p.usage.prompt_tokens for p in scored),
            "completion": sum(p.usage.completion_tokens for p in scored),
            "total": sum(p.usage.total_tokens for p in scored),
        },
        "cost_usd": sum(p.usage.cost_usd for p in scored),
        "latency_s": {
            "sum": sum(latencies),
            "p50": float(np.percentile(latencies, 50)) if latencies else None,
            "p95": float(np.percentile(latencies, 95)) if latencies else None,
        },
    }
    meta = {
        "scorer_version": SCORER_VERSION,
        "threshold": threshold,
        "weights": {"claims": CLAIM_WEIGHTS, "figures": FIGURE_WEIGHTS},
        "value_tolerance": {"relative": VALUE_REL_TOL, "absolute": VALUE_ABS_TOL},
        "models": sorted({p.model for p in scored}),
        "prompt_versions": sorted({p.prompt_version for p in scored if p.prompt_version}),
        "missing_predictions": sorted(set(gold) - set(by_id)),
        "unscored_predictions": sorted(set(by_id) - set(gold)),
    }
    return {"summary": summary, "by_type": by_type, "articles": articles, "meta": meta}


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


def load_gold(directory: str | Path) -> dict[str, records.GoldArticle]:
    """Read every `<article_id>.json` gold file of a directory, validated by the schema."""
    directory = Path(directory)
    if not directory.is_dir():
        raise errors.GoldError(f"gold directory {directory} does not exist or is not a folder")
    gold: dict[str, records.GoldArticle] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            article = records.GoldArticle.model_validate_json(path.read_text(encoding="utf-8"))
        except (ValidationError, UnicodeDecodeError) as exc:
            raise errors.GoldError(
                f"gold file {path} does not validate: {exc}; fix it against schemas/"
            ) from exc
        if article.article_id != path.stem:
            raise errors.GoldError(
                f"gold file {path} holds article_id {article.article_id!r}; "
                f"rename the file to {article.article_id}.json or fix the id"
            )
        gold[article.article_id] = article
    if not gold:
        raise errors.GoldError(f"no gold files (*.json) in {directory}")
    return gold


def load_report(path: str | Path) -> dict[str, Any]:
    """Read a report written by `score` (for compare)."""
    path = Path(path)
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise errors.UsageError(f"report {path} does not exist") from exc
    except (OSError, ValueError) as exc:
        raise errors.UsageError(f"report {path} is not a JSON report: {exc}") from exc
    if not isinstance(report, dict) or not isinstance(report.get("by_type"), dict):
        raise errors.UsageError(f"report {path} has no by_type section; was it written by score?")
    return report
