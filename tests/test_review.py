"""The review view (`extractor.review`) without a browser: highlights sit on the characters of
the records' spans, gold stands beside predicted, a record without a place is listed, not lost.
The service's pages in a real Chromium: test_service_review.py."""

from __future__ import annotations

import itertools
from pathlib import Path

from html_marks import parse

from extractor import review
from extractor.records import ArticleError, ArticleResult, GoldArticle

REPO = Path(__file__).parent / "data" / "scoring" / "repo"
TEXT = (REPO / "articles" / "kursk-1.txt").read_text(encoding="utf-8")
PRED = ArticleResult.model_validate_json(
    (REPO / "predictions_a.jsonl").read_text(encoding="utf-8").splitlines()[0]
)
GOLD = GoldArticle.model_validate_json(
    (REPO / "evals" / "gold" / "kursk-1.json").read_text(encoding="utf-8")
)


def test_highlights_sit_on_the_spans_gold_beside_predicted() -> None:
    shown = parse(review.page("kursk-1", review.article_view(TEXT, PRED, view="a0", gold=GOLD)))
    for name, extraction in (("a0", PRED), ("a0-gold", GOLD)):
        assert shown.texts[name] == TEXT
        for kind, tag in review.TAG.items():
            for index, record in enumerate(getattr(extraction, kind)):
                own = shown.of(name, f"{tag}{index}")
                assert record.span is not None and own
                assert (own[0].start, own[-1].end) == tuple(record.span)
                assert all(a.end == b.start for a, b in itertools.pairwise(own))
                assert "".join(m.text for m in own) == TEXT[slice(*record.span)]


def test_a_record_without_a_span_is_placed_at_its_quote_or_listed_as_not_found() -> None:
    figures = [
        GOLD.figures[0].model_copy(update={"span": None}),
        GOLD.figures[1].model_copy(update={"span": None, "evidence": "nicht im Text"}),
    ]
    gold = GOLD.model_copy(update={"events": [], "claims": [], "figures": figures})
    page = review.article_view(TEXT, PRED, view="a0", gold=gold)
    shown = parse(page)
    (placed,) = shown.of("a0-gold", "F0")
    start = TEXT.index(figures[0].evidence)
    assert (placed.start, placed.end) == (start, start + len(figures[0].evidence))
    assert not shown.of("a0-gold", "F1")
    assert '“nicht im Text” <span class="muted">evidence not found in the text' in page


def test_an_unfinished_article_and_an_error_are_said() -> None:
    assert "not finished yet" in review.article_view(TEXT, None, view="a1")
    failed = PRED.model_copy(
        update={"error": ArticleError(kind="timeout", message="<no answer>"), "events": []}
    )
    page = review.article_view(TEXT, failed, view="a2")
    assert '<p class="err">error timeout: &lt;no answer&gt;</p>' in page
