"""The offline baseline: Figures, Claims and Events found by rules, with no model.

Useful as a floor the model-backed extractors must beat in evals, as a fallback when no model
is reachable, and to list the numbers a model missed. Every record is grounded EXACT: its
evidence is the text at its span.
"""

from __future__ import annotations

from extractor.analyzers.claims import find_claims
from extractor.analyzers.events import find_events
from extractor.analyzers.figures import find_figures
from extractor.records import ArticleExtraction

__all__ = ["analyze", "find_claims", "find_events", "find_figures"]


def analyze(text: str, language: str | None = None) -> ArticleExtraction:
    """Events, Claims and Figures of one article by the rule-based analyzers."""
    return ArticleExtraction(
        events=find_events(text, language),
        claims=find_claims(text, language),
        figures=find_figures(text, language),
    )
