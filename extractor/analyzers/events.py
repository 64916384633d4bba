"""Events without a model: trigger words per PLOVER category, in the spirit of the dictionary
coders (TABARI, PETRARCH). Precision over recall: a clause that is negated, hypothetical, a
warning or a question yields no event.

Trigger entries in `event_triggers.json` ({category: {"de": [...], "en": [...]}}) are regular
expressions matched as whole words (German case-sensitively, English not), with two additions:
- "griff ~ an": a separable verb; each part after "~" must follow, in order, in the same clause.
- "geliefert @ Reis|Waffen": fires only when the clause also contains one of the words after "@".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from extractor import numbers
from extractor.analyzers import text as tx
from extractor.errors import ConfigError
from extractor.records import Event, EventType, Grounding, Magnitude

TRIGGERS_PATH = Path(__file__).with_name("event_triggers.json")

_HYPOTHETICAL = {
    "de": re.compile(
        r"\b(nicht|kein|keine|keinen|keiner|nie|niemals|könnte|könnten|würde|würden|möglich\w*|"
        r"bereit|will|wollen|wollte|wollten|plant|planen|plante|planten|drohen|"
        r"warnte\s+vor|warnt\s+vor|befürchte\w*|falls|wenn|ob)\b"
    ),
    "en": re.compile(
        r"\b(not|no|never|n't|could|would|might|may|possible|possibly|plans?|planned|intends?|"
        r"if|whether|warned\s+(?:of|against)|fears?|feared|threat\s+of)\b",
        re.IGNORECASE,
    ),
}
#: categories a negation or condition belongs to ("will not accept", "unless"): the filter
#: for hypothetical clauses does not apply to them
_NEGATIVE = frozenset({EventType.REJECT, EventType.THREATEN})
_AUX = re.compile(
    r"\b(hat|haben|hatte|hatten|ist|sind|war|waren|soll|sollen|sollte|sollten|has|have|had)\b"
)
_PASSIVE = re.compile(r"\b(wurde|wurden|worden|wird|werden|was|were|been|being)\b")
_INTRANSITIVE = re.compile(
    r"kämpf|fought|fight|clash|feuer|fire|demonstr|protest|streik|strike|zog|withdr|retreat",
    re.IGNORECASE,
)
_PREPS = tx.wordset(
    """in im an am auf aus bei mit nach von vom zu zum zur über unter vor hinter neben zwischen
    gegen durch für ohne um seit trotz während wegen inmitten aufgrund of on at to for from with
    by into against during"""
)
_RELATIVE = tx.wordset("der die das dem den dessen deren welche welcher welches wo")
_SUBORD = tx.wordset(
    "dass ob weil obwohl obgleich indem nachdem als wenn da bevor damit sodass während "
    "that whether because although while when if since"
)
_LOCATION_RES = [
    re.compile(
        r"\b(?:Region|Gebiet|Oblast|Provinz|Stadt|Dorf|Ortschaft|Bezirk|region|province|city|"
        r"town|village|district)(?:\s+of)?\s+([A-ZÄÖÜ][\w-]+)"
    ),
    re.compile(r"\b([A-ZÄÖÜ][\w]+)-(?:Region|Gebiet)\b"),
    re.compile(
        r"\b(?:in|im|nahe|bei|near|outside)\s+(?:die\s+|der\s+|the\s+)?"
        r"(Ukraine|Türkei|Schweiz|Slowakei|Krim|Ostukraine|Westukraine|Südukraine|USA|Kreml|"
        r"Kremlin|Gazastreifen|Westjordanland|Gaza Strip|West Bank)\b"
    ),
    re.compile(r"\b(?:in|nahe|bei|nach|near|outside)\s+([A-ZÄÖÜ][\w-]+)(?=\s*[,.;]|\s+[a-zäöüß])"),
]
_NOT_PLACES = tx.wordset(
    """Form Verbund Zukunft Folge Kraft Gefahr Betrieb Richtung Höhe Anbetracht Absprache
    Zusammenarbeit Reaktion Abstimmung Summe Teilen Kürze Frage Wirklichkeit Zeiten Zeit
    Erwartung Sorge Anwesenheit Form Kampfhandlungen Bezug Angriff Gegenzug Sommer Herbst Winter
    Frühjahr Frühling Januar Februar März April Mai Juni Juli August September Oktober November
    Dezember Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March
    April May June July August September October November December Response Addition Order
    Total Fact Particular General Turn Angaben Ansicht Meinung Auffassung Einschätzung
    Berichten Informationen"""
)
_MONTH_NUM = {
    m: i + 1
    for names in (
        "januar februar märz april mai juni juli august september oktober november dezember",
        "january february march april may june july august september october november december",
    )
    for i, m in enumerate(names.split())
}
_MONTH_NUM["jänner"] = 1
_TIME_RE = re.compile(
    r"\b(?:(?:im|Im|Anfang|Ende|Mitte|in|In|early|late|mid|Early|Late)\s+(?:Jahr\s+)?"
    r"(?:Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|"
    r"Dezember|January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Sommer|Herbst|Winter|Frühjahr|Frühling|summer|autumn|winter|spring)"
    r"(?:\s+\d{4})?|(?:im\s+Jahr\s+|in\s+)\d{4}"
    r"|(?:am\s+)?\d{1,2}\.\s*(?:Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|"
    r"September|Oktober|November|Dezember)(?:\s+\d{4})?"
    r"|(?:[Ll]etzte|[Vv]ergangene|[Dd]iese)n?\s+Woche|(?:[Ll]ast|[Tt]his)\s+week"
    r"|(?:am\s+|on\s+)?(?:Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag|Monday|"
    r"Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
    r"|[Gg]estern|[Vv]orgestern|[Yy]esterday)\b"
)
_DEAD = re.compile(r"\b(tot|Tote|Toten|getötet\w*|ums Leben|killed|dead|deaths?)\b")
_HURT = re.compile(r"\b(verletzt\w*|Verletzte\w*|verwundet\w*|Verwundete\w*|injured|wounded)\b")
_FORCE = re.compile(
    r"^(Soldaten|Truppen|Kämpfer|Demonstranten|Menschen|Teilnehmer|Einsatzkräfte|Helfer|"
    r"Polizisten|soldiers|troops|fighters|protesters|demonstrators|people|rescuers)$"
)


@dataclass(frozen=True)
class _Trigger:
    category: EventType
    parts: tuple[re.Pattern[str], ...]
    context: re.Pattern[str] | None
    noun: bool


@dataclass(frozen=True)
class _Lexicon:
    """One language's triggers, with one regular expression for where any of them may start
    (a sentence is scanned once, not once per trigger) and the triggers by first letter."""

    triggers: list[_Trigger]
    any_start: re.Pattern[str]
    by_letter: dict[str, list[_Trigger]]
    anywhere: list[_Trigger]  # triggers whose first letter the pattern does not tell
    folded: bool  # English: case-insensitive, letters keyed in lower case

    def at(self, s: str, pos: int) -> list[_Trigger]:
        letter = s[pos].lower() if self.folded else s[pos]
        return self.by_letter.get(letter, []) + self.anywhere


_LEADING = re.compile(r"(?:\(\?<[!=](?:[^()\\]|\\.)*\)|\(\?:|\()*")


def _lexicon(triggers: list[_Trigger], patterns: list[str], folded: bool) -> _Lexicon:
    by_letter: dict[str, list[_Trigger]] = {}
    anywhere: list[_Trigger] = []
    for trig, pattern in zip(triggers, patterns, strict=True):
        rest = pattern[_LEADING.match(pattern).end() :]  # type: ignore[union-attr]
        first = rest[:1]
        if first.isalpha():
            by_letter.setdefault(first.lower() if folded else first, []).append(trig)
        else:
            anywhere.append(trig)
    joined = "|".join(f"(?:{p})" for p in patterns) or "(?!)"
    any_start = re.compile(rf"(?<![\w-])(?:{joined})(?![\w-])", re.IGNORECASE if folded else 0)
    return _Lexicon(triggers, any_start, by_letter, anywhere, folded)


@lru_cache(maxsize=1)
def _load_triggers() -> dict[str, _Lexicon]:
    try:
        data = json.loads(TRIGGERS_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read the event trigger dictionary {TRIGGERS_PATH}: {exc}; "
            "reinstall the package or restore the file"
        ) from exc
    out: dict[str, list[_Trigger]] = {"de": [], "en": []}
    firsts: dict[str, list[str]] = {"de": [], "en": []}
    for category, by_lang in data.items():
        for lang, entries in by_lang.items():
            flags = re.IGNORECASE if lang == "en" else 0
            for entry in entries:
                pattern, _, ctx = (p.strip() for p in entry.partition("@"))
                parts = tuple(
                    re.compile(rf"(?<![\w-])(?:{p.strip()})(?![\w-])", flags)
                    for p in pattern.split("~")
                )
                context = re.compile(rf"(?:{ctx})", re.IGNORECASE) if ctx else None
                noun = lang == "de" and pattern[:1].isupper()
                out.setdefault(lang, []).append(_Trigger(EventType(category), parts, context, noun))
                firsts.setdefault(lang, []).append(pattern.split("~")[0].strip())
    return {lang: _lexicon(out[lang], firsts[lang], lang == "en") for lang in out}


@dataclass(frozen=True)
class _Hit:
    trigger: _Trigger
    start: int  # in sentence
    end: int
    clause: tuple[int, int]


def find_events(
    text: str, language: str | None = None, doc: tx.Document | None = None
) -> list[Event]:
    """Events from trigger words, one per category and clause; every record grounded."""
    doc = doc or tx.document(text, language)
    lang = doc.lang
    triggers = _load_triggers()["en" if lang == "en" else "de"]
    events: list[Event] = []
    seen: set[tuple[str, str]] = set()
    for sent in doc.sentences:
        s = sent.text
        if s.rstrip("\"'“”»« ").endswith("?"):
            continue
        bare = None  # the sentence without markup and non-word characters, when needed
        for hit in _hits(s, triggers, lang):
            bare = _MARKUP_OR_NONWORD.sub("", s) if bare is None else bare
            key = (hit.trigger.category.value, bare)
            if key in seen:
                continue
            seen.add(key)
            events.append(_event(doc, sent, hit))
    return events


_MARKUP_OR_NONWORD = re.compile(r"<[^>]+>|\W+")


def _starts(s: str, lexicon: _Lexicon) -> list[tuple[_Trigger, re.Match[str]]]:
    """Every (trigger, match of its first part) in a sentence, in one scan of it."""
    out: list[tuple[_Trigger, re.Match[str]]] = []
    pos = 0
    while (m := lexicon.any_start.search(s, pos)) is not None:
        for trig in lexicon.at(s, m.start()):
            fm = trig.parts[0].match(s, m.start())
            if fm is not None:
                out.append((trig, fm))
        pos = m.start() + 1
    return out


def _hits(s: str, lexicon: _Lexicon, lang: str) -> list[_Hit]:
    hits: list[_Hit] = []
    for trig, m in _starts(s, lexicon):
        clause = tx.clause_bounds(s, m.start())
        c0, c1 = clause
        end = m.end()
        ok = True
        for part in trig.parts[1:]:
            pm = part.search(s, end, c1)
            if not pm:
                ok = False
                break
            end = pm.end()
        if not ok:
            continue
        if trig.context and not trig.context.search(s[c0:c1]):
            continue
        if trig.category not in _NEGATIVE and _HYPOTHETICAL["en" if lang == "en" else "de"].search(
            s[c0:c1]
        ):
            continue
        hits.append(_Hit(trig, m.start(), end, clause))
    # a noun after another category's verb in the same clause is its object ("forderte
    # Sanktionen"), not an event of its own
    kept: list[_Hit] = []
    for h in hits:
        governed = any(
            h.trigger.noun
            and not o.trigger.noun
            and o.trigger.category != h.trigger.category
            and o.clause == h.clause
            and o.start < h.start
            for o in hits
        )
        if not governed:
            kept.append(h)
    kept.sort(key=lambda h: h.start)
    if lang == "en" and kept:
        # English triggers are not marked as nouns or verbs: the first event word of a sentence
        # governs the rest ("rejected an offer for talks", "threatened to launch an
        # offensive"), as the German noun rule does above
        kept = [h for h in kept if h.trigger.category == kept[0].trigger.category]
    out: list[_Hit] = []
    done: set[tuple[EventType, tuple[int, int]]] = set()
    for h in kept:
        if (h.trigger.category, h.clause) not in done:
            done.add((h.trigger.category, h.clause))
            out.append(h)
    return out


def _name(phrase: str) -> str:
    name, _role = tx.split_role(phrase)
    return tx.trim(name, 120)


def _event(doc: tx.Document, sent: tx.Sentence, hit: _Hit) -> Event:
    text, lang = doc.text, doc.lang
    c0, c1 = sent.start + hit.clause[0], sent.start + hit.clause[1]
    in_clause = [n for n in doc.numbers_in(c0, c1) if n.end <= c1]
    s = sent.text
    actors, recipients = _participants(s, hit, lang)
    location = _location(s[hit.clause[0] : hit.clause[1]]) or _location(s)
    time_text, date = _time(s, hit.start, in_clause)
    evidence_end = sent.start + min(len(s), 600)
    return Event(
        event_type=hit.trigger.category,
        summary=tx.trim(re.sub(r"<[^>]+>", " ", s), 400),
        actors=actors[:6],
        recipients=recipients[:6],
        location=location,
        time_text=time_text,
        date=date,
        magnitude=_magnitude(text, in_clause, c1, hit),
        evidence=text[sent.start : evidence_end],
        span=(sent.start, evidence_end),
        grounding=Grounding.EXACT,
    )


def _participants(s: str, hit: _Hit, lang: str) -> tuple[list[str], list[str]]:
    c0, c1 = hit.clause
    actors: list[str] = []
    recipients: list[str] = []
    between = re.compile(r"\s*(?:zwischen|between)\s+").match(s, hit.end)
    if between:
        a = tx.noun_phrase(s, between.end(), c1)
        if a:
            conj = re.compile(r"\s+(?:und|and)\s+").match(s, a.end)
            b = tx.noun_phrase(s, conj.end(), c1) if conj else None
            names = [a.text] + ([b.text] if b else [])
            parts = [p for n in names for p in re.split(r"\s+(?:und|and)\s+", n)]
            if not all(re.search(r"(?<!\w)[A-ZÄÖÜ]", p) for p in parts):
                parts = names
            actors = [_name(p) for p in parts]
    elif hit.trigger.noun:
        pass
    else:
        subject, obj_from = _subject(s, hit, lang)
        if subject:
            actors = [_name(subject.text)]
        if (
            obj_from is not None
            and hit.trigger.category not in (EventType.MOBILIZE, EventType.AID)
            and not _INTRANSITIVE.search(s[hit.start : hit.end])
        ):
            if lang == "en":
                obj = tx.english_object(s, hit.end, c1)
            else:
                obj = _object(s, obj_from, c1 if hit.end < c1 else hit.start)
            if (obj is not None and obj.start < hit.start) or (obj and obj.start >= hit.end):
                recipients = [_name(obj.text)]
    prep = {
        EventType.ASSAULT: r"gegen|auf|against|on",
        EventType.SANCTION: r"gegen|against|on",
        EventType.PROTEST: r"gegen|against",
        EventType.CONSULT: r"mit|with",
        EventType.AID: r"an|to",
        EventType.REQUEST: r"an|from",
    }.get(hit.trigger.category)
    if prep and not recipients:
        for m in re.finditer(rf"(?<![\w-])(?:{prep})\s+", s[c0:c1]):
            np = tx.noun_phrase(s, c0 + m.end(), c1)
            if np and np.text.split()[0].lower() not in tx.PRONOUNS:
                recipients = [_name(np.text)]
                break
    recipients = [r for r in recipients if r and r not in actors]
    actors = [a for a in actors if a and a.lower() not in tx.PRONOUNS]
    return actors, recipients


def _subject(s: str, hit: _Hit, lang: str) -> tuple[tx.Phrase | None, int | None]:
    """The acting noun phrase of a verb trigger and where its object may start."""
    c0, c1 = hit.clause
    seg_text = s[c0 : hit.start]
    words = seg_text.split()
    if lang == "en":
        if _PASSIVE.search(seg_text):
            by = re.compile(r"\s+by\s+").match(s, hit.end)
            np = tx.noun_phrase(s, by.end(), c1) if by else None
            return np, None
        return tx.english_subject(s, c0, hit.start), hit.end
    aux = None
    for m in _AUX.finditer(s, c0, hit.start):
        aux = m
        break
    passive = _PASSIVE.search(s[c0:c1])
    if (passive and aux is None) or re.search(r"\bworden\b", s[c0:c1]):
        return None, None
    pivot_start, pivot_end = (aux.start(), aux.end()) if aux else (hit.start, hit.end)
    seg = s[c0:pivot_start].strip()
    conj = re.match(r"(und|doch|aber|sondern)\s+", seg)
    if conj:
        seg = seg[conj.end() :]
    if seg and tx.is_subject(seg):
        np = tx.noun_phrase(s, s.index(seg, c0))
        return np, pivot_end
    first = words[0].lower() if words else ""
    relative = c0 > 0 and first in _PREPS and len(words) > 1 and words[1] in _RELATIVE
    if first in _SUBORD or relative:
        skip = 2 if first in _PREPS else 1
        pos = c0
        for _ in range(skip):
            pos = re.compile(r"\s*\S+").match(s, pos).end()
        np = tx.noun_phrase(s, pos, hit.start)
        return np, (np.end if np else None)
    if first in _RELATIVE or first in tx.PRONOUNS:
        return None, None
    np = tx.noun_phrase(s, pivot_end, c1, names=False)
    if np is None or np.start - pivot_end > 2 or np.text.split()[0].lower() in tx.PRONOUNS:
        return None, None
    return np, np.end


def _object(s: str, start: int, end: int) -> tx.Phrase | None:
    """First noun phrase between start and end that is not inside a prepositional phrase."""
    pos = start
    while pos < end:
        wm = re.compile(r"\s*(\S+)").match(s, pos)
        if not wm or wm.start(1) >= end:
            return None
        word = wm.group(1).strip(",.;:").lower()
        if word in _PREPS:
            np = tx.noun_phrase(s, wm.end(), end, names=False)
            pos = np.end if np else wm.end()
            continue
        np = tx.noun_phrase(s, wm.start(1), end, names=False)
        if np and any(w.lower() in tx.TEMPORAL or w[0].isdigit() for w in np.text.split()):
            pos = np.end
            continue
        if np:
            return np if np.text.split()[0].lower() not in tx.PRONOUNS else None
        pos = wm.end()
    return None


def _location(s: str) -> str | None:
    for rx in _LOCATION_RES:
        for m in rx.finditer(s):
            place = m.group(1)
            if place not in _NOT_PLACES and not re.search(
                r"(ung|heit|keit|schaft|tion|ion|tät|nis|ismus|ment)$", place
            ):
                return place
    return None


def _time(
    s: str, pos: int, in_clause: list[numbers.NumberMention]
) -> tuple[str | None, str | None]:
    """The time expression nearest before the trigger (else the first after it)."""
    found = list(_TIME_RE.finditer(s))
    before = [m for m in found if m.start() < pos]
    m = before[-1] if before else (found[0] if found else None)
    time_text = m.group() if m else None
    date = None
    for mention in in_clause:
        if mention.kind == "date":
            date = _iso(mention.text)
            time_text = time_text or mention.text
            if date:
                break
        if mention.kind == "year" and date is None:
            date = mention.text if re.fullmatch(r"\d{4}", mention.text) else None
            time_text = time_text or mention.text
    return (tx.trim(time_text, 120) if time_text else None), date


def _iso(written: str) -> str | None:
    """ISO (partial) date from a written date, when the year is given."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", written)
    if m:
        return written
    m = re.fullmatch(r"(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})", written)
    if m:
        return f"{m.group(3)}-{int(m.group(2)):02d}-{int(m.group(1)):02d}"
    year = re.search(r"\b(\d{4})\b", written)
    day = re.match(r"\d{1,2}", written) or re.search(r"\b(\d{1,2})(?:st|nd|rd|th)?\b", written)
    month = next((n for name, n in _MONTH_NUM.items() if name in written.lower()), None)
    if year and month and day:
        d = int(re.sub(r"\D", "", day.group()))
        return f"{year.group(1)}-{month:02d}-{d:02d}"
    if year and month:
        return f"{year.group(1)}-{month:02d}"
    return None


def _magnitude(
    s: str, in_clause: list[numbers.NumberMention], clause_end: int, hit: _Hit
) -> Magnitude:
    """Dead, injured and force size from the numbers of the trigger's clause (`s` is the
    text they index)."""
    dead = injured = size = None
    for m in in_clause:
        if m.kind != "quantity" or m.value != int(m.value) or m.value < 0:
            continue
        tail = s[m.end : min(m.end + 60, clause_end)]
        noun = m.noun
        phrase = s[noun[0] : noun[1]] if noun and noun[1] <= clause_end else ""
        near = phrase + " " + " ".join(tail.split()[:4])
        is_dead, is_hurt = bool(_DEAD.search(near)), bool(_HURT.search(near))
        if is_dead and not is_hurt and dead is None:
            dead = int(m.value)
        elif is_hurt and not is_dead and injured is None:
            injured = int(m.value)
        elif (
            not is_dead
            and not is_hurt
            and size is None
            and m.unit
            and _FORCE.match(m.unit)
            and hit.trigger.category in (EventType.MOBILIZE, EventType.ASSAULT, EventType.PROTEST)
        ):
            size = int(m.value)
    return Magnitude(dead=dead, injured=injured, size=size)
