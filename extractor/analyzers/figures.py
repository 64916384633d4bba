"""Figures without a model: every quantity `extractor.numbers` finds, with what it counts and
who it is attributed to. Years, dates, times and ordinals are not figures."""

from __future__ import annotations

import re
from bisect import bisect_left

from extractor import numbers
from extractor.analyzers import claims as claims_mod
from extractor.analyzers import text as tx
from extractor.records import Figure, Grounding, Qualifier

_OWNER_RE = re.compile(
    r"((?:[a-zäöüß]+(?:e|en|er|es|em)\s+)?[A-ZÄÖÜ][\w-]*)\s+(?:in\s+Höhe\s+)?von\s+$"
    r"|((?:[a-z]+\s+)?[a-z]+)\s+of\s+$"
)
_EN_OWNER_STOP = tx.wordset("total number sum amount") | tx.ADVERBS


def find_figures(text: str, language: str | None = None) -> list[Figure]:
    """Every quantity in the text as a grounded Figure (evidence = number + what it counts)."""
    lang = numbers._lang(language) or numbers._guess_lang(text) or "de"
    mentions = [m for m in numbers.find_numbers(text, lang) if m.kind == "quantity"]
    if not mentions:
        return []
    found_claims = claims_mod.find_claims_with_spans(text, lang)
    starts = [m.start for m in mentions]
    figures: list[Figure] = []
    for sent in tx.sentences(text):
        inside = mentions[bisect_left(starts, sent.start) : bisect_left(starts, sent.end)]
        if not inside:
            continue
        source = claims_mod.attribution(sent.text, lang)
        for m in inside:
            figures.append(_figure(text, m, sent, lang, source, found_claims))
    return figures


def _figure(
    text: str,
    m: numbers.NumberMention,
    sent: tx.Sentence,
    lang: str,
    source: str | None,
    found_claims: list[claims_mod.FoundClaim],
) -> Figure:
    start, end = m.start, m.end
    measured = ""
    noun = numbers.counted_noun(text, m.end, "en" if lang == "en" else "de")
    if noun and noun[1] <= sent.end:
        measured = text[noun[0] : noun[1]]
        end = noun[1]
    elif (m.unit is not None and not m.unit[:1].isalpha()) or (m.unit or "").isupper():
        owner = _OWNER_RE.search(text[max(sent.start, m.start - 60) : m.start])
        if owner:
            word = owner.group(1) or owner.group(2)
            if word.split()[-1].lower() not in _EN_OWNER_STOP:
                measured = word
                start = m.start - (len(text[max(sent.start, m.start - 60) : m.start])
                                   - owner.start())  # fmt: skip
    if not measured:
        measured = m.unit or ""
    attributed = source
    if attributed is None:
        for fc in found_claims:
            a, b = fc.message_span
            if a <= m.start < b and fc.claim.span and fc.claim.span[0] == sent.start:
                attributed = fc.claim.claimant
                break
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
