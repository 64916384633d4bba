"""Figures without a model: every quantity `extractor.numbers` finds, with what it counts and
who it is attributed to. Years, dates, times and ordinals are not figures."""

from __future__ import annotations

import re

from extractor import numbers
from extractor.analyzers import claims as claims_mod
from extractor.analyzers import text as tx
from extractor.numbers import NumberKind
from extractor.records import Figure, Grounding, Qualifier

_OWNER_RE = re.compile(
    r"((?:[a-zäöüß]+(?:e|en|er|es|em)\s+)?[A-ZÄÖÜ][\w-]*)\s+(?:in\s+Höhe\s+)?von\s+$"
    r"|((?:[a-z]+\s+)?[a-z]+)\s+of\s+$"
)
_EN_OWNER_STOP = tx.wordset("total number sum amount") | tx.ADVERBS


def _may_own(window: str) -> bool:
    """What `_OWNER_RE` needs at the end, tested first: it is searched at every position of the
    window, while most windows do not end in "von " / "of "."""
    return window[-1:].isspace() and window.rstrip().endswith(("von", "of"))


def find_figures(
    text: str,
    language: str | None = None,
    doc: tx.Document | None = None,
    claims: list[claims_mod.FoundClaim] | None = None,
) -> list[Figure]:
    """Every quantity in the text as a grounded Figure (evidence = number + what it counts)."""
    doc = doc or tx.document(text, language)
    if not any(m.kind == NumberKind.QUANTITY for m in doc.numbers):
        return []
    found = claims_mod.find_claims_with_spans(text, doc=doc) if claims is None else claims
    by_sentence: dict[int, list[claims_mod.FoundClaim]] = {}
    for fc in found:
        if fc.claim.span:
            by_sentence.setdefault(fc.claim.span[0], []).append(fc)
    figures: list[Figure] = []
    for sent in doc.sentences:
        inside = [m for m in doc.numbers_in(sent.start, sent.end) if m.kind == NumberKind.QUANTITY]
        if not inside:
            continue
        source = claims_mod.attribution_in(doc, sent)
        for m in inside:
            attributed = source or _claimant_of(m, by_sentence.get(sent.start, []))
            figures.append(_figure(text, m, sent, doc.lang, attributed))
    return figures


def _claimant_of(m: numbers.NumberMention, claims: list[claims_mod.FoundClaim]) -> str | None:
    """Who states the number: the claim of its sentence whose message holds it."""
    for fc in claims:
        a, b = fc.message_span
        if a <= m.start < b:
            return fc.claim.claimant
    return None


def _figure(
    text: str, m: numbers.NumberMention, sent: tx.Sentence, lang: str, attributed: str | None
) -> Figure:
    start, end = m.start, m.end
    measured = ""
    noun = m.noun
    if noun and noun[1] <= sent.end:
        measured = text[noun[0] : noun[1]]
        end = noun[1]
    elif (m.unit is not None and not m.unit[:1].isalpha()) or (m.unit or "").isupper():
        window = text[max(sent.start, m.start - 60) : m.start]
        owner = _OWNER_RE.search(window) if _may_own(window) else None
        if owner:
            word = owner.group(1) or owner.group(2)
            if word.split()[-1].lower() not in _EN_OWNER_STOP:
                measured = word
                start = m.start - (len(window) - owner.start())
    if not measured:
        measured = m.unit or ""
    evidence = text[start:end]
    return Figure(
        text=tx.trim(m.text, 120),
        value=m.value,
        unit=m.unit,
        measured=tx.trim(measured, 120),
        qualifier=Qualifier(m.qualifier),
        attributed_to=tx.trim(attributed, 120) if attributed else None,
        evidence=evidence,
        span=(start, end),
        grounding=Grounding.EXACT,
    )
