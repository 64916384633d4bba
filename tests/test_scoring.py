"""The scorer, pinned on hand-computed cases (tests/data/scoring/cases/*.json)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from extractor import errors, records
from extractor.eval import scoring

DATA = Path(__file__).parent / "data" / "scoring"
CASES = sorted((DATA / "cases").glob("*.json"))
REPO = DATA / "repo"


def _load_case(
    path: Path,
) -> tuple[list[records.ArticleResult], dict[str, records.GoldArticle], Any]:
    case = json.loads(path.read_text(encoding="utf-8"))
    preds = [records.ArticleResult.model_validate(p) for p in case["predictions"]]
    gold = {g["article_id"]: records.GoldArticle.model_validate(g) for g in case["gold"]}
    return preds, gold, case["expected"]


def _derived(article_type: dict[str, Any]) -> dict[str, Any]:
    """Adds the short keys the case files use for a per-article, per-type entry."""
    return {
        **article_type,
        "missed_gold_indices": [m["gold_index"] for m in article_type["missed"]],
        "spurious_pred_indices": [s["pred_index"] for s in article_type["spurious"]],
        "similarities": [p["similarity"] for p in article_type["pairs"]],
    }


def _assert_subset(expected: Any, actual: Any, where: str) -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} missing"
            _assert_subset(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            _assert_subset(e, a, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, abs=1e-6), where
    else:
        assert actual == expected, where


@pytest.mark.parametrize("case_path", CASES, ids=[p.stem for p in CASES])
def test_hand_computed_case(case_path: Path) -> None:
    preds, gold, expected = _load_case(case_path)
    report = scoring.score(preds, gold).model_dump(mode="json")
    for article_id, article in report["articles"].items():
        for kind in scoring.KINDS:
            article[kind] = _derived(article[kind])
        report["articles"][article_id] = article
    _assert_subset(expected, report, case_path.stem)


def test_cases_cover_the_issue() -> None:
    names = {p.stem for p in CASES}
    assert {
        "perfect",
        "one_missing",
        "one_spurious",
        "near_miss_span",
        "wrong_value",
        "duplicates",
    } <= names


def test_report_is_json_and_keeps_evidence_of_errors() -> None:
    preds, gold, _ = _load_case(DATA / "cases" / "one_spurious.json")
    report = json.loads(scoring.score(preds, gold).to_json())
    spurious = report["articles"]["kursk-1"]["events"]["spurious"]
    assert spurious == [
        {
            "pred_index": 3,
            "label": "PROTEST",
            "evidence": "Die Hilfe beläuft sich auf",
            "span": [260, 286],
            "grounding": "exact",
        }
    ]
    assert report["meta"]["threshold"] == scoring.MATCH_THRESHOLD


def test_threshold_changes_what_counts() -> None:
    preds, gold, _ = _load_case(DATA / "cases" / "near_miss_span.json")
    strict = scoring.score(preds, gold, threshold=0.9)
    # only the span-less event (token Jaccard 0.8) and the sub-span (IoU 0.756) fall below 0.9
    assert strict.by_type["events"].tp == 0
    assert strict.by_type["events"].fn == 3


def test_weak_pairs_do_not_outweigh_a_good_one() -> None:
    """Sub-threshold similarities are zeroed before the assignment.

    IoU g0-p0 = 0.5 (a match), g0-p1 = g1-p0 = 0.4 (sum 0.8), g1-p1 = 0: maximising raw
    similarity would pick the two weak pairs and match nothing.
    """
    case = json.loads((DATA / "cases" / "perfect.json").read_text(encoding="utf-8"))
    event = records.Event.model_validate(case["gold"][0]["events"][0])
    golds = [event.model_copy(update={"span": s}) for s in [(0, 10), (0, 2)]]
    preds = [event.model_copy(update={"span": s}) for s in [(0, 5), (2, 6)]]
    assert scoring.match("events", preds, golds) == [(0, 0, 0.5)]


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (11000.0, 11000.000001, True),
        (11000.0, 11001.0, False),
        (None, None, True),
        (0.0, None, False),
    ],
)
def test_values_compare_with_tolerance(a: float | None, b: float | None, equal: bool) -> None:
    assert scoring.values_equal(a, b) is equal


def test_similarity_gates_on_event_type() -> None:
    case = json.loads((DATA / "cases" / "perfect.json").read_text(encoding="utf-8"))
    event = records.Event.model_validate(case["gold"][0]["events"][0])
    other = event.model_copy(update={"event_type": records.EventType.PROTEST})
    assert scoring.similarity("events", event, event) == 1.0
    assert scoring.similarity("events", other, event) == 0.0


def test_span_beyond_text_falls_back_to_evidence_tokens() -> None:
    case = json.loads((DATA / "cases" / "perfect.json").read_text(encoding="utf-8"))
    figure = records.Figure.model_validate(case["gold"][0]["figures"][0])
    shifted = figure.model_copy(update={"span": (1000, 1015)})
    # spans disjoint: evidence counts 0 ...
    assert scoring.similarity("figures", shifted, figure) == pytest.approx(0.4)
    # ... unless the text is known to be shorter, then the equal evidence tokens count fully
    assert scoring.similarity("figures", shifted, figure, text_len=400) == pytest.approx(1.0)


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown record type"):
        scoring.similarity("quotes", None, None)


def test_duplicate_article_lines_are_rejected() -> None:
    preds, gold, _ = _load_case(DATA / "cases" / "perfect.json")
    with pytest.raises(errors.InputError, match="more than once"):
        scoring.score(preds * 2, gold)


def test_load_predictions_and_gold_from_files() -> None:
    preds = scoring.load_predictions(REPO / "predictions_b.jsonl")
    gold = scoring.load_gold(REPO / "evals" / "gold")
    assert [p.article_id for p in preds] == ["kursk-1"]
    assert set(gold) == {"kursk-1"}
    assert scoring.score(preds, gold).by_type["events"].f1 == 1.0


def test_load_predictions_reports_the_bad_line(tmp_path: Path) -> None:
    good = (REPO / "predictions_b.jsonl").read_text(encoding="utf-8")
    path = tmp_path / "p.jsonl"
    path.write_text(good + "\n" + '{"article_id": "x"}\n', encoding="utf-8")
    with pytest.raises(errors.InputError, match=r"p\.jsonl:3 is not an ArticleResult"):
        scoring.load_predictions(path)
    with pytest.raises(errors.InputError, match="does not exist"):
        scoring.load_predictions(tmp_path / "missing.jsonl")


def test_load_gold_errors(tmp_path: Path) -> None:
    with pytest.raises(errors.GoldError, match="does not exist"):
        scoring.load_gold(tmp_path / "nope")
    with pytest.raises(errors.GoldError, match=r"no gold files"):
        scoring.load_gold(tmp_path)
    gold = json.loads((REPO / "evals" / "gold" / "kursk-1.json").read_text(encoding="utf-8"))
    (tmp_path / "other.json").write_text(json.dumps(gold), encoding="utf-8")
    with pytest.raises(errors.GoldError, match="rename the file"):
        scoring.load_gold(tmp_path)
    (tmp_path / "other.json").write_text('{"article_id": "other"}', encoding="utf-8")
    with pytest.raises(errors.GoldError, match="does not validate"):
        scoring.load_gold(tmp_path)


# --- strict matching ---------------------------------------------------------------------------


def _gold_record(kind: str, index: int = 0) -> Any:
    case = json.loads((DATA / "cases" / "perfect.json").read_text(encoding="utf-8"))
    return records.RECORD_TYPES[kind].model_validate(case["gold"][0][kind][index])


STRICT = scoring.MatchMode.STRICT


@pytest.mark.parametrize(
    ("kind", "change", "lenient_match", "strict_match"),
    [
        ("figures", {}, True, True),
        ("figures", {"value": 4.0}, True, False),  # wrong value: lenient 0.75, strict no
        ("figures", {"unit": "zivilisten"}, True, True),  # a counted noun ignores case
        ("figures", {"unit": None}, True, False),  # gold has a unit, the prediction none
        ("figures", {"span": (76, 91)}, True, True),  # shifted 40 %: overlaps 60 % of 15
        ("figures", {"span": (79, 94)}, True, False),  # shifted 60 %: lenient still 0.55
        ("claims", {"cue": "sagte"}, True, False),  # another cue
        ("claims", {"claimant": "Kreml"}, True, False),  # claimants share no word
        ("claims", {"claimant": "das Pentagon"}, True, True),
        ("events", {"event_type": records.EventType.PROTEST}, False, False),
    ],
)
def test_strict_mode_needs_value_unit_cue_and_claimant(
    kind: str, change: dict[str, Any], lenient_match: bool, strict_match: bool
) -> None:
    gold = _gold_record(kind)
    pred = gold.model_copy(update=change)
    assert bool(scoring.match(kind, [pred], [gold])) is lenient_match
    assert bool(scoring.match(kind, [pred], [gold], mode=STRICT)) is strict_match


def test_strict_units_are_symbols() -> None:
    assert scoring.strict_units_equal("mW", "mW")
    assert not scoring.strict_units_equal("MW", "mW")  # lenient units_equal says equal
    assert scoring.units_equal("MW", "mW")
    assert scoring.strict_units_equal("Soldaten", "soldaten")


def test_report_has_both_modes_side_by_side() -> None:
    preds, gold, _ = _load_case(DATA / "cases" / "wrong_value.json")
    lenient = scoring.score(preds, gold)
    strict = scoring.score(preds, gold, mode=STRICT)
    assert lenient.meta.matching == "lenient" and strict.meta.matching == "strict"
    for report in (lenient, strict):
        assert set(report.modes) == {scoring.MatchMode.LENIENT, STRICT}
    assert lenient.modes[STRICT] == strict.modes[STRICT]
    assert lenient.modes[scoring.MatchMode.LENIENT] == strict.modes[scoring.MatchMode.LENIENT]
    assert strict.by_type["figures"].f1 == strict.modes[STRICT]["figures"].f1
    # the wrong value counts under lenient matching and not under strict
    assert lenient.modes[STRICT]["figures"].tp < lenient.by_type["figures"].tp


def test_only_the_suite_types_are_scored() -> None:
    preds, gold, _ = _load_case(DATA / "cases" / "one_spurious.json")
    report = scoring.score(preds, gold, types=["claims"])
    assert list(report.by_type) == ["claims"]
    assert report.meta.types == ["claims"]
    article = report.articles["kursk-1"]
    assert article.events is None and article.claims is not None
    assert list(article.by_kind()) == ["claims"]
    with pytest.raises(errors.UsageError, match="no record type"):
        scoring.score(preds, gold, types=[])


def _reference_match(
    kind: str, preds: list[Any], golds: list[Any], threshold: float, mode: scoring.MatchMode
) -> list[tuple[int, int, float]]:
    """Every pair's similarity, then scipy's assignment over all of them: what the scorer did
    before it skipped pairs that cannot match and the assignment where it has no choice."""
    if not preds or not golds:
        return []
    sim = np.array([[scoring.similarity(kind, p, g, mode=mode) for p in preds] for g in golds])
    bar = 0.0 if mode == scoring.MatchMode.STRICT else threshold
    usable = (sim >= bar) & (sim > 0.0)
    if not usable.any():
        return []
    rows, cols = linear_sum_assignment(-np.where(usable, sim, 0.0))
    pairs = zip(rows, cols, strict=True)
    return [(int(g), int(p), float(sim[g, p])) for g, p in pairs if usable[g, p]]


def _scrambled(kind: str, rng: random.Random, n: int) -> list[Any]:
    """Records of the fixture article with random spans (some missing, some shared), types,
    speakers, cues, values and units: many overlapping and competing pairs."""
    case = json.loads((DATA / "cases" / "perfect.json").read_text(encoding="utf-8"))
    base = records.GoldArticle.model_validate(case["gold"][0])
    out = []
    for _ in range(n):
        rec = rng.choice(getattr(base, kind))
        start = rng.randrange(0, 60)
        span = None if rng.random() < 0.15 else (start, start + rng.randrange(1, 40))
        update: dict[str, Any] = {"span": span}
        if kind == "events":
            update["event_type"] = rng.choice(list(records.EventType)[:3])
        elif kind == "claims":
            update["claimant"] = rng.choice(["Pat Ryder", "Ryder", "Selenskyj", "Kiew"])
            update["cue"] = rng.choice(["sagte", "erklärte"])
        else:
            update["value"] = rng.choice([3.0, 11000.0, None])
            update["unit"] = rng.choice(["Soldaten", "km", None])
        out.append(rec.model_copy(update=update))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_matching_equals_every_pair_scored_and_assigned(seed: int) -> None:
    """Pairs that cannot match are skipped and the assignment is run only when a record has two
    candidates: the matches (and their similarities, to the last bit) are those of scoring every
    pair and running the Hungarian assignment on all of them, at any threshold."""
    rng = random.Random(seed)
    for kind in scoring.KINDS:
        preds, golds = _scrambled(kind, rng, rng.randrange(1, 9)), _scrambled(kind, rng, 6)
        for mode in scoring.MatchMode:
            for threshold in (0.0, 0.3, 0.4, 0.5, 0.8):
                expected = _reference_match(kind, preds, golds, threshold, mode)
                assert scoring.match(kind, preds, golds, threshold, mode) == expected


def test_assign_skips_the_hungarian_run_only_when_it_has_no_choice() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        weights = rng.random((5, 4)) * (rng.random((5, 4)) < 0.3)
        usable = weights > 0
        rows, cols = linear_sum_assignment(-weights)
        expected = [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if usable[r, c]]
        assert scoring.assign(weights, usable) == expected


def test_each_type_checks_the_fields_it_names() -> None:
    """`FIELDS` (the report's per-field rates) names what each type's check returns, in order."""
    rng = random.Random(0)
    for kind in scoring.KINDS:
        pred, gold = _scrambled(kind, rng, 1)[0], _scrambled(kind, rng, 1)[0]
        assert tuple(scoring.field_agreement(kind, pred, gold)) == scoring.FIELDS[kind]
