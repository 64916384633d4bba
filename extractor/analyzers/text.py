"""Sentence splitting and noun-phrase reading shared by the offline analyzers.

Plain regular expressions over German and English news prose: no tagger, no model. German
capitalises nouns, which is what makes a noun phrase findable without a parser; English gets a
cruder reading (capitalised runs and the words before a verb).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache

from extractor import numbers
from extractor.chunking import Sentence, sentences
from extractor.numbers import NumberMention

__all__ = ["Document", "Sentence", "document", "sentences"]


#: one letter, or a combining mark (NFD text writes "ü" as "u" + U+0308)
LETTER = r"[^\W\d_]|[\u0300-\u036f]"
#: a run of letters or of combining marks: `(?:LETTER_RUN)+` matches what `(?:LETTER)+` does,
#: faster (the regex engine repeats one class instead of trying a branch per character)
LETTER_RUN = r"[^\W\d_]+|[\u0300-\u036f]+"


def wordset(words: str) -> frozenset[str]:
    """A set of words written as one space-separated string (easier to read and extend)."""
    return frozenset(words.split())


@dataclass(frozen=True)
class Document:
    """One article as every analyzer reads it: split into sentences and scanned for numbers
    once (the analyzers share it instead of each splitting and scanning again)."""

    text: str
    lang: str
    numbers: list[NumberMention]
    sentences: list[Sentence]
    number_starts: list[int]
    #: the prepositional cues ("laut X") of a sentence, by its start: read by the claims and the
    #: figures of the same sentence, found once
    cues: dict[int, list[tuple[int, str, Phrase]]] = field(default_factory=dict, compare=False)

    def numbers_in(self, start: int, end: int) -> list[NumberMention]:
        """The number mentions starting in [start, end), by binary search."""
        lo = bisect_left(self.number_starts, start)
        return self.numbers[lo : bisect_left(self.number_starts, end, lo)]


def document(
    text: str, language: str | None = None, mentions: numbers.MentionIndex | None = None
) -> Document:
    """The shared reading of `text`; without a language it is guessed (German by default).

    `mentions` are the text's numbers when the caller has found them already (the engine
    checks Figures against the same scan); used when they were read in the document's language.
    """
    lang = numbers.reading_language(text, language) or "de"
    if mentions is not None and mentions.language == lang:
        mentions = mentions.mentions
    else:
        mentions = numbers.find_numbers(text, lang)
    return Document(text, lang, mentions, sentences(text, mentions), [m.start for m in mentions])


# --- noun phrases -------------------------------------------------------------------------

ARTICLES = wordset(
    "der die das den dem des ein eine einen einem einer eines the a an "
    "sein seine seinen seinem seiner seines ihre ihren ihrem ihrer ihres his her its their"
)
PRONOUNS = wordset(
    "er sie es wir ich ihr man he she it they we i you dies das diese dieser this that"
)
# Sentence-initial adverbs and conjunctions: capitalised, but never a subject.
ADVERBS = wordset(
    """auch dennoch daraufhin zudem außerdem trotzdem jedoch dabei damit danach darauf deshalb
    daher nun jetzt heute gestern bereits schon zuvor später zuletzt zugleich gleichzeitig
    inzwischen mittlerweile allerdings demnach hier dort so doch aber und also erst zunächst
    anschließend ebenfalls ferner weiter laut nach bei im am in vor seit trotz inmitten während
    wegen mit ohne für gegen durch über unter zwischen obgleich obwohl als weil dass wie wenn
    ob indem nachdem bevor sodass denn oder sondern zusätzlich letzte letzten vergangene
    vergangenen diese dieser diesen on in at after before during while when as also but and
    however meanwhile earlier later yesterday today last"""
)
TEMPORAL = wordset(
    """woche wochen monat monate jahr jahre jahres tag tage wochenende morgen abend nacht
    sommer herbst winter frühjahr frühling montag dienstag mittwoch donnerstag freitag samstag
    sonntag januar februar märz april mai juni juli august september oktober november dezember
    week month year day weekend morning evening night summer autumn winter spring"""
)
ROLE_RE = re.compile(
    r"(präsident|kanzler|minister|sprecher|sekretär|chef|beauftragte|kommandeur|befehlshaber|"
    r"general|leiter|direktor|botschafter|bürgermeister|senator|abgeordnete|beamte|offizier|"
    r"analyst|experte|expertin|berater|vorsitzende|premier|admiral|oberst|major|diplomat|"
    r"gouverneur|spokes|president|secretary|chancellor|ambassador|chief|commander|official|"
    r"director|leader|governor|mayor|adviser|advisor|minister|officer)",
    re.IGNORECASE,
)
_TOKEN_RE = re.compile(
    r"\((?:[^()]{1,40})\)"  # parenthetical like (DIA)
    r"|[\"'„“”»«]?[^\W_][\w'’\u0300-\u036f-]*(?:\.[^\W_][\w'’\u0300-\u036f-]*)*[\"'“”»«]?"
)
_ADJ_RE = re.compile(r"[a-zäöüß][\w\u0300-\u036f-]*(?:e|en|er|es|em)$")
_GENITIVE = frozenset({"des", "der", "of"})
_NAME_PREPS = frozenset({"zur", "zum", "für", "of", "for"})


@dataclass(frozen=True)
class Phrase:
    start: int
    end: int
    text: str


def _bare(token: str) -> str:
    return token.strip("\"'„“”»«")


@lru_cache(maxsize=65536)
def is_role_word(word: str) -> bool:
    """Whether a word holds a role word ("Verteidigungsminister"); cached: news repeats its
    words, and the pattern is long."""
    return ROLE_RE.search(word) is not None


def has_role(phrase: str) -> bool:
    """`ROLE_RE.search(phrase)`, a word at a time (no role word holds a space)."""
    return any(is_role_word(w) for w in phrase.split())


@lru_cache(maxsize=65536)
def _is_noun(token: str) -> bool:
    bare = _bare(token)
    return bool(bare) and (bare[0].isupper() or bare[0].isdigit()) and bare.lower() not in ADVERBS


_SPACES = re.compile(r"[ \t\u00a0]*")


def noun_phrase(text: str, pos: int, end: int | None = None, names: bool = True) -> Phrase | None:
    """The noun phrase starting at `pos` (after spaces): article, adjectives, capitalised nouns
    and names, a genitive ("des Pentagon"), a parenthesis ("(DIA)"). None if there is none."""
    limit = len(text) if end is None else end
    tokens: list[re.Match[str]] = []
    i = pos
    while True:
        ws = _SPACES.match(text, i)
        i = ws.end() if ws else i
        if i >= limit:
            break
        m = _TOKEN_RE.match(text, i, limit)
        if not m:
            break
        tokens.append(m)
        i = m.end()
        if len(tokens) > 14:
            break
    kept: list[re.Match[str]] = []
    seen_noun = False
    for idx, t in enumerate(tokens):
        w = t.group()
        low = w.lower()
        nxt = tokens[idx + 1].group() if idx + 1 < len(tokens) else ""
        if w.startswith("("):
            if not seen_noun:
                break
            kept.append(t)
            continue
        if low in ARTICLES:
            if not kept or (seen_noun and low in _GENITIVE and nxt and not nxt.startswith("(")):
                if kept and not (_is_noun(nxt) or _ADJ_RE.match(nxt)):
                    break
                kept.append(t)
                continue
            break
        if _is_noun(w):
            if w[0].isupper() and low in ADVERBS and not kept:
                break
            kept.append(t)
            seen_noun = True
            continue
        if (_ADJ_RE.match(w) and not seen_noun) or (low in ("und", "oder", "and") and kept):
            kept.append(t)
            continue
        if names and seen_noun and low in _NAME_PREPS and _is_noun(nxt):
            kept.append(t)
            continue
        if seen_noun and _ADJ_RE.match(w) and _is_noun(nxt) and kept[-1].group().lower() in (
            "des", "der", "of", "und", "and"
        ):  # fmt: skip
            kept.append(t)
            continue
        break
    while kept and not _is_noun(kept[-1].group()) and not kept[-1].group().startswith("("):
        kept.pop()
    if not kept or not seen_noun:
        return None
    s, e = kept[0].start(), kept[-1].end()
    return Phrase(s, e, text[s:e])


def clean_name(phrase: str) -> str:
    """Drop a leading article and the quotes around a name: 'der "Times"' -> 'Times'."""
    words = phrase.split()
    while words and words[0].lower() in ARTICLES:
        words = words[1:]
    out = " ".join(words)
    return out.strip("\"'„“”»«").replace('"', "").replace("„", "").replace("“", "").strip()


def split_role(phrase: str) -> tuple[str, str | None]:
    """'der südkoreanische Verteidigungsminister Kim Yong-hyun' -> ('Kim Yong-hyun',
    'südkoreanische Verteidigungsminister'); without a role word the phrase is the name."""
    words = clean_name(phrase).split()
    last_role = max((i for i, w in enumerate(words) if is_role_word(w)), default=-1)
    if last_role < 0 or last_role == len(words) - 1:
        return " ".join(words), None
    name = words[last_role + 1 :]
    if not all(w[0].isupper() for w in name) or any(w.lower() in _GENITIVE for w in name):
        return " ".join(words), None
    return " ".join(name), " ".join(words[: last_role + 1])


def is_subject(segment: str) -> bool:
    """Whether a pre-verb segment is a plain noun phrase that can be the subject."""
    seg = segment.strip()
    if not seg:
        return False
    first = seg.split()[0].lower()
    if first in ADVERBS and first not in ARTICLES:
        return False
    np = noun_phrase(seg, 0)
    if np is None or np.end != len(seg):
        return False
    head = _bare(np.text.split()[-1]).lower()
    return head not in TEMPORAL


def english_subject(text: str, start: int, end: int) -> Phrase | None:
    """English subject: the words of a clause before its verb, when few and not an adverbial."""
    lead = re.compile(r"[\s\"'“”«»,]*").match(text, start, end)
    start = lead.end() if lead else start
    seg = text[start:end]
    words = seg.split()
    if not words or len(words) > 8 or words[0].lower() in ADVERBS:
        return None
    if words[0].strip("\"'“”").lower() in PRONOUNS or re.search(r"[\"“”«»]", seg):
        return None
    s = start + (len(seg) - len(seg.lstrip()))
    e = start + len(seg.rstrip(" ,"))
    return Phrase(s, e, text[s:e])


_EN_OBJECT_STOP = wordset(
    "of for from with to by that and outside inside near across around over into onto"
)


def english_object(text: str, start: int, end: int) -> Phrase | None:
    """English object: the words after a verb up to a preposition, verb-like word or comma."""
    m = re.compile(r"\s*((?:[\w'’\u0300-\u036f-]+\s*){1,6})").match(text, start, end)
    if not m:
        return None
    words: list[re.Match[str]] = []
    for w in re.finditer(r"[\w'’\u0300-\u036f-]+", m.group(1)):
        low = w.group().lower()
        if low in ADVERBS or low in _EN_OBJECT_STOP:
            break
        words.append(w)
    while words and (words[0].group()[0].isdigit() or words[0].group().lower() in ARTICLES):
        words.pop(0)
    if not words:
        return None
    s, e = m.start(1) + words[0].start(), m.start(1) + words[-1].end()
    return Phrase(s, e, text[s:e])


_CLAUSE_RIGHT = re.compile(r"[,;:–—)]|[.!?]\s*$")


def clause_bounds(sentence: str, pos: int) -> tuple[int, int]:
    """The clause around `pos` in a sentence: between commas, semicolons, colons or dashes."""
    left = max(sentence.rfind(c, 0, pos) for c in ",;:–—(") + 1  # just past the last one
    right_m = _CLAUSE_RIGHT.search(sentence, pos)
    right = right_m.start() if right_m else len(sentence)
    return left, right


def trim(text: str, limit: int = 400) -> str:
    """Collapse whitespace and cut at a word boundary so the result fits `limit` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"
