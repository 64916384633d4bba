"""The offline baseline: Figures, Claims and Events found by rules, with no model.

Useful as a floor the model-backed extractors must beat in evals, as a fallback when no model
is reachable, and to list the numbers a model missed. Every record is grounded EXACT: its
evidence is the text at its span.
"""

from __future__ import annotations

from extractor.analyzers.claims import find_claims, find_claims_with_spans
from extractor.analyzers.events import find_events
from extractor.analyzers.figures import find_figures
from extractor.analyzers.text import document
from extractor.numbers import MentionIndex
from extractor.records import ArticleExtraction

__all__ = ["analyze", "find_claims", "find_events", "find_figures"]


def analyze(
    text: str, language: str | None = None, *, mentions: MentionIndex | None = None
) -> ArticleExtraction:
    """Events, Claims and Figures of one article by the rule-based analyzers; the text is
    split and scanned for numbers once (or not at all, given its `mentions`), and the claims
    are found once."""
    doc = document(text, language, mentions)
    found = find_claims_with_spans(text, doc=doc)
    return ArticleExtraction(
        events=find_events(text, doc=doc),
        claims=[f.claim for f in found],
        figures=find_figures(text, doc=doc, claims=found),
    )
