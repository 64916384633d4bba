"""Number mentions in news text: German and English digit conventions, number words, scale
words, currencies, units and qualifiers.

The library needs this without a model: to check that a Figure's value agrees with its
evidence, to list numbers no Figure covers, and for the offline baseline analyzers. Years,
dates, times and ordinals are returned too (so callers can tell them apart from figures), but
with `kind != "quantity"`.

Conventions worth knowing:
- A range ("200 bis 300", "200-300", "zwischen 200 und 300") is one mention with qualifier
  "range"; `value` is the lower bound, `upper` the upper bound.
- German "Billion" is 1e12, English "billion" 1e9. Without a language, a capitalised
  "Billion(en)" counts as German.
- Without a language, `find_numbers` asks the package's language guesser
  (`extractor.language`); `parse_number`, and text too short to tell, decide by shape alone (a
  dot or comma followed by exactly three digits is a thousands separator).
- For dates, `value` is the first number as written (the day, or the year of an ISO date);
  for times it is the hour plus minutes / 60.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from text_to_num import text2num

from extractor.language import guess_language
from extractor.records import Qualifier


class NumberKind(StrEnum):
    """What a number mention is; only a QUANTITY is a Figure (GUIDELINES §5.1)."""

    QUANTITY = "quantity"
    YEAR = "year"
    DATE = "date"
    TIME = "time"
    ORDINAL = "ordinal"
    CODE = "code"  # a label or reference: "Fig. 3", "Section 4.1", "[50]", "2011b", "3er"


@dataclass(frozen=True, slots=True)
class NumberMention:
    """One number expression; `text == source[start:end]`."""

    start: int
    end: int
    text: str
    value: float
    unit: str | None
    qualifier: str
    kind: NumberKind
    upper: float | None = None  # upper bound of a range, else None
    noun: tuple[int, int] | None = None  # span of what a quantity counts ("Soldaten"), if any


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# --- languages ----------------------------------------------------------------------------

# Languages writing "1.234,5" (dot thousands, decimal comma); the rest are read like English.
_COMMA_DECIMAL = {
    "de", "fr", "es", "it", "pt", "nl", "ru", "uk", "pl", "cs", "sk", "sl", "hr", "sr", "bs",
    "ro", "hu", "da", "sv", "no", "nb", "nn", "fi", "tr", "el", "bg", "id", "vi", "ca", "lt",
    "lv", "et",
}  # fmt: skip


@lru_cache(maxsize=1024)
def _lang(language: str | None) -> str | None:
    """Two-letter language code from 'de', 'de-DE', 'en_US' ...; None stays None."""
    if not language:
        return None
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0] or None


def reading_language(text: str, language: str | None) -> str | None:
    """The language `find_numbers` reads `text` in: the given one, else the guessed one."""
    return _lang(language) or _lang(guess_language(text))


def _style(lang: str | None) -> str | None:
    """Digit convention: 'de' (1.234,5), 'en' (1,234.5) or None (decide by shape)."""
    if lang is None:
        return None
    return "de" if lang in _COMMA_DECIMAL else "en"


# --- vocabulary ---------------------------------------------------------------------------

_SCALES: dict[str, float] = {
    "tausend": 1e3, "thousand": 1e3, "thousands": 1e3, "k": 1e3,
    "mio": 1e6, "mio.": 1e6, "million": 1e6, "millionen": 1e6, "millions": 1e6, "mn": 1e6,
    "mrd": 1e9, "mrd.": 1e9, "milliarde": 1e9, "milliarden": 1e9, "bn": 1e9,
    "bio": 1e12, "bio.": 1e12, "billionen": 1e12, "trillion": 1e12, "trillions": 1e12,
    "tn": 1e12,
}  # fmt: skip
_SCALE_RE = re.compile(
    r"\s+(Tausend|tausend|thousands?|Mio\.|Mio\b|Millionen|Million|millions?|Mrd\.|Mrd\b|"
    r"Milliarden|Milliarde|billions?|Billionen|Billion|Bio\.|trillions?|bn\b|mn\b|tn\b|"
    r"TAUSEND|MILLIONEN|MILLION|MILLIARDEN|MILLIARDE|BILLIONEN)(?![\w])",
)
_ATTACHED_SCALE_RE = re.compile(r"(k|K|bn|mn|Mrd\.?|Mio\.?|tn)(?![\w])")

_CURRENCY_WORDS: dict[str, str] = {
    "us-dollar": "USD", "us-dollars": "USD", "dollar": "USD", "dollars": "USD", "usd": "USD",
    "euro": "EUR", "euros": "EUR", "eur": "EUR", "rubel": "RUB", "rubeln": "RUB",
    "rubles": "RUB", "roubles": "RUB", "ruble": "RUB", "rouble": "RUB", "rub": "RUB",
    "pfund": "GBP", "pounds": "GBP", "pound": "GBP", "gbp": "GBP", "yen": "JPY", "jpy": "JPY",
    "yuan": "CNY", "renminbi": "CNY", "cny": "CNY", "franken": "CHF", "chf": "CHF",
    "won": "KRW", "krw": "KRW", "hrywnja": "UAH", "hrywnja.": "UAH", "griwna": "UAH",
    "hryvnia": "UAH", "hryvnias": "UAH", "uah": "UAH", "rupien": "INR", "rupees": "INR",
    "inr": "INR", "zloty": "PLN", "złoty": "PLN", "pln": "PLN", "lira": "TRY", "try": "TRY",
    "schekel": "ILS", "shekels": "ILS", "ils": "ILS", "rial": "IRR", "dinar": "IQD",
}  # fmt: skip
_CURRENCY_SYMBOLS: dict[str, str] = {
    "US$": "USD", "US-$": "USD", "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₽": "RUB",
    "₴": "UAH", "₩": "KRW", "₹": "INR", "CHF": "CHF", "USD": "USD", "EUR": "EUR",
    "GBP": "GBP",
}  # fmt: skip
_PREFIX_CURRENCY_RE = re.compile(r"(US-?\$|USD|EUR|GBP|CHF|[$€£¥₽₴₩₹])\s?$")

_UNIT_WORDS: dict[str, str] = {
    "%": "%", "prozent": "%", "percent": "%", "pct": "%", "per cent": "%",
    "prozentpunkte": "pp", "prozentpunkten": "pp", "percentage points": "pp",
    "km": "km", "kilometer": "km", "kilometern": "km", "kilometers": "km", "kilometres": "km",
    "m": "m", "meter": "m", "metern": "m", "meters": "m", "metres": "m",
    "cm": "cm", "zentimeter": "cm", "centimeters": "cm", "centimetres": "cm",
    "mm": "mm", "millimeter": "mm", "millimeters": "mm", "millimetres": "mm",
    "kg": "kg", "kilogramm": "kg", "kilo": "kg", "kilograms": "kg", "kilos": "kg",
    "g": "g", "gramm": "g", "grams": "g", "mg": "mg",
    "t": "t", "tonne": "t", "tonnen": "t", "tons": "t", "tonnes": "t", "ton": "t",
    "l": "L", "liter": "L", "litern": "L", "litres": "L", "liters": "L",
    "km²": "km2", "km2": "km2", "qkm": "km2", "quadratkilometer": "km2",
    "quadratkilometern": "km2", "square kilometres": "km2", "square kilometers": "km2",
    "m²": "m2", "quadratmeter": "m2", "ha": "ha", "hektar": "ha", "hectares": "ha",
    "mw": "MW", "megawatt": "MW", "gw": "GW", "gigawatt": "GW", "kw": "kW", "kilowatt": "kW",
    "kwh": "kWh", "mwh": "MWh", "gwh": "GWh", "twh": "TWh", "°c": "°C", "grad celsius": "°C",
    "km/h": "km/h", "mph": "mph", "meilen": "mi", "miles": "mi", "mile": "mi",
    "feet": "ft", "ft": "ft",
}  # fmt: skip
_UNIT_RE = re.compile(
    r"\s*(%)|\s+("
    + "|".join(
        sorted(
            (re.escape(u) for u in [*_UNIT_WORDS, *_CURRENCY_WORDS, "€", "$", "£", "¥", "₽"]),
            key=len,
            reverse=True,
        )
    )
    + r")(?![\w²/])",
    re.IGNORECASE,
)
# Lower-case-only unit symbols that are also ordinary words when capitalised or spelled out.
_CASE_SENSITIVE_UNITS = {"m", "t", "g", "l", "km", "cm", "mm", "kg", "mg", "ha", "ft", "won"}

_QUALIFIERS: list[tuple[str, Qualifier]] = [
    (r"bis\s+zu", Qualifier.UP_TO), (r"up\s+to", Qualifier.UP_TO),
    (r"mehr\s+als", Qualifier.MORE_THAN), (r"more\s+than", Qualifier.MORE_THAN),
    (r"über", Qualifier.MORE_THAN), (r"over", Qualifier.MORE_THAN),
    (r"weniger\s+als", Qualifier.LESS_THAN), (r"less\s+than", Qualifier.LESS_THAN),
    (r"fewer\s+than", Qualifier.LESS_THAN), (r"unter", Qualifier.LESS_THAN),
    (r"under", Qualifier.LESS_THAN),
    (r"mindestens", Qualifier.AT_LEAST), (r"wenigstens", Qualifier.AT_LEAST),
    (r"at\s+least", Qualifier.AT_LEAST),
    (r"geschätzte?[nmrs]?", Qualifier.ESTIMATE), (r"schätzungsweise", Qualifier.ESTIMATE),
    (r"an\s+estimated", Qualifier.ESTIMATE), (r"estimated", Qualifier.ESTIMATE),
    (r"rund", Qualifier.ABOUT), (r"etwa", Qualifier.ABOUT), (r"ca\.", Qualifier.ABOUT),
    (r"circa", Qualifier.ABOUT), (r"zirka", Qualifier.ABOUT), (r"ungefähr", Qualifier.ABOUT),
    (r"knapp", Qualifier.ABOUT), (r"fast", Qualifier.ABOUT), (r"nahezu", Qualifier.ABOUT),
    (r"annähernd", Qualifier.ABOUT), (r"about", Qualifier.ABOUT), (r"around", Qualifier.ABOUT),
    (r"roughly", Qualifier.ABOUT), (r"approximately", Qualifier.ABOUT),
    (r"nearly", Qualifier.ABOUT), (r"almost", Qualifier.ABOUT), (r"some", Qualifier.ABOUT),
    (r"approx\.", Qualifier.ABOUT),
]  # fmt: skip
#: the qualifier cues as written (lower case, one space between words), for a lookup of the
#: one or two words before a number
_QUALIFIER_WORDS: dict[str, Qualifier] = {
    **{w: Qualifier.ESTIMATE for w in ("geschätzt", "geschätzte", "geschätzten", "geschätztem",
                                       "geschätzter", "geschätztes")},
    **{re.sub(r"\\s\+", " ", p).replace("\\", ""): q for p, q in _QUALIFIERS if "?" not in p},
}  # fmt: skip
_OPENING = "([{„“\"'»«‚‘"
#: the last word of every cue (lower case): no cue ends in another word
_QUALIFIER_ENDS = frozenset(cue.rsplit(" ", 1)[-1] for cue in _QUALIFIER_WORDS)

_MONTHS_DE = (
    "Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember|"
    "Jan\\.|Feb\\.|Mär\\.|Apr\\.|Jun\\.|Jul\\.|Aug\\.|Sep\\.|Sept\\.|Okt\\.|Nov\\.|Dez\\."
)
_MONTHS_EN = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan\\.|Feb\\.|Mar\\.|Apr\\.|Jun\\.|Jul\\.|Aug\\.|Sep\\.|Sept\\.|Oct\\.|Nov\\.|Dec\\."
)
_MONTHS = f"{_MONTHS_DE}|{_MONTHS_EN}"
_DATE_RES = [
    re.compile(r"(?<![\w.])\d{4}-\d{2}-\d{2}(?!\w)"),
    re.compile(r"(?<![\w.,])(?:[12]\d|3[01]|0?[1-9])\.\s?(?:1[0-2]|0?[1-9])\.(?:\s?\d{4}|\d{2})?"),
    re.compile(rf"(?<![\w.,])\d{{1,2}}\.?\s*(?:{_MONTHS})(?:\s+\d{{4}})?(?![\w])"),
    re.compile(
        rf"(?<![\w])(?:{_MONTHS_EN})\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?(?![\w.,]\d)"
    ),
]
_TIME_RES = [
    re.compile(r"(?<![\w.,:])(?:[01]?\d|2[0-3])[:.][0-5]\d\s*Uhr(?!\w)"),
    re.compile(
        r"(?<![\w.,:])(?:[01]?\d|2[0-3]):[0-5]\d(?:\s*(?:Uhr|[ap]\.m\.|[AP]M)(?![\w]))?(?![\d:])"
    ),
    re.compile(r"(?<![\w.,])(?:[01]?\d|2[0-3])\s*Uhr(?!\w)"),
    re.compile(r"(?<![\w.,])(?:1[0-2]|0?\d)\s*(?:[ap]\.m\.|[AP]M(?![\w]))"),
]
_EN_TIME_RE = re.compile(r"(?<![\w.,])(?:1[0-2]|0?\d)\s*(?:am|pm)(?!\w)")

_YEAR_CUES = re.compile(
    rf"(?:\b(?:im\s+Jahre?|Jahr|Jahres|in|im|seit|since|bis|until|von|vom|from|of|year|Anfang|"
    rf"Ende|Mitte|early|late|mid|Frühjahr|Frühling|Sommer|Herbst|Winter|spring|summer|"
    rf"autumn|fall|winter|by|zum|um|ab|nach|vor|before|after|{_MONTHS})\s+|[-–/]\s*)$",
    re.IGNORECASE,
)

_ORDINAL_WORDS_DE = re.compile(
    r"(?:erst|zweit|dritt|viert|fünft|sechst|siebt|siebent|neunt|zehnt|elft|zwölft|"
    r"zwanzigst|hundertst)(?:e|er|en|es|em)",
    re.IGNORECASE,
)
_ORDINAL_WORDS_EN = {
    "first": 1, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "twentieth": 20,
    "hundredth": 100,
}  # fmt: skip
_ORDINAL_STEMS_DE = {
    "erst": 1, "zweit": 2, "dritt": 3, "viert": 4, "fünft": 5, "sechst": 6, "siebt": 7,
    "siebent": 7, "neunt": 9, "zehnt": 10, "elft": 11, "zwölft": 12, "zwanzigst": 20,
    "hundertst": 100,
}  # fmt: skip
_ARTICLES_PREPS = _wordset(
    "der die das den dem des ein eine einer einem einen eines am im zum zur vom beim ihr ihre "
    "ihrem ihren sein seine seinem seinen"
)
_ONE_WORDS = _wordset("ein eine einer einem einen eines one a an")
_ADJ_RE = re.compile(r"[a-zäöüß][\w-]*(?:e|en|er|es|em)$")

# --- tokenising ---------------------------------------------------------------------------

#: zero-width characters that may sit inside a number ("11\u200b000") and are read through
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_D = rf"\d+(?:[{ZERO_WIDTH}]+\d+)*"  # digits, zero-width characters between them allowed
#: letters and combining marks, taken in runs and never given back (possessive): the regex
#: engine keeps no backtracking state per character
_LETTERS = r"(?:[^\W\d_]++|[\u0300-\u036f]++)++"
#: a word (hyphenated words are one), or a number's digits; the lookahead skips the positions
#: where no token starts without trying each alternative (twice as fast on news text), and words
#: come first because most tokens are words
_TOKEN_RE = re.compile(
    r"(?=[\w\u0300-\u036f])(?:"
    rf"{_LETTERS}(?:-{_LETTERS})*"
    rf"|\d{{1,3}}(?:[ \u00a0\u202f\u2009]\d{{3}})+(?![\d{ZERO_WIDTH}]|[.,]\d)(?:,{_D})?"
    rf"|{_D}(?:[{ZERO_WIDTH}]*[.,][{ZERO_WIDTH}]*{_D})*)"
)


# Cheap filter before asking text2num: stems every number or ordinal word contains.
_NUMBERISH_RE = re.compile(
    r"ein|zwei|drei|vier|fünf|sechs|sieb|acht|neun|zehn|elf|zwölf|zwan|ßig|hundert|tausend|"
    r"million|milliard|billion|erst|zweit|dritt|one|two|three|four|five|six|seven|eight|"
    r"nine|ten|eleven|twelve|twen|thirt|fort|fift|sixt|eight|ninet|hundred|thousand|first|"
    r"second|third|twelfth|sech|ninth|^an?$",
    re.IGNORECASE,
)


def _may_be_number_word(low: str, lang: str | None) -> bool:
    """Whether a word can start a number or ordinal ("drei", "zwölftausend", "third"); "ein",
    "an", "one" are `_word_kind`'s to judge, and `find_numbers` remembers the answer per word
    as written (`_WORD_TESTS`)."""
    if not _NUMBERISH_RE.search(low):
        return False
    if low in _ORDINAL_WORDS_EN or _ORDINAL_WORDS_DE.fullmatch(low):
        return True
    return low == "second" or any(_word_value(low, lg) is not None for lg in _langs(lang))


def _langs(lang: str | None) -> tuple[str, ...]:
    return (lang,) if lang else ("de", "en")


@lru_cache(maxsize=65536)
def _word_value(word: str, lang: str) -> float | None:
    try:
        return float(text2num(word, lang))
    except Exception:  # text2num raises ValueError, or others for unsupported languages
        return None


_GROUP_SPACES = re.compile(rf"[\u00a0\u202f\u2009 {ZERO_WIDTH}]")


def _parse_digits(s: str, style: str | None) -> float | None:
    """Value of a digit string like '11.000', '1,2', '1,234,567.5' under a digit style."""
    if s.isdecimal():  # plain digits, the common case
        return float(s)
    s = _GROUP_SPACES.sub("", s)
    if not s or not s[0].isdigit():
        return None
    has_dot, has_comma = "." in s, "," in s
    try:
        if has_dot and has_comma:
            dec = "." if s.rfind(".") > s.rfind(",") else ","
            thou = "," if dec == "." else "."
            return float(s.replace(thou, "").replace(dec, "."))
        if not has_dot and not has_comma:
            return float(s)
        sep = "." if has_dot else ","
        parts = s.split(sep)
        grouped = len(parts[0]) <= 3 and all(len(p) == 3 for p in parts[1:])
        if len(parts) > 2:
            return float(s.replace(sep, "")) if grouped else None
        if not grouped:
            return float(s.replace(sep, "."))
        thousands = {
            None: True,
            "de": sep == ".",
            "en": sep == ",",
        }[style]
        return float(s.replace(sep, "")) if thousands else float(s.replace(sep, "."))
    except ValueError:
        return None


_NEXT_CHAR = re.compile(r"[ \t\u00a0]*(\S)")


def _words_after(text: str, pos: int, n: int) -> Iterator[re.Match[str]]:
    """Up to n word/number tokens after pos, stopping at punctuation other than a hyphen; one
    at a time, so a caller that has its answer early reads no further."""
    for _ in range(n):
        m = _NEXT_CHAR.match(text, pos)
        if not m or not (m.group(1).isalnum() or m.group(1) in "\"'„“»"):
            return
        tm = _TOKEN_RE.match(text, m.start(1))
        if not tm:
            return
        yield tm
        pos = tm.end()


_EN_STOP = _wordset(
    """the a an of in on at to for from by with and or but as than that which who were was is
    are be been being have has had will would could should may might can do did does not no
    this these those their its his her our into over under after before during per each
    were said says more less about killed wounded injured dead when where while if whereas
    because although then thus respectively"""
)


def counted_noun(text: str, pos: int, lang: str | None) -> tuple[int, int] | None:
    """Span of the noun phrase a number counts, starting right after `pos`: German skips up to
    three adjectives (or und/oder) to a capitalised noun; English takes up to three words
    before a function word and ends at the last one."""
    if lang == "en":
        toks = list(_words_after(text, pos, 4))
        if not toks:
            return None
        run: list[re.Match[str]] = []
        for t in toks[:3]:
            w = t.group()
            if w.lower() in _EN_STOP or w[0].isdigit() or w.endswith("ly"):
                break
            run.append(t)
        plural = next((i for i, t in enumerate(run) if re.search(r"[^s]s$", t.group())), None)
        if plural is not None:
            run = run[: plural + 1]
        while run and run[-1].group().lower().endswith(("ed", "ing")):
            run.pop()
        if not run:
            return None
        return toks[0].start(), run[-1].end()
    start = pos
    for i, t in enumerate(_words_after(text, pos, 4)):
        w = t.group()
        start = t.start() if i == 0 else start
        if w[0].isupper() and not w[0].isdigit():
            if w.lower() in _CURRENCY_WORDS or w.lower() in _SCALES:
                return None
            return start, t.end()
        if i >= 3 or not (_ADJ_RE.match(w) or w in ("und", "oder")):
            return None
    return None


# --- the scanner --------------------------------------------------------------------------


#: date and time patterns that start with a digit: tried only where a digit run starts
_DIGIT_FIRST = [(r, NumberKind.DATE) for i, r in enumerate(_DATE_RES) if i != 3] + [
    (r, NumberKind.TIME) for r in _TIME_RES
]
_DIGIT_FIRST_EN = [*_DIGIT_FIRST, (_EN_TIME_RE, NumberKind.TIME)]
_MONTH_FIRST = _DATE_RES[3]  # "October 3, 2024"
_MONTH_FIRST_HINT = re.compile(rf"(?:{_MONTHS_EN})\s+\d")  # scans faster: no lookbehind first
_DIGIT_RUN = re.compile(r"\d+")  # its matches start where digit runs start


def _any_at_digit_run(patterns: list[tuple[re.Pattern[str], NumberKind]]) -> re.Pattern[str]:
    """Any of the patterns, tried at each digit run's start (a lookbehind-led scan of every
    position of the text would cost twice the time of finding the runs first)."""
    return re.compile("|".join(f"(?:{rx.pattern})" for rx, _kind in patterns))


_DIGIT_FIRST_AT = _any_at_digit_run(_DIGIT_FIRST)
_DIGIT_FIRST_EN_AT = _any_at_digit_run(_DIGIT_FIRST_EN)


def _pre_pass(text: str, lang: str | None, runs: list[int]) -> list[NumberMention]:
    """Dates and clock times, found before the scanner reads numbers so that it does not read
    them. `runs` are where the text's digit runs start; the digit-first patterns are tried
    there only (every date and time pattern has a digit)."""
    if not runs:
        return []
    found: list[NumberMention] = []
    patterns = _DIGIT_FIRST_EN if lang == "en" else _DIGIT_FIRST
    at = _DIGIT_FIRST_EN_AT if lang == "en" else _DIGIT_FIRST_AT
    starts = [pos for pos in runs if at.match(text, pos)]
    matches = [(m, kind) for pos in starts for rx, kind in patterns if (m := rx.match(text, pos))]
    if _MONTH_FIRST_HINT.search(text):
        matches += [(m, NumberKind.DATE) for m in _MONTH_FIRST.finditer(text)]
    for m, kind in matches:
        nums = re.findall(r"\d+", m.group())
        if kind == NumberKind.TIME:
            value = int(nums[0]) + (int(nums[1]) / 60 if len(nums) > 1 else 0)
        else:
            value = float(nums[0])
        found.append(
            NumberMention(m.start(), m.end(), m.group(), float(value), None, "exact", kind)
        )
    return _non_overlapping(found) if len(found) > 1 else found


def _non_overlapping(items: list[NumberMention]) -> list[NumberMention]:
    """Keep the longest of overlapping mentions, in text order.

    The kept ones do not overlap, so only the two kept neighbours of a candidate can overlap
    it: a bisection each, not a pass over all kept (dates are dense in some texts).
    """
    kept: list[NumberMention] = []
    starts: list[int] = []
    for it in sorted(items, key=lambda x: (-(x.end - x.start), x.start)):
        i = bisect.bisect_right(starts, it.start)
        if (i and kept[i - 1].end > it.start) or (i < len(kept) and kept[i].start < it.end):
            continue
        starts.insert(i, it.start)
        kept.insert(i, it)
    return kept


def _at_sentence_start(text: str, pos: int) -> bool:
    before = text[max(0, pos - 12) : pos].rstrip(" \t\"'„“»«(")
    if not before and pos > 12:
        return False
    return not before or before[-1] in ".!?:\n"


@dataclass(frozen=True, slots=True)
class _Atom:
    """A bare number (digits or words) before qualifiers, scales and units are attached."""

    start: int
    end: int
    value: float
    digits: bool


def _atom_at(
    text: str, m: re.Match[str], lang: str | None, style: str | None, allow_one: bool = False
) -> _Atom | None:
    tok = m.group()
    if tok[0].isdigit():
        v = _parse_digits(tok, style)
        return None if v is None else _Atom(m.start(), m.end(), v, True)
    low = tok.lower()
    if tok[0].isupper() and not _at_sentence_start(text, m.start()) and low not in _SCALES:
        return None
    langs = [lang] if lang else ["de", "en"]
    next_is_scale = bool(_SCALE_RE.match(text, m.end()))
    if low in _ONE_WORDS:
        return _Atom(m.start(), m.end(), 1.0, False) if next_is_scale or allow_one else None
    for lg in langs:
        v = _word_value(low, lg)
        if v is None:
            continue
        if lg == "en":  # multi-word English numbers: "two hundred and five"
            end, pos = m.end(), m.end()
            words = [low]
            while True:
                nxt = re.compile(r"\s+([a-z]+(?:-[a-z]+)*)").match(text, pos)
                if not nxt:
                    break
                cand = [*words, nxt.group(1)]
                cv = _word_value(" ".join(cand), lg)
                if nxt.group(1) == "and":
                    nxt2 = re.compile(r"\s+([a-z]+(?:-[a-z]+)*)").match(text, nxt.end())
                    cv2 = nxt2 and _word_value(" ".join([*cand, nxt2.group(1)]), lg)
                    if not nxt2 or cv2 is None:
                        break
                    words, v, end, pos = [*cand, nxt2.group(1)], cv2, nxt2.end(), nxt2.end()
                    continue
                if cv is None:
                    break
                words, v, end, pos = cand, cv, nxt.end(), nxt.end()
            if v >= 2 or next_is_scale:
                return _Atom(m.start(), end, v, False)
            return None
        if v >= 2 or next_is_scale:
            return _Atom(m.start(), m.end(), v, False)
        return None
    return None


def _scale_at(text: str, pos: int, lang: str | None) -> tuple[float, int] | None:
    m = _SCALE_RE.match(text, pos)
    if not m:
        return None
    w = m.group(1)
    low = w.lower()
    if low in ("billion", "billions"):
        german = lang == "de" or (lang is None and w[0] == "B")
        return (1e12 if german else 1e9), m.end()
    if low == "billionen":
        return 1e12, m.end()
    return _SCALES[low], m.end()


_SPACE_RUN = re.compile(r"\s+")


def _unit_at(text: str, pos: int) -> tuple[str, int] | None:
    m = _UNIT_RE.match(text, pos)
    if not m:
        return None
    raw = m.group(1) or m.group(2)
    low = _SPACE_RUN.sub(" ", raw.lower())
    if low in _CASE_SENSITIVE_UNITS and raw != low:
        return None
    if raw == "mW":
        return "mW", m.end()
    if low in _CURRENCY_WORDS:
        return _CURRENCY_WORDS[low], m.end()
    if raw in _CURRENCY_SYMBOLS:
        return _CURRENCY_SYMBOLS[raw], m.end()
    return _UNIT_WORDS[low], m.end()


#: per language, whether a word as written may start a number (`_word_kind`): news repeats
#: its words, and a dict lookup is cheaper than lowering the word and testing it
_WORD_TESTS: dict[str | None, dict[str, int]] = {}
_WORD_TESTS_MAX = 200_000
#: `_word_kind`'s answers: no number; a number word; "ein", "a", "one", which read as a number
#: only before a scale word ("eine Million"), and are no ordinal (test_numbers checks it)
_NO_NUMBER, _NUMBER_WORD, _ONE_WORD = 0, 1, 2


def _word_kind(tok: str, lang: str | None) -> int:
    low = tok.lower()
    if low in _ONE_WORDS:
        return _ONE_WORD
    return _NUMBER_WORD if _may_be_number_word(low, lang) else _NO_NUMBER


def _candidates(text: str, lang: str | None) -> tuple[list[re.Match[str]], list[int]]:
    """The tokens that may start a number (digits, number words), and where the text's digit
    runs start: every digit is inside a digit token, so one pass over the tokens finds both."""
    words = _WORD_TESTS.setdefault(lang, {})
    if len(words) > _WORD_TESTS_MAX:
        words.clear()
    candidates: list[re.Match[str]] = []
    runs: list[int] = []
    known = words.get
    for m in _TOKEN_RE.finditer(text):
        tok = m.group()
        kind = known(tok)
        if kind == _NO_NUMBER:
            continue  # most tokens: a word met before that is no number
        if kind is None:
            if tok[0].isdigit():  # digits are not remembered: too many different ones
                candidates.append(m)
                if tok.isdecimal():
                    runs.append(m.start())
                else:  # "11.000", "12 000": a run after each separator
                    runs += [r.start() for r in _DIGIT_RUN.finditer(text, m.start(), m.end())]
                continue
            kind = words[tok] = _word_kind(tok, lang)
        if kind == _NUMBER_WORD or (kind == _ONE_WORD and _SCALE_RE.match(text, m.end())):
            candidates.append(m)  # "ein" elsewhere would be read and dropped: not a candidate
    return candidates, runs


def find_numbers(text: str, language: str | None = None) -> list[NumberMention]:
    """Every number mention in the text, including years/dates/times/ordinals marked by kind,
    in text order, non-overlapping."""
    lang = reading_language(text, language)
    style = _style(lang)
    candidates, runs = _candidates(text, lang)
    special = _pre_pass(text, lang, runs)
    mentions: list[NumberMention] = []
    nxt = 0  # index of the next date/time mention not yet passed
    pos = 0  # end of what is read so far
    code_end = -1  # end of the last label ("Figs. 3, 6–9": the list goes on)
    for m in candidates:
        if m.start() < pos:
            continue
        while nxt < len(special) and special[nxt].end <= m.start():
            nxt += 1
        if nxt < len(special) and special[nxt].start <= m.start():
            pos = special[nxt].end
            continue
        digits = m.group()[0].isdigit()
        if code_end >= 0 and digits and _LIST_JOIN.fullmatch(text, code_end, m.start()):
            mention = _code(text, m.start(), m.end())
        else:
            mention = _mention_at(text, m, lang, style)
        if mention is None:
            continue
        code_end = mention.end if mention.kind == NumberKind.CODE else -1
        if nxt < len(special) and mention.end > special[nxt].start:
            continue  # would swallow a date or time
        mentions.append(mention)
        pos = mention.end
    return sorted([*special, *mentions], key=lambda x: x.start)


def _code(text: str, start: int, end: int) -> NumberMention:
    value = _parse_digits(re.sub(r"\D+$", "", text[start:end]) or "0", None) or 0.0
    return NumberMention(start, end, text[start:end], value, None, "exact", NumberKind.CODE)


#: words that make the number after them a label: "Fig. 3", "Section 4.1", "Artikel 5"
_LABEL_WORDS = _wordset(
    """fig figs figure figures table tables tab section sections sect sec eq eqs equation
    equations chapter chap appendix abb abbildung abbildungen tabelle kapitel abschnitt
    gleichung line lines step steps phase phases axis scenario scenarios experiment exp case
    cases sample samples station site sites lemma theorem proposition definition algorithm
    article articles artikel art abs no nr nummer number level stage group type version part
    zone round runde gruppe stufe teil platz ref refs model region plot treatment lane panel box
    row column layer unit core well hole"""
)


def _after_label(before: str) -> bool:
    """Whether a label word or § stands right before the number (same line)."""
    head = before.rstrip(" \t\u00a0")
    if not head or head[-1].isspace():
        return False
    if head[-1] in ("§", "#"):
        return True
    word = head.rsplit(None, 1)[-1].lstrip(_OPENING).lower()
    return (word[:-1] if word.endswith(".") else word) in _LABEL_WORDS


#: what joins the items of a label list: "Figs. 3, 6–9", "phases 3 and 5"
_LIST_JOIN = re.compile(r"\s*(?:,|;|–|-|and|und|or|oder|&)\s*(?:and\s+|und\s+)?")
_CODE_BEFORE = re.compile(r"[^\W\d_][-−]?\Z")
_CITATION_OPEN = re.compile(r"\[[\d,;\s–-]*$")
_CITATION_CLOSE = re.compile(r"[\d,;\s–-]*\]")
_ATTACHED = re.compile(r"(?:[^\W\d_]|[\u0300-\u036f])+")
_NEGATIVE_SIGN = re.compile(r"(?:^|(?<=[\s(\[=≈∼~<>:;,/]))[−-]$")
_SCIENTIFIC = re.compile(r"\s?[×x]\s?10\s?(?:\^\s?)?([−-]?\d{1,2})(?!\d)")
#: a measurement's uncertainty belongs to it: "3.19 ± 0.10", "4.1816(4)"
_UNCERTAINTY = re.compile(r"\s?±\s?\d+(?:[.,]\d+)?|\(\d{1,2}\)(?=[\s,;.]|$)")


def _designation(
    text: str, m: re.Match[str], before: str, lang: str | None
) -> NumberMention | None:
    """A label, reference or code rather than an amount: "Fig. 3", "Section 4.1", "[50]",
    "(27)" after a word (an English citation), "(5) Finally", "2011b", "3er"."""
    tok = m.group()
    after = text[m.end() : m.end() + 40]
    glued = _ATTACHED.match(text, m.end())
    end = m.end() + (len(glued.group()) if glued and len(glued.group()) <= 2 else 0)
    if _after_label(before):
        return _code(text, m.start(), end)
    if "[" in before[-24:] and _CITATION_OPEN.search(before[-24:]) and _CITATION_CLOSE.match(after):
        return _code(text, m.start(), m.end())
    paren = before.endswith("(") and after.startswith(")")
    if paren and lang != "de" and re.fullmatch(r"\d{1,3}", tok):
        lead = before[:-1].rstrip()
        if re.search(r"(?:[a-z)\].]|^)$", lead) or re.match(r"\)\s+[A-Z]", after):
            return _code(text, m.start(), m.end())
    if glued and not _unit_or_scale(glued.group()):
        return _code(text, m.start(), m.end() + len(glued.group()))
    return None


def _unit_or_scale(word: str) -> bool:
    """A letter run glued to digits that still reads as part of the amount ("5km", "2bn")."""
    low = word.lower()
    return (
        low in _UNIT_WORDS
        or low in _SCALES
        or low in _CURRENCY_WORDS
        or low in ("st", "nd", "rd", "th", "h", "min", "s", "x", "mw", "kwh", "mm", "ml", "µm")
        or bool(_ATTACHED_SCALE_RE.fullmatch(word))
    )


_EN_ORDINAL_SUFFIX = re.compile(r"(st|nd|rd|th)\b")
_UP_TO_3_DIGITS = re.compile(r"\d{1,3}")
_DOT_WORD = re.compile(r"\.[ \t]+([^\W\d_]+)")
_WORD_AT_END = re.compile(r"([^\W\d_]+)\s+$")


def _after_article(before: str) -> bool:
    """Whether an article or preposition ends `before` ("die 3. Armee", "am 3. Tag")."""
    prev = _WORD_AT_END.search(before)
    return bool(prev and prev.group(1) in _ARTICLES_PREPS)


def _ordinal_at(
    text: str, m: re.Match[str], before: str, lang: str | None, style: str | None
) -> NumberMention | None:
    """ "3rd", "dritte", "the second", German "die 3. Armee" (not "am 3. Oktober": a date)."""
    tok = m.group()
    if tok[0].isdigit():
        if lang != "de" and _EN_ORDINAL_SUFFIX.match(text[m.end() : m.end() + 3]):
            try:
                value = float(tok)
            except ValueError:  # "1,234,567.53rd": grouped digits are no ordinal
                return None
            end = m.end() + 2
            return NumberMention(m.start(), end, text[m.start() : end], value, None, "exact",
                                 NumberKind.ORDINAL)  # fmt: skip
        if style != "en" and _UP_TO_3_DIGITS.fullmatch(tok):
            nxt = _DOT_WORD.match(text, m.end())
            if nxt and (nxt.group(1)[0].islower() or _after_article(before)):
                end = m.end() + 1
                return NumberMention(m.start(), end, text[m.start() : end], float(tok), None,
                                     "exact", NumberKind.ORDINAL)  # fmt: skip
        return None
    ordinal = _ordinal_word(tok, text, m.start(), lang)
    if ordinal is None:
        return None
    return NumberMention(m.start(), m.end(), tok, ordinal, None, "exact", NumberKind.ORDINAL)


@dataclass(slots=True)
class _Draft:
    """A number being read: the atom, grown step by step by sign, currency, scale, range,
    unit and qualifier."""

    start: int
    end: int
    value: float
    digits: bool
    token: str
    unit: str | None = None
    qualifier: Qualifier = Qualifier.EXACT
    upper: float | None = None
    scaled: bool = False


def _mention_at(
    text: str, m: re.Match[str], lang: str | None, style: str | None
) -> NumberMention | None:
    before = text[max(0, m.start() - 40) : m.start()]
    if m.group()[0].isdigit():
        if _CODE_BEFORE.search(before[-2:]):
            return None  # designations and unit powers: F-16, G7, COVID-19, A4, cm−1
        code = _designation(text, m, before, lang)
        if code is not None:
            return code
    ordinal = _ordinal_at(text, m, before, lang, style)
    if ordinal is not None:
        return ordinal
    atom = _atom_at(text, m, lang, style)
    if atom is None:
        return None
    d = _Draft(atom.start, atom.end, atom.value, atom.digits, m.group())
    if d.digits:
        _sign(d, before)
        _currency_before(text, d, before)
        _scientific(text, d)
    if not d.scaled:
        _scale_word(text, d, lang)
    _range(text, d, before, lang, style)
    if d.unit is None:
        um = _unit_at(text, d.end)
        if um:
            d.unit, d.end = um
    _qualifier(text, d)
    kind = _kind(text, d, before, lang)
    cn = None
    if kind == NumberKind.QUANTITY:
        cn = counted_noun(text, d.end, "en" if lang == "en" else "de")
        if cn and d.unit is None:
            d.unit = text[cn[0] : cn[1]].split()[-1]
    return NumberMention(d.start, d.end, text[d.start : d.end], float(d.value), d.unit,
                         d.qualifier.value, kind, d.upper, cn)  # fmt: skip


def _sign(d: _Draft, before: str) -> None:
    """A minus sign written right before the digits: "−25.9", "(-3)"."""
    if before[-1:] in ("-", "−") and _NEGATIVE_SIGN.search(before[-2:]):
        d.value, d.start = -d.value, d.start - 1


_GLUED_SCALE_RE = re.compile(r"(k|K|bn|mn|tn)(?![\w])")


def _currency_before(text: str, d: _Draft, before: str) -> None:
    """Currency before the number ("$2.5 billion", "€ 300", "US-$ 5") and an attached scale
    ("$5bn", "€3m", "10k")."""
    window = before[-5:]
    cm = _PREFIX_CURRENCY_RE.search(window)
    if cm:
        sym = cm.group(1)
        d.unit = "USD" if "$" in sym else _CURRENCY_SYMBOLS[sym.replace("-", "")]
        d.start -= len(window) - cm.start()
        am = _ATTACHED_SCALE_RE.match(text, d.end) or re.compile(r"m(?![\w])").match(text, d.end)
        if am:
            word = am.group(1).lower() if am.lastindex else "mn"
            d.value *= _SCALES[word]
            d.end, d.scaled = am.end(), True
        return
    am = _GLUED_SCALE_RE.match(text, d.end)
    if am:
        d.value *= _SCALES[am.group(1).lower()]
        d.end, d.scaled = am.end(), True


def _scientific(text: str, d: _Draft) -> None:
    """ "4.3 × 10−8" is one number (the superscript minus often arrives as a plain one)."""
    sm = _SCIENTIFIC.match(text, d.end)
    if sm:
        d.value *= 10.0 ** int(sm.group(1).replace("−", "-"))
        d.end, d.scaled = sm.end(), True
    um = _UNCERTAINTY.match(text, d.end)
    if um and (um.group().lstrip()[:1] == "±" or "." in d.token):
        d.end = um.end()


def _scale_word(text: str, d: _Draft, lang: str | None) -> None:
    sc = _scale_at(text, d.end, lang)
    if sc:
        d.value *= sc[0]
        d.end, d.scaled = sc[1], True


_BETWEEN = re.compile(r"(?<!\w)(?:zwischen|between)\s+$", re.IGNORECASE)
_RANGE_JOINER = re.compile(r"(\s*[-–]\s*|\s+(?:bis|to)\s+|\s+(?:und|and)\s+)")
_AND_RE = re.compile(r"(?:und|and)")


def _range(text: str, d: _Draft, before: str, lang: str | None, style: str | None) -> None:
    """ "200 bis 300", "200-300", "zwischen 200 und 300", "200 to 300": one mention."""
    between = _BETWEEN.search(before[-10:]) if before[-1:].isspace() else None
    rm = _RANGE_JOINER.match(text, d.end)
    if not rm or (not between and _AND_RE.search(rm.group(1))):
        return
    m2 = _TOKEN_RE.match(text, rm.end())
    a2 = _atom_at(text, m2, lang, style) if m2 else None
    if a2 is None or a2.digits != d.digits:
        return
    v2, end2 = a2.value, a2.end
    sc2 = _scale_at(text, end2, lang)
    if sc2:
        v2 *= sc2[0]
        end2 = sc2[1]
        if not d.scaled:
            d.value *= sc2[0]
    if v2 >= d.value:
        d.upper, d.end, d.qualifier = v2, end2, Qualifier.RANGE
        if between:
            d.start -= len(before) - between.start()


def _qualifier(text: str, d: _Draft) -> None:
    """The cue word right before the number ("rund", "more than"); not for a range."""
    if d.qualifier == Qualifier.RANGE:
        return
    window = text[max(0, d.start - 24) : d.start]
    head = window.rstrip()
    if len(head) == len(window):
        return  # a cue is a word of its own, before a space
    words = head.rsplit(None, 2)
    last = words[-1].lower() if words else ""  # a cue's last word ends some cue
    if last not in _QUALIFIER_ENDS and last.lstrip(_OPENING) not in _QUALIFIER_WORDS:
        return
    for n in (2, 1):
        if len(words) < n:
            continue
        first = words[-n].lstrip(_OPENING)
        phrase = " ".join([first, *words[len(words) - n + 1 :]]).lower()
        q = _QUALIFIER_WORDS.get(phrase)
        if q is not None and first:
            d.qualifier = q
            d.start -= len(window) - (head.rindex(words[-n]) + len(words[-n]) - len(first))
            return


_FOUR_DIGITS = re.compile(r"\d{4}")


def _kind(text: str, d: _Draft, before: str, lang: str | None) -> NumberKind:
    """A year ("im Jahr 2024", "2023 schon") or a quantity."""
    if (
        d.digits
        and _FOUR_DIGITS.fullmatch(d.token)
        and 1900 <= d.value <= 2100
        and d.unit is None
        and not d.scaled
        and d.qualifier in (Qualifier.EXACT, Qualifier.RANGE)
        and (
            _YEAR_CUES.search(before[-20:])
            or counted_noun(text, d.end, "en" if lang == "en" else "de") is None
        )
    ):
        if d.qualifier == Qualifier.EXACT:
            d.start = d.end - 4 if d.upper is None else d.start
        return NumberKind.YEAR
    return NumberKind.QUANTITY


def _ordinal_word(tok: str, text: str, pos: int, lang: str | None) -> float | None:
    low = tok.lower()
    if lang != "en":
        om = _ORDINAL_WORDS_DE.fullmatch(low)
        if om:
            stem = re.sub(r"(e|er|en|es|em)$", "", low)
            if stem in _ORDINAL_STEMS_DE:
                return float(_ORDINAL_STEMS_DE[stem])
            if stem + "e" in _ORDINAL_STEMS_DE:  # "siebte" -> "siebt"
                return float(_ORDINAL_STEMS_DE[stem + "e"])
    if lang != "de":
        if low in _ORDINAL_WORDS_EN:
            return float(_ORDINAL_WORDS_EN[low])
        if low == "second" and re.search(r"\bthe\s+$", text[max(0, pos - 5) : pos], re.I):
            return 2.0
    return None


def parse_number(text: str, language: str | None = None) -> float | None:
    """Value of one number expression ('11.000', '1,2 Milliarden', 'drei', '$2.5 billion',
    'zwölftausend'); None if none."""
    lang = _lang(language)
    for mention in find_numbers(text, lang):
        return mention.value
    return None


def values_in(text: str, language: str | None = None) -> list[float]:
    """The values of every quantity mention in a short text (used to check a model Figure's
    value against its evidence); both bounds of a range count."""
    return _values(find_numbers(text, language))


def _values(mentions: Sequence[NumberMention]) -> list[float]:
    out: list[float] = []
    for mention in mentions:
        if mention.kind == NumberKind.QUANTITY:
            out.append(mention.value)
            if mention.upper is not None:
                out.append(mention.upper)
    return out


class MentionIndex:
    """The number mentions of one whole text, found once and looked up by position.

    Mentions do not overlap and come in text order, so the mentions inside a span are one
    bisection away: checking every Figure of an article against the text costs O(log n) each
    instead of parsing each quote again.
    """

    def __init__(self, mentions: list[NumberMention], language: str | None) -> None:
        """`mentions` as `find_numbers(text, language)` found them."""
        self.mentions = mentions
        self.language = language
        self._starts = [m.start for m in mentions]

    @classmethod
    def of(cls, text: str, language: str | None) -> MentionIndex:
        lang = reading_language(text, language)
        return cls(find_numbers(text, lang), lang)

    def within(self, start: int, end: int) -> list[NumberMention]:
        """The mentions that lie wholly inside text[start:end]."""
        i = bisect.bisect_left(self._starts, start)
        out = []
        while i < len(self.mentions) and self.mentions[i].end <= end:
            out.append(self.mentions[i])
            i += 1
        return out

    def values(self, start: int, end: int) -> list[float]:
        """`values_in` for the span, read in the context of the whole text; a number the span
        cuts into does not count (a range's other bound may lie outside the quote)."""
        return _values(self.within(start, end))
