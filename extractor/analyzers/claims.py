"""Claims from reporting cues, without a model: who says what, in German and English.

Cues follow speaker-attribution work (GePaDe-SpkAtt, GermEval 2023 SpkAtt): reporting verbs
in any tense ("erklärte", "hat angekündigt", "wie X mitteilte"), separable ones ("teilte ...
mit", "geht davon aus", "hat bekannt gegeben"), verbs of thought and decision with a reported
clause ("glaubt, dass", "beschloss, ... zu"), prepositional cues ("laut X", "gemäß X", "nach
Angaben von X", "nach Polizeiangaben", "X zufolge", "seiner Ansicht nach", "according to X"),
"heißt es in X", "X wird zitiert" and "so X" after the message. A German verb with a plain
object ("bedauerte den Vorfall") is no claim unless it confirms, denies, criticises or warns:
German marks reported speech with a comma, colon, quotation, dass-clause or subjunctive.
German verbs are recognised by their lemma (simplemma's bundled dictionary), so every tense and
person of a lexicon verb counts. The evidence is the whole sentence (with the one before for
"Dies teilte X mit."), so it always contains cue, claimant and message verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from extractor.analyzers import text as tx
from extractor.records import Claim, Grounding, Hedging, Speech

# --- the German cue lexicon (lemmas) ------------------------------------------------------

#: reporting verbs, as simplemma lemmatises them (separable ones with their particle)
_SAY_DE = tx.wordset(
    """sagen erklären betonen warnen melden berichten bestätigen kritisieren verkünden
    behaupten enthüllen versichern unterstreichen erläutern schreiben dementieren bestreiten
    mitteilen ankündigen bekanntgeben angeben einräumen zurückweisen andeuten feststellen
    klarstellen hinweisen hinzufügen ergänzen äußern meinen vermuten befürchten
    auffordern verlangen bezeichnen nennen kommentieren begründen vorwerfen beschuldigen
    beklagen bemängeln bekräftigen beteuern antworten entgegnen erwidern widersprechen
    mahnen appellieren vorschlagen ausführen hervorheben prognostizieren argumentieren
    resümieren bilanzieren versprechen zusagen zusichern aufrufen verweisen informieren
    darlegen schildern erzählen verraten zugeben gestehen eingestehen bedauern anprangern
    beanstanden spekulieren bezweifeln empfehlen raten zitieren beschreiben ankündigen
    voraussagen vorhersagen kundtun bekunden monieren rügen loben ausgehen unterstellen
    festhalten einwenden anmerken zurückweisen
    fragen rufen skandieren aussagen verlautbaren präzisieren vermelden glauben
    hoffen fürchten erwarten zweifeln mutmaßen schätzen beschließen entscheiden
    vereinbaren würdigen lauten erwägen beabsichtigen"""
)
#: base lemma -> particles that make it a reporting verb when split off ("teilte ... mit")
_PARTICLES_DE: dict[str, tuple[str, ...]] = {
    "teilen": ("mit",), "kündigen": ("an",), "geben": ("bekannt", "an", "zu"),
    "räumen": ("ein",), "weisen": ("zurück", "hin"), "deuten": ("an",),
    "stellen": ("fest", "klar"), "fügen": ("hinzu",), "rufen": ("auf", "aus"), "fordern": ("auf",),
    "heben": ("hervor",), "führen": ("aus",), "schlagen": ("vor",), "werfen": ("vor",),
    "sagen": ("zu", "voraus", "vorher"), "legen": ("dar",), "gehen": ("aus",),
    "prangern": ("an",), "merken": ("an",), "halten": ("fest",), "sichern": ("zu",),
    "gestehen": ("ein",), "wenden": ("ein",), "tun": ("kund",), "nehmen": ("an",),
    "schließen": ("aus",), "bieten": ("an",),
}  # fmt: skip
#: lemmas that are reporting verbs only when split from their particle
_NEEDS_PARTICLE = frozenset(_PARTICLES_DE) - _SAY_DE | {"gehen"}
#: verbs whose object alone is the statement: "kritisierte den Plan", "warnte vor X",
#: "berichtete von neuen Verhandlungen"
_STANCE_DE = tx.wordset(
    "kritisieren bemängeln beanstanden anprangern monieren rügen zugeben warnen berichten"
)
_HABEN = tx.wordset("hat hatte hatten haben habe hätte hätten hast hattest")
_MODALS = tx.wordset(
    "will wollte wollten wollen kann konnte konnten können könnte könnten soll sollte sollten "
    "sollen muss musste mussten müssen möchte möchten wird werden würde würden darf durfte"
)
_PASSIVE = tx.wordset("wurde wurden worden wird werden")

_VERBS_EN = re.compile(
    r"said|says|warned|warns|stated|states|claimed|claims|told|tells|announced|reported|"
    r"confirmed|confirms|denied|denies|insisted|added|noted|wrote|argued|alleged|"
    r"criticised|criticized|stressed|revealed",
    re.IGNORECASE,
)
_VERB_EN_RE = re.compile(rf"(?<![\w-])({_VERBS_EN.pattern})(?![\w-])", re.IGNORECASE)
_CONFIRMED = re.compile(r"^(bestätig|bekräftig|räumte|räumt|eingeräumt|enthüll|confirm)", re.I)
_DENIED = re.compile(
    r"^(dementier|bestritt|bestreit|wies\b.*zurück|weist\b.*zurück|wiesen\b.*zurück|"
    r"zurückgewiesen|widersprach|denied|denies)",
    re.IGNORECASE,
)
_SUBORDINATORS = tx.wordset(
    "dass ob weil obwohl obgleich indem nachdem als wenn da bevor damit sodass während zumal "
    "that whether because although while when if since"
)
_NEGATION = re.compile(r"\b(nicht|kein|keine|keinen|not|never|n't)\b", re.IGNORECASE)
_OPEN_CLOSE = {"„": "“", "“": "”", '"': '"', "»": "«", "«": "»", "‚": "‘"}
_QUOTE_RE = re.compile(r"„[^„“”\"]+[“”\"]|“[^“”]+”|\"[^\"]+[\"“]|»[^»«]+«|«[^«»]+»")
_WORD_RE = re.compile(rf"(?:{tx.LETTER_RUN})+(?:-(?:{tx.LETTER_RUN})+)*")
#: nouns whose "nach ..." names a source: "nach Angaben", "nach Polizeiangaben", "nach
#: Meinung von X", "nach Berichten der X"
_COMPOUND_REPORT = (
    "[Aa]ngaben|[Ii]nformationen|[Bb]erichten|[Aa]ussagen|[Ss]chätzungen|[Ee]rkenntnissen|"
    "[Mm]eldungen|[Mm]einung"
)
_REPORT_NOUN = re.compile(
    rf"(?:[A-ZÄÖÜ][\w-]*?(?:{_COMPOUND_REPORT})|Angaben|Informationen|Berichten|Aussagen|"
    r"Worten|Ansicht|Auffassung|Meinung|Einschätzung|Einschätzungen|Darstellung|Schätzungen|"
    r"Erkenntnissen|Ermittlungen|Recherchen|Mitteilung|Aussage|Überzeugung|Sicht|Ankündigung|"
    r"Meldungen|Hochrechnung|Stellungnahme|Bericht|Berichte|Studie|Umfrage|Einschätzung|Angabe)"
)
_VAGUE_SOURCE = re.compile(
    r"(?:[A-ZÄÖÜ][\w-]*)?(?:[Bb]erichten|[Aa]ngaben|[Ii]nformationen|[Ss]chätzungen)"
)
_LEADS = tx.ADVERBS | tx.wordset(
    "aufgrund angesichts gegenüber dies das dazu darüber dabei hierzu hierbei zuvor daraufhin "
    "sich damals dahingehend ähnlich gleichzeitig erneut "
    "über unter nach zu vor neben auf aus an"
)
_PERSONAL = tx.wordset("er sie")
#: a cheap test before the prepositional cues are read in full ("so" as a word; every branch
#: starts with a letter, so the search skips to the letters that can start one)
_PREPOSITIONAL_HINT = re.compile(r"[Ll]aut|[Nn]ach|zufolge|so\b(?<!\wso)|[Aa]ccording|[Gg]emäß")
_SUBJECT_PRONOUNS = tx.wordset("ich wir er sie es man du ihr i we he she they it you")
#: a bare name, with the lower-case particles names carry ("Heike van Laak")
_NAME_ONLY = re.compile(
    r"[A-ZÄÖÜ][\w.'’-]*(?:\s+(?:(?:van|von|de|der|den|da|di|al|el|bin|ibn|le|la|du|dos|del|ter|"
    r"zu)\s+)?[A-ZÄÖÜ][\w.'’-]*)+"
)


@dataclass(frozen=True)
class FoundClaim:
    """A claim plus where its message lies in the text (for attributing figures)."""

    claim: Claim
    message_span: tuple[int, int]


@dataclass(frozen=True)
class Cue:
    """A reporting verb in a sentence; offsets are within the sentence."""

    start: int
    end: int  # end of the last cue word (particle, participle)
    text: str  # as written; discontinuous parts joined by one space
    verb_end: int  # end of the finite verb: the inverted subject follows it


@dataclass(frozen=True)
class Source:
    claimant: str
    role: str | None
    start: int  # where the subject starts (a trailing cue's message ends before it)
    end: int  # where the message may start
    around: bool = False  # "wie X mitteilte": the message is the rest of the sentence


@dataclass(frozen=True)
class Message:
    text: str
    span: tuple[int, int]  # in the sentence
    direct: bool


def find_claims(text: str, language: str | None = None) -> list[Claim]:
    """Attributed statements from reporting cues; every record is grounded (EXACT)."""
    return [f.claim for f in find_claims_with_spans(text, language)]


def find_claims_with_spans(
    text: str, language: str | None = None, doc: tx.Document | None = None
) -> list[FoundClaim]:
    doc = doc or tx.document(text, language)
    out: list[FoundClaim] = []
    seen: set[tuple[str, str, str]] = set()
    vocabulary = _Vocabulary()
    before: tx.Sentence | None = None
    for sent in doc.sentences:
        for found in _sentence_claims(text, sent, doc, out, vocabulary, before):
            c = found.claim
            key = (c.claimant, c.cue.lower(), c.message)
            if key not in seen:
                seen.add(key)
                out.append(found)
        before = sent
    return out


def attribution(sentence: str, lang: str) -> str | None:
    """The source a prepositional cue names in a sentence ('laut der GUR' -> 'GUR')."""
    return _first_source(_prepositional(sentence, lang))


def attribution_in(doc: tx.Document, sent: tx.Sentence) -> str | None:
    """`attribution` of a sentence of `doc`, reading the cues the claims found there."""
    return _first_source(prepositional_cues(doc, sent))


def _first_source(found: list[tuple[int, str, tx.Phrase]]) -> str | None:
    for _cue_start, _cue, phrase in found:
        return tx.clean_name(phrase.text)
    return None


def prepositional_cues(doc: tx.Document, sent: tx.Sentence) -> list[tuple[int, str, tx.Phrase]]:
    """`_prepositional` of a sentence of `doc`, found once per document and sentence."""
    found = doc.cues.get(sent.start)
    if found is None:
        found = doc.cues[sent.start] = _prepositional(sent.text, doc.lang)
    return found


@lru_cache(maxsize=65536)
def _lemma(word: str) -> str:
    from simplemma import lemmatize

    return str(lemmatize(word, lang="de"))


# --- prepositional cues -------------------------------------------------------------------


def _prepositional(s: str, lang: str) -> list[tuple[int, str, tx.Phrase]]:
    """(cue start, cue as written, source phrase) for laut / nach Angaben / zufolge /
    according to / 'so X' in one sentence."""
    found: list[tuple[int, str, tx.Phrase]] = []
    if not _PREPOSITIONAL_HINT.search(s):
        return found
    for m in _LAUT_RE.finditer(s):
        phrase = tx.noun_phrase(s, m.end())
        if phrase is None:
            site = re.compile(
                r"[„“\"»«]?\s*([\w-]+(?:\.[\w-]+)*\.(?:de|com|net|org|at|ch))\b\s*[“”\"«»]?"
            ).match(s, m.end())
            phrase = tx.Phrase(site.start(), site.end(), site.group()) if site else None
        if phrase is None and m.group(1).lower().startswith("according"):
            em = re.compile(r"(?:the\s+)?[\w'’ -]{2,60}?(?=[,.;]|$)").match(s, m.end())
            phrase = tx.Phrase(em.start(), em.end(), em.group()) if em else None
        words = phrase.text.split() if phrase is not None else []
        if phrase is not None and m.group(1).lower() == "gemäß" and not _personal_source(phrase):
            continue  # "gemäß der Regelung": according to a rule, not a source
        if phrase is not None and (len(words) > 1 or words[0].lower() not in tx.PRONOUNS):
            cue = re.sub(r"\s+(?:von|aus)$", "", m.group(1))
            found.append((m.start(), cue, phrase))
    if lang != "en":
        found.extend(_nach_report_noun(s))
    for m in _ZUFOLGE_RE.finditer(s):
        words = list(re.finditer(r"\S+", s[: m.start()]))
        for w in words[-8:]:
            phrase = tx.noun_phrase(s, w.start())
            if phrase and phrase.end == m.start():
                source = _named_source(phrase)
                if source is not None:
                    found.append((phrase.start, "zufolge", source))
                break
    for so in _SO_RE.finditer(s):
        phrase = tx.noun_phrase(s, so.end())
        rest = s[phrase.end :] if phrase else ""
        if phrase and _SO_END.match(rest) and phrase.text.split()[0].lower() not in tx.PRONOUNS:
            found.append((so.start(1), "so", phrase))
    return found


_LAUT_RE = re.compile(
    r"(?<![\w-])((?:[Ll]aut)|(?:[Gg]emäß)|(?:[Nn]ach Angaben)(?:\s+(?:von|aus))?|"
    r"(?:[Aa]ccording to))\s+"
)
_ZUFOLGE_RE = re.compile(r"\s+zufolge\b")
_SO_RE = re.compile(r"(?:,|[“”\"«»])\s*(so)\s+")
#: what may follow the source of "so X": punctuation, the sentence end, or "weiter"
_SO_END = re.compile(r"(\s+(weiter|zudem|außerdem|wörtlich))?\s*[,.!?;:\"“”»«]|\s*$")


def _personal_source(phrase: tx.Phrase) -> bool:
    """A source that speaks: a role ("einem Sprecher") or a name ("Anna Becker")."""
    return tx.has_role(phrase.text) or _NAME_ONLY.fullmatch(tx.clean_name(phrase.text)) is not None


def _named_source(phrase: tx.Phrase) -> tx.Phrase | None:
    """The source a "zufolge" phrase names: the phrase, or the first part of a compound
    ("Medienberichten" -> "Medien", as "nach Polizeiangaben" -> "Polizei"); None for just
    "Berichten" or "ersten Schätzungen"."""
    words = tx.clean_name(phrase.text).split()
    if len(words) > 1 or not _VAGUE_SOURCE.fullmatch(words[0] if words else ""):
        return phrase
    prefix = _report_prefix(phrase.text)
    if prefix is None or len(prefix) < 3:
        return None
    return tx.Phrase(phrase.start, phrase.start + len(prefix), prefix)


def _report_prefix(noun: str) -> str | None:
    """Who a compound report noun names: 'Polizeiangaben' -> 'Polizei', 'Zeitungsberichten'
    -> 'Zeitung' (without the linking s)."""
    m = re.match(rf"([A-ZÄÖÜ][\w-]*?)-?(?:{_COMPOUND_REPORT})$", noun)
    if m is None:
        return None
    return re.sub(r"(ung|heit|keit|schaft|tion|tät|tum)s$", r"\1", m[1])


_NACH_RE = re.compile(r"(?<![\w-])([Nn]ach)\s+")
#: the report noun after "nach", past up to two articles or adjectives
_REPORT_HEAD = re.compile(
    rf"(?:(?:den|der|dem|des|einer|einem|eines|seinen|ihren|eigenen|eigener|offiziellen|"
    rf"[A-ZÄÖÜ][\w-]*[^s\W]s(?=\s+(?:Meinung|Ansicht|Auffassung|Angaben|Worten))|"
    rf"amtlichen|behördlichen|ersten|jüngsten|neuesten|übereinstimmenden|"
    rf"[a-zäöüß]+(?:ischen|schen))\s+){{0,2}}({_REPORT_NOUN.pattern})"
    r"(?![\w-])"
)


def _nach_report_noun(s: str) -> list[tuple[int, str, tx.Phrase]]:
    """'nach Polizeiangaben', 'Nach Auffassung des X', 'nach israelischen Armeeangaben' (the
    bare 'Nach Angaben (von)' is read by `_prepositional`)."""
    found: list[tuple[int, str, tx.Phrase]] = []
    for m in _NACH_RE.finditer(s):
        head = _REPORT_HEAD.match(s, m.end())
        if not head or s[m.end() :].startswith("Angaben"):
            continue
        noun = head.group(1)
        source = _genitive_after(s, head.end())
        if source is None and noun[0].isupper() and noun not in ("Angaben", "Informationen"):
            prefix = _report_prefix(noun)
            if prefix:
                source = tx.Phrase(head.start(1), head.start(1) + len(prefix), prefix)
        if source is None and re.search(r"\beigene[nr]?\s", s[m.end() : head.start(1)]):
            source = _sentence_subject(s) if m.start() > 0 else _subject_after_verb(s, head.end())
        genitive = re.match(r"([A-ZÄÖÜ][\w-]*)s\s", s[m.end() : head.start(1)])
        if source is None and genitive:
            source = tx.Phrase(m.end(), m.end() + len(genitive.group(1)), genitive.group(1))
        if source is None:
            adj = re.match(
                r"((?:[a-zäöüß]+(?:ischen|schen)|offiziellen|amtlichen|behördlichen)\s+)+",
                s[m.end() : head.start(1)],
            )
            if adj:
                a0 = m.end()
                source = tx.Phrase(a0, head.end(), s[a0 : head.end()])
        if source is not None:
            found.append((m.start(), f"{m.group(1)} {noun}", source))
    return found


def _sentence_subject(s: str) -> tx.Phrase | None:
    """'Die Feuerwehr hat nach eigenen Angaben ...': the noun phrase opening the sentence."""
    np = tx.noun_phrase(s, 0)
    if np is None or np.start > 2 or np.text.split()[0].lower() in _LEADS - tx.ARTICLES:
        return None
    return np if re.compile(r"\s+[a-zäöüß]").match(s, np.end) else None


def _subject_after_verb(s: str, pos: int) -> tx.Phrase | None:
    """'Nach eigenen Angaben hat das Unternehmen ...': the subject after the finite verb."""
    verb = re.compile(r"\s+[a-zäöüß]+(?=\s)").match(s, pos)
    np = tx.noun_phrase(s, verb.end()) if verb else None
    if np is None or np.text.split()[0].lower() in _SUBJECT_PRONOUNS or np.start - verb.end() > 2:
        return None
    return np


_NAME_GENITIVE = re.compile(r"\s+([A-ZÄÖÜ][\w-]*?[^\Ws])s(?![\w-])")


def _genitive_after(s: str, pos: int) -> tx.Phrase | None:
    """'des Innenministeriums' / 'von Radio Bremen' / 'aus Khartum' / a name in the genitive
    ('Moskaus') right after `pos`."""
    g = re.compile(r"\s+(?:(?:des|der|eines|einer)\s+|von\s+|vom\s+|aus\s+)").match(s, pos)
    if not g:
        name = _NAME_GENITIVE.match(s, pos)  # "nach Meinung Russlands" -> "Russland"
        return tx.Phrase(name.start(1), name.end(1), name[1]) if name else None
    start = g.start() + len(g.group()) - len(g.group().lstrip())
    start = start if g.group().strip() in ("des", "der", "eines", "einer") else g.end()
    np = tx.noun_phrase(s, start)
    return np if np and np.start - pos < 8 else None


# --- one sentence -------------------------------------------------------------------------


def _sentence_claims(
    text: str,
    sent: tx.Sentence,
    doc: tx.Document,
    earlier: list[FoundClaim],
    vocabulary: _Vocabulary,
    before: tx.Sentence | None = None,
) -> list[FoundClaim]:
    s = sent.text
    if s.endswith("?"):
        return []
    lang = doc.lang
    results: list[FoundClaim] = []
    for cue_start, cue, phrase in prepositional_cues(doc, sent):
        claimant, role = tx.split_role(phrase.text)
        message = _prepositional_message(s, cue_start, cue, phrase)
        found = _claim(text, sent, Source(claimant, role, phrase.start, phrase.end), cue, message)
        if found:
            results.append(found)
    if lang != "en":
        results.extend(_impersonal(text, sent))
    follow = _follow_up(text, sent, earlier)
    if follow is not None:
        results.append(follow)
    cues = _verb_cues(s, lang, vocabulary)
    for idx, cue in enumerate(cues):
        next_start = cues[idx + 1].start if idx + 1 < len(cues) else len(s)
        ctx = _Context(text, sent.start, earlier, results)
        found = _verb_claim(text, sent, cue, next_start, lang, ctx, before)
        if found:
            results.append(found)
    if lang != "en" and ("seiner" in s or "ihrer" in s):
        opinion = _opinion(text, sent, _Context(text, sent.start, earlier, results))
        if opinion is not None:
            results.append(opinion)
    return results


def _follow_up(text: str, sent: tx.Sentence, earlier: list[FoundClaim]) -> FoundClaim | None:
    """'X teilte mit, ... . Demnach wurden ...': "Demnach" opening the sentence right after a
    claim continues that claimant's report."""
    s = sent.text
    m = re.match(r"Demnach\s+", s)
    if m is None or not earlier:
        return None
    last = earlier[-1].claim
    if last.span is None or not 0 <= sent.start - last.span[1] <= 3:
        return None
    source = Source(last.claimant, last.claimant_role, 0, m.end())
    return _claim(text, sent, source, "Demnach", Message(s[m.end() :], (m.end(), len(s)), False))


_HEISST_ES = re.compile(r"(?<![\w-])(?:[Ss]o\s+)?(?:[Hh]ei(?:ß|ss)t|[Hh]ie(?:ß|ss))\s+es(?![\w-])")
#: the preposition before the source of "heißt es": "in der Erklärung", "aus Paris", "bei X"
_SOURCE_PREP = re.compile(
    r"(?<![\w-])(?:[Ii]n|[Ii]m|[Bb]ei|[Bb]eim|[Aa]us|[Vv]on|[Vv]om|[Aa]uf|[Ss]eitens)\s+"
)


def _impersonal(text: str, sent: tx.Sentence) -> list[FoundClaim]:
    """'In der Erklärung heißt es, ...', '„…“, hieß es aus Paris': the impersonal "heißt es"
    cites the document or place its clause names (none named: no claim, nobody to cite)."""
    s = sent.text
    found: list[FoundClaim] = []
    if "eißt" not in s and "ieß" not in s and "eisst" not in s and "iess" not in s:
        return found  # a cheap test first: most sentences have no form of "heißen"
    for m in _HEISST_ES.finditer(s):
        c0, c1 = tx.clause_bounds(s, m.start())
        source = None
        # the source in the cue's clause, or opening the sentence before an apposition
        places = list(_SOURCE_PREP.finditer(s, c0, c1)) + list(_SOURCE_PREP.finditer(s, 0, 4))
        for p in places:
            np = tx.noun_phrase(s, p.end(), c1)
            if np is not None and np.start == p.end() and not _is_time(np.text):
                source = np
                break
        if source is None:
            continue
        after = re.compile(r"[^,:]*?[,:]\s*").match(s, max(m.end(), source.end))
        if after is not None and after.end() < len(s) and c1 < len(s) and s[c1] in ",:":
            quote = _whole_quote(s[after.end() :], prefix=True)
            if quote:
                a, b = quote[1]
                message = Message(quote[0], (after.end() + a, after.end() + b), True)
            else:
                message = Message(s[after.end() :].rstrip(" .!?"), (after.end(), len(s)), False)
        else:
            lead = s[: c0 or m.start()].rstrip(" ,")
            quote = _whole_quote(lead)
            message = (
                Message(quote[0], quote[1], True) if quote else Message(lead, (0, len(lead)), False)
            )
        claimant, role = tx.split_role(source.text)
        speaker = Source(claimant, role, source.start, source.end)
        claim = _claim(text, sent, speaker, m.group(), message)
        if claim is not None:
            found.append(claim)
    return found


def _is_time(phrase: str) -> bool:
    """'im Juli', 'in der Nacht': a time, not a source."""
    return any(w.lower() in tx.TEMPORAL or w[:1].isdigit() for w in phrase.split())


_OPINION = re.compile(
    r"(?<![\w-])(seiner|ihrer)\s+(?:Meinung|Ansicht|Auffassung|Einschätzung|Überzeugung)"
    r"\s+nach(?![\w-])"
)


def _opinion(text: str, sent: tx.Sentence, ctx: _Context) -> FoundClaim | None:
    """'Der Minister hält die Lage seiner Ansicht nach für ernst': the opinion of the one
    "seiner" points to: the speaker of the sentence's other cue, a person or role opening the
    sentence, or else the latest claimant or name before."""
    s = sent.text
    m = _OPINION.search(s)
    if m is None:
        return None
    subject = _sentence_subject(s[: m.start()]) if m.start() > 0 else None
    source: Source | None
    if ctx.here:
        said = ctx.here[-1].claim
        source = Source(said.claimant, said.claimant_role, m.start(), m.end())
    elif subject is not None and _personal_source(subject):
        claimant, role = tx.split_role(subject.text)
        source = Source(claimant, role, subject.start, subject.end)
    else:
        source = ctx.resolved(m.start(), m.end())
    if source is None:
        return None
    rest = (s[: m.start()].rstrip() + " " + s[m.end() :].lstrip()).strip(" .")
    return _claim(text, sent, source, m.group(), Message(rest, (0, len(s)), False))


def _prepositional_message(s: str, cue_start: int, cue: str, phrase: tx.Phrase) -> Message:
    if cue == "so":
        before = s[:cue_start].rstrip(" ,")
        quote = _whole_quote(before)
        if quote:
            return Message(quote[0], quote[1], True)
        return Message(before, (0, len(before)), False)
    start = cue_start if cue != "zufolge" else phrase.start
    end = phrase.end if cue != "zufolge" else s.index("zufolge", phrase.end) + 7
    return Message((s[:start] + s[end:]).strip(), (0, len(s)), False)


def _claim(
    text: str,
    sent: tx.Sentence,
    source: Source,
    cue: str,
    message: Message,
    start: int | None = None,
) -> FoundClaim | None:
    """The record, or None when the message or a resolved claimant is missing; its evidence
    is the sentence, or the text from `start` (a sentence before) to the sentence's end."""
    body = tx.trim(message.text.strip(" ,:.;").strip(), 400)
    claimant = tx.trim(source.claimant, 120)
    if not body or not claimant or claimant.lower() in tx.PRONOUNS:
        return None
    hedging = Hedging.ALLEGED
    if _CONFIRMED.match(cue):
        hedging = Hedging.CONFIRMED
    elif _DENIED.match(cue):
        hedging = Hedging.DENIED
    begin = sent.start if start is None else start
    evidence_end = begin + min(sent.end - begin, 600)
    claim = Claim(
        claimant=claimant,
        claimant_role=tx.trim(source.role, 120) if source.role else None,
        cue=cue,
        message=body,
        speech=Speech.DIRECT if message.direct else Speech.REPORTED,
        hedging=hedging,
        evidence=text[begin:evidence_end],
        span=(begin, evidence_end),
        grounding=Grounding.EXACT,
    )
    a, b = message.span
    return FoundClaim(claim, (sent.start + a, sent.start + b))


# --- verb cues ----------------------------------------------------------------------------


class _Vocabulary:
    """The words of one article that are German cue words, each word judged once: a sentence
    without one is passed over after one scan, with no work per word in Python."""

    def __init__(self) -> None:
        self.judged: set[str] = set()
        self.cues: set[str] = set()

    def has_cue(self, words: list[str]) -> bool:
        """Whether any of a sentence's words is a cue word."""
        new = set(words).difference(self.judged)
        if new:
            self.judged |= new
            self.cues.update(w for w in new if _is_cue_word(w))
        return not self.cues.isdisjoint(words)


def _verb_cues(s: str, lang: str, vocabulary: _Vocabulary) -> list[Cue]:
    """The reporting verbs of a sentence, in order."""
    if lang == "en":
        return [Cue(m.start(), m.end(), m.group(1), m.end()) for m in _VERB_EN_RE.finditer(s)]
    tokens = _WORD_RE.findall(s)
    if not vocabulary.has_cue(tokens):
        return []
    cue_words = vocabulary.cues
    at = [i for i, tok in enumerate(tokens) if tok in cue_words]
    words = list(_WORD_RE.finditer(s))  # the same tokens, with their offsets
    return [cue for i in at if (cue := _german_cue(s, words, i)) is not None]


@lru_cache(maxsize=65536)
def _is_cue_word(tok: str) -> bool:
    """A lower-case word whose lemma is in the cue lexicon (cached: news repeats its words)."""
    if not tok[0].islower():
        return False
    lemma = _lemma(tok)
    return lemma in _SAY_DE or lemma in _PARTICLES_DE


def _german_cue(s: str, words: list[re.Match[str]], i: int) -> Cue | None:
    w = words[i]
    tok = w.group()
    if not tok[0].islower():
        return None
    lemma = _lemma(tok)
    if lemma not in _SAY_DE and lemma not in _PARTICLES_DE:
        return None
    if _attributive(tok, lemma) or (tok != lemma and tok.replace("zu", "", 1) == lemma):
        return None  # "die geschätzten Kollegen", "anzugeben": an adjective, a zu-infinitive
    c0, c1 = _clause(s, w.start())
    before = [x for x in words[:i] if x.start() >= c0]
    prev = before[-1].group() if before else ""
    if prev == "zu" or (lemma == tok and any(x.group() in _MODALS for x in before)):
        return None  # "zu sagen", "will ... sagen": not a statement made
    if before and before[-1].group() in _PARTICLES_DE.get(lemma, ()):
        return _written_apart(words, i, before)
    if lemma in _NEEDS_PARTICLE or (lemma not in _SAY_DE):
        return _separable(s, words, i, lemma, c1)
    split = _separable(s, words, i, lemma, c1) if lemma in _PARTICLES_DE else None
    if split is not None:
        return split  # "rief ... auf", "sagte ... zu": the particle belongs to the cue
    aux = next((x for x in before if x.group() in _HABEN), None)
    after = [x for x in words[i + 1 :] if x.start() < c1]
    passive = next((x for x in before if x.group() in _PASSIVE), None)
    if passive is not None and aux is None:
        if lemma != "zitieren":
            return None  # passive without a stated agent
        # "X wird mit den Worten zitiert": the subject of the passive is the speaker
        return Cue(passive.start(), w.end(), f"{passive.group()} {tok}", passive.end())
    if aux is not None and tok != lemma:
        return Cue(aux.start(), w.end(), f"{aux.group()} {tok}", aux.end())
    late_aux = after[0] if after and after[0].group() in _HABEN else None
    if late_aux is not None:  # subordinate: "..., wie er gesagt hatte"
        return Cue(w.start(), late_aux.end(), f"{tok} {late_aux.group()}", w.end())
    return Cue(w.start(), w.end(), tok, w.end())


def _written_apart(words: list[re.Match[str]], i: int, before: list[re.Match[str]]) -> Cue:
    """'hat ... bekannt gegeben', 'wie die Polizei bekannt gab': the particle written apart
    before its verb (both spellings are standard for some verbs)."""
    w, particle = words[i], before[-1]
    aux = next((x for x in before[:-1] if x.group() in _HABEN), None)
    if aux is not None:
        return Cue(aux.start(), w.end(), f"{aux.group()} {particle.group()} {w.group()}", aux.end())
    return Cue(particle.start(), w.end(), f"{particle.group()} {w.group()}", w.end())


_PAST_ADJECTIVE = re.compile(r"ge\w+(?:t|en)(?:e|en|em|er|es)")
_PRESENT_PARTICIPLE = re.compile(r"(\w+en)d(?:e|en|em|er|es)?")


def _attributive(tok: str, lemma: str) -> bool:
    """A participle with an adjective ending ("geforderten", "drohenden"): no verb of saying."""
    present = _PRESENT_PARTICIPLE.fullmatch(tok)
    return bool(_PAST_ADJECTIVE.fullmatch(tok)) or (present is not None and present[1] == lemma)


#: a split-off particle closes its clause: punctuation, a quote, "und"/"oder" or the end
_PARTICLE_END = re.compile(r"\s*(?:[,.;:!?\"„“”»«(–-]|und\b|oder\b|$)")


def _separable(s: str, words: list[re.Match[str]], i: int, lemma: str, c1: int) -> Cue | None:
    """'teilte ... mit': the particle must close the clause part after the verb."""
    w = words[i]
    particles = _PARTICLES_DE.get(lemma, ())
    tail = [x for x in words[i + 1 :] if x.start() < c1]
    for x in reversed(tail):
        if (
            x.group() in particles
            and _PARTICLE_END.match(s, x.end())
            and (lemma != "gehen" or re.search(r"\bdavon\b", s[w.end() : x.start()]))
        ):
            return Cue(w.start(), x.end(), f"{w.group()} {x.group()}", w.end())
    # past an apposition: "Dies teilte der Sprecher, Jens Nacke, mit."
    end = re.compile(r"[.;:!?]|$").search(s, c1).start()
    for x in words[i + 1 :]:
        if c1 <= x.start() < end and x.group() in particles:
            if _PARTICLE_END.match(s, x.end()):
                return Cue(w.start(), x.end(), f"{w.group()} {x.group()}", w.end())
            break
    return None


def _clause(s: str, pos: int) -> tuple[int, int]:
    """Clause bounds for cue words: between commas, colons, semicolons and sentence ends."""
    right_m = _CLAUSE_END.search(s, pos)
    return _clause_start(s, pos), (right_m.start() if right_m else len(s))


_CLAUSE_END = re.compile(r"[,;:.!?]")


def _clause_start(s: str, end: int) -> int:
    """Just past the last comma, semicolon or colon before `end` (0 if there is none)."""
    return max(s.rfind(",", 0, end), s.rfind(";", 0, end), s.rfind(":", 0, end)) + 1


@dataclass(frozen=True)
class _Context:
    """What a pronoun may refer to: the claims found so far (in the sentences before, and in
    this one) and the text before the sentence."""

    text: str
    sent_start: int
    earlier: list[FoundClaim]
    here: list[FoundClaim]

    def resolved(self, start: int, end: int, around: bool = False) -> Source | None:
        """'er'/'sie' and an elided subject: the latest claimant or person name before
        (§4.2 resolves them); None when there is none."""
        latest = self.here or self.earlier
        last = latest[-1].claim if latest else None
        name = _last_person(self.text, self.sent_start)
        if name is not None and (last is None or (last.span or (0, 0))[0] < name[0]):
            claimant, role = tx.split_role(name[1])
            return Source(claimant, role, start, end, around)
        if last is None:
            return None
        return Source(last.claimant, last.claimant_role, start, end, around)


_LOWER = r"[a-zäöüßé\u0300-\u036f]"
_NAME_RE = re.compile(
    rf"(?<![\w-])([A-ZÄÖÜ]{_LOWER}+(?:-[A-ZÄÖÜ]{_LOWER}+)?)"
    rf"((?:\s+[A-ZÄÖÜ]{_LOWER}+(?:-[A-ZÄÖÜ]{_LOWER}+)?){{1,2}})(?![\w\u0300-\u036f-])"
)


def _last_person(text: str, pos: int) -> tuple[int, str] | None:
    """The last 'Vorname Nachname' in the 1500 characters before `pos` (absolute start)."""
    base = max(0, pos - 1500)
    window = text[base:pos]
    found = None
    for m in _NAME_RE.finditer(window):
        first = m.group(1).lower()
        before = window[max(0, m.start() - 12) : m.start()].split()[-1:]
        if first in _LEADS or first in tx.TEMPORAL or (before and before[0].lower() in tx.ARTICLES):
            continue
        found = (base + m.start(), m.group().strip())
    return found


def _verb_claim(
    text: str,
    sent: tx.Sentence,
    cue: Cue,
    next_start: int,
    lang: str,
    ctx: _Context,
    before: tx.Sentence | None = None,
) -> FoundClaim | None:
    s = sent.text
    source = _source(s, cue, lang, ctx)
    if source is None:
        return None
    clause_start = _clause_start(s, cue.start)
    if _NEGATION.search(s[clause_start : cue.end]):
        return None
    if before is not None and lang != "en" and _points_back(s[: cue.start]):
        back = _pointed_back(text, sent, before, source, cue)
        if back is not None:
            return back
    message = _message(s, cue, source, next_start, lang)
    return _claim(text, sent, source, cue.text, message) if message else None


def _pointed_back(
    text: str, sent: tx.Sentence, before: tx.Sentence, source: Source, cue: Cue
) -> FoundClaim | None:
    """'… . Dies teilte der Sprecher mit.': the statement is the sentence before; the evidence
    spans both sentences (when they fit in one). Not when a clause of its own follows."""
    rest = sent.text[max(cue.end, source.end) :]
    if re.search(r"[,:„“\"»«]", rest.rstrip(" .")) or sent.end - before.start > 600:
        return None
    offset = before.start - sent.start
    quote = _whole_quote(before.text.rstrip(" ."))
    if quote:
        a, b = quote[1]
        message = Message(quote[0], (offset + a, offset + b), True)
    else:
        message = Message(before.text, (offset, offset + len(before.text)), False)
    return _claim(text, sent, source, cue.text, message, start=before.start)


def _source(s: str, cue: Cue, lang: str, ctx: _Context) -> Source | None:
    """Who speaks: the subject before the verb, an apposed one, one after the verb
    (inversion), the one after "wie", or an earlier claimant for "er"/"sie"/"und"."""
    pre = s[: cue.start]
    clause_start = _clause_start(s, cue.start)
    segment = pre[clause_start:]
    apposed = _apposed_subject(pre, segment)
    if apposed is not None:
        return apposed
    seg = segment.strip()
    conj = re.match(r"(und|doch|aber|sondern|and|but)\b\s*", seg)
    if conj:
        seg = seg[conj.end() :]
    seg_start = s.index(seg, clause_start) if seg else clause_start
    elided = re.search(r"\b(und|and)\s+$", pre) is not None
    first = seg.split()[0].lower() if seg else ""
    if lang == "en":
        en_subject = tx.english_subject(s, clause_start, cue.start)
        if en_subject is not None and not elided:
            claimant, role = tx.split_role(en_subject.text)
            return Source(claimant, role, en_subject.start, cue.verb_end)
    subject = _subject_phrase(seg) if seg else None
    if elided and subject is None:
        prev = [f for f in ctx.here if f.claim.cue not in ("laut", "Laut", "so")]
        opening = _sentence_subject(s) if not prev and lang != "en" else None
        if opening is not None and opening.end < cue.start:
            # "Der Minister besuchte die Stadt und sagte, ...": the subject of the sentence
            if opening.text.lower() in _PERSONAL:
                return ctx.resolved(clause_start, cue.verb_end)
            claimant, role = tx.split_role(opening.text)
            return Source(claimant, role, clause_start, cue.verb_end)
        return _Context(ctx.text, ctx.sent_start, [], prev).resolved(clause_start, cue.verb_end)
    if subject is not None and _NEGATION.search(seg) is None:
        claimant, role = tx.split_role(subject)
        return Source(claimant, role, seg_start, cue.verb_end)
    last_word = seg.split()[-1].strip("\"'„“”»«").lower() if seg else ""
    if last_word in _SUBJECT_PRONOUNS:
        if last_word in _PERSONAL and len(seg.split()) == 1:
            return ctx.resolved(seg_start, cue.verb_end)
        return None  # "„Ich kritisiere …", "nannte man": no source to name
    if first == "wie" and lang != "en":
        return _wie_subject(s, seg_start + 3, cue, clause_start, ctx)
    if first in _SUBORDINATORS:
        rest = seg[len(first) :].split()
        if first not in ("wie", "as") and rest[:1] and rest[0].lower() in _PERSONAL:
            return ctx.resolved(clause_start, cue.verb_end)
        if lang != "en" and first not in ("wie", "as"):
            return _subordinate_subject(s, seg_start + len(first), cue)
        return None
    if lang == "en":
        en = re.compile(r"\s+((?:[a-z]+\s+){0,3}?)((?:[A-Z][\w'’-]+\s*){1,4})").match(
            s, cue.verb_end
        )
        if not en:
            return None
        role = en.group(1).strip() or None
        if role and role.split()[0] in tx.ARTICLES:
            role = " ".join(role.split()[1:]) or None
        return Source(en.group(2).strip(), role, cue.start, en.end(2))
    return _inverted_subject(s, cue, seg, ctx)


#: what opens a reported clause after a cue at the end of a subordinate clause: "dass", "ob",
#: or a verb in the subjunctive of reported speech within its first words
_REPORTED_CLAUSE = re.compile(
    r"[\s,]*(?:dass|ob)\b|[\s,]*(?:\S+\s+){0,5}?(?:sei|seien|habe|werde|könne|müsse|solle|"
    r"wolle|dürfe|gebe|liege|stehe|gehe|komme|bestehe|fehle)\b"
)


def _subordinate_subject(s: str, pos: int, cue: Cue) -> Source | None:
    """'..., zumal der Verteidiger betont hatte, der Mann sei unschuldig': the subject right
    after the subordinator, when nothing but adverbs stands between it and the verb and what
    follows the verb is reported speech (else the comma just ends the subordinate clause)."""
    np = tx.noun_phrase(s, pos, cue.start)
    if np is None or _pronoun_led(np.text) or np.start - pos > 2:
        return None
    if re.search(r"[A-ZÄÖÜ\d„“\"]", s[np.end : cue.start]):
        return None  # an object between subject and verb: "dass X das Mädchen gefragt habe"
    if not _REPORTED_CLAUSE.match(s, cue.end):
        return None
    claimant, role = tx.split_role(np.text)
    return Source(claimant, role, np.start, cue.end)


def _is_lead(word: str) -> bool:
    """An adverb or preposition opening a clause ('Am', 'Entsprechend', 'Dies'): the subject
    then follows the verb. A capitalised word whose lemma is lower-case is no noun."""
    low = word.lower()
    return low in _LEADS or low in tx.TEMPORAL or (word[:1].isupper() and _lemma(word).islower())


def _skip_adverbs(s: str, pos: int, limit: int) -> int:
    """Past 'gestern', 'am Montag', 'dazu' after a verb, to where its subject may start."""
    for _ in range(4):
        m = re.compile(r"\s+([^\W\d_]+)").match(s, pos, limit)
        if not m or m.group(1) in tx.ARTICLES or m.group(1).lower() not in _LEADS | tx.TEMPORAL:
            break
        pos = m.end()
        if m.group(1) in ("am", "im", "in", "vor", "seit", "zur", "zum", "auf", "bei"):
            nxt = re.compile(r"\s+(?:der|dem|den|einer|einem)?\s*[\wäöüÄÖÜß.-]+").match(
                s, pos, limit
            )
            pos = nxt.end() if nxt else pos
    return pos


def _wie_subject(s: str, pos: int, cue: Cue, clause_start: int, ctx: _Context) -> Source | None:
    """'wie die Polizei mitteilte' / 'wie er sagte': the rest of the sentence is the message."""
    pos = _skip_adverbs(s, pos, cue.start)
    if re.compile(r"\s*(er|sie)\s").match(s, pos):
        return ctx.resolved(clause_start, cue.end, around=True)
    np = tx.noun_phrase(s, pos, cue.start)
    if np is None:
        return None
    claimant, role = tx.split_role(np.text)
    return Source(claimant, role, clause_start, cue.end, around=True)


def _inverted_subject(s: str, cue: Cue, seg: str, ctx: _Context) -> Source | None:
    """'Am Montag erklärte die Polizei ...', '„…“, sagte er.': the subject follows the verb
    when something other than a subject opens the clause."""
    if seg and not re.search(r"[\"“”»«]$", seg) and not _is_lead(seg.split()[0]):
        return None  # a subject we cannot read: the phrase after the verb is its object
    pos = _skip_adverbs(s, cue.verb_end, len(s))
    pron = re.compile(r"\s+(er|sie)(?![\w-])").match(s, pos)
    if pron:
        return ctx.resolved(cue.start, pron.end())
    np = tx.noun_phrase(s, pos, names=False)
    if np is None or _pronoun_led(np.text) or np.start - pos > 2:
        return None
    claimant, role = tx.split_role(np.text)
    end = np.end
    app = re.compile(r",\s*([^,]+?),").match(s, np.end)
    if app and tx.has_role(app.group(1)):
        role = tx.clean_name(app.group(1))
        end = app.end()
    return Source(claimant, role, cue.start, end)


def _pronoun_led(phrase: str) -> bool:
    """'er', 'dies': a pronoun; 'das Ministerium' starts with an article, not a pronoun."""
    words = phrase.lower().split()
    return words[0] in tx.PRONOUNS and (len(words) == 1 or words[0] not in tx.ARTICLES)


_RELATIVE = tx.wordset("der die das dessen deren welche welcher welches")


_APPOSITION = re.compile(r"^(?P<subj>.*?)(?P<app>,\s*[^,]+?,)\s*$")


def _apposed_subject(pre: str, segment: str) -> Source | None:
    """'Claudia Pfeiffer, Geschäftsführerin des KAV, erklärte': name plus role; also past a
    relative clause ('Deiss, der sich ... entschlossen hatte, sagte')."""
    if segment.strip():
        return None
    app = _APPOSITION.search(pre)
    if not app:
        return None
    appos = app.group("app").strip(" ,")
    relative = appos.split()[0] in _RELATIVE
    np = tx.noun_phrase(appos, 0)
    name_only = _NAME_ONLY.fullmatch(appos) is not None
    whole_phrase = np is not None and np.end == len(appos)
    if not (relative or name_only or tx.has_role(appos) or whole_phrase):
        return None
    subj_seg = app.group("subj")
    subj_clause = subj_seg[_clause_start(subj_seg, len(subj_seg)) :]
    wie = re.match(r"\s*[Ww]ie\s+", subj_clause)  # "Wie der Direktor, Smith D., mitteilte"
    if wie:
        subj_clause = subj_clause[wie.end() :]
    if not tx.is_subject(subj_clause):
        return None
    claimant, pre_role = tx.split_role(tx.clean_name(subj_clause))
    start = len(subj_seg) - len(subj_clause)
    if name_only and pre_role is None and subj_clause.split()[0].lower() in tx.ARTICLES:
        # "Die Sprecherin der Stiftung, Heike van Laak, sagte": the apposition is the name
        return Source(appos, claimant, start, len(pre), around=bool(wie))
    role = pre_role if relative else (tx.clean_name(appos) or pre_role)
    return Source(claimant, role, start, len(pre), around=bool(wie))


_PP_AFTER_SUBJECT = re.compile(r"\s+(?:in|aus|von|vom|im|bei|beim|für|an|am|der|des)\s")


def _subject_phrase(seg: str) -> str | None:
    """The subject a clause opens with, without a trailing place or affiliation ('Ein
    Regierungssprecher in Berlin', 'Ken Rice vom Institut für Astronomie'); None if the
    segment is not one."""
    if len(seg.split()) == 1 and _is_lead(seg):
        return None
    if tx.is_subject(seg):
        return seg
    np = tx.noun_phrase(seg, 0)
    if np is None or np.start > 1 or not tx.is_subject(np.text):
        return None
    rest = seg[np.end :]
    if (
        _PP_AFTER_SUBJECT.match(rest + " ")
        and len(rest.split()) <= 10
        and not re.search(r"[\"„“”»«]", rest)
    ):
        return np.text
    return None


# --- the message --------------------------------------------------------------------------


def _message(s: str, cue: Cue, source: Source, next_start: int, lang: str = "de") -> Message | None:
    """A quotation after the cue (or after a colon), a dass-clause, the words up to the next
    cue, or, for a trailing cue, what stands before it."""
    msg_start = max(cue.end, source.end)
    lead = re.match(r"[\s,:]*", s[msg_start:])
    body_start = msg_start + (lead.end() if lead else 0)
    body = s[body_start:]
    if body[:1] in _OPEN_CLOSE:
        quote = _whole_quote(body, prefix=True)
        if quote:
            a, b = quote[1]
            return Message(quote[0], (body_start + a, body_start + b), True)
    colon = re.match(r"[^,:„“\"»«]{0,60}:\s*", body)
    if colon:
        quote = _whole_quote(body[colon.end() :])
        if quote:
            q0 = body_start + colon.end()
            return Message(quote[0], (q0 + quote[1][0], q0 + quote[1][1]), True)
    end = len(s)
    if body_start < next_start < len(s):
        cut = max((m.start() for m in re.finditer(r",|\bund\b|\band\b", s[:next_start])),
                  default=next_start)  # fmt: skip
        end = cut if cut > body_start else next_start
    message = s[body_start:end]
    that = re.match(r".{0,40}?\b(dass|that)\b", s[body_start:])
    if that:  # past a cue word inside the clause ("..., dass sie sich nicht äußern könne")
        t0 = body_start + that.start(1)
        t1 = end if end > t0 else len(s)
        return Message(s[t0:t1].rstrip(" .!?"), (t0, t1), False)
    if source.around:  # "wie X mitteilte": the rest of the sentence is the message
        rest = (s[: source.start].rstrip(" ,") + " " + s[cue.end :].lstrip(" ,")).strip()
        return Message(rest, (0, len(s)), False)
    closes = _after_message(s, min(source.start, cue.start), cue.start, message)
    if end == len(s) and (closes or (lang == "en" and len(message.split()) <= 4)):
        # trailing cue: '„…“, sagte Söder in Passau.' / '…, officials said on Wednesday.'
        lead_text = s[: min(source.start, cue.start)].rstrip(" ,")
        quote = _whole_quote(lead_text)
        if quote:
            return Message(quote[0], quote[1], True)
        if lead_text:
            return Message(lead_text, (0, len(lead_text)), False)
    if not message.strip(" .,;"):
        return None
    if lang != "en" and not _clausal(s, cue, s[msg_start:body_start], message):
        return None
    return Message(message.rstrip(" .!?"), (body_start, end), False)


#: a German reported clause shown near the cue: a colon or a quotation, or a dass/ob-clause
_CLAUSE_SIGN = re.compile(r"[^,;]{0,80}?:|.*[„“”\"»«]|.*,\s*(?:dass|ob)\s")
#: a closing zu-infinitive ("hat angekündigt, die Preise zu erhöhen"), unless it says what for
#: ("..., um Hilfe zu bringen")
_ZU_INFINITIVE = re.compile(r"(?!.*(?:^|,)\s*um\s).*\bzu\s+[a-zäöüß]+en\s*[.!]?\s*$")
#: subordinators that open a clause of reason, time or purpose, not what was said
_NOT_SAID = _SUBORDINATORS - {"dass", "ob", "that", "whether"} | {"um"}
#: finite verbs that stand second in a main clause of reported speech ("..., das sei ...")
_FINITE = (
    r"(?:sei|seien|ist|sind|war|waren|habe|haben|hat|hatte|hätte|hätten|werde|werden|wird|"
    r"würde|würden|müsse|müssten|könne|könnten|solle|sollten|gebe|gibt|gelte|gilt)\b"
)
#: a relative or purpose clause after a noun ("..., bei dem", "..., um"); "..., das sei ..." (a
#: finite verb second) and "..., der Haushalt sei ..." (an article before a noun) open a main
#: clause
_RELATIVE_OPEN = re.compile(
    r"\s*(?:um\s|(?:an|auf|aus|bei|durch|für|gegen|in|mit|nach|über|unter|von|vor|zu)\s+"
    r"(?:dem|der|den|denen|dessen|deren|welche[rsnm]?)\s|"
    rf"(?:der|die|das|dem|den|dessen|deren|welche[rsnm]?)\s+(?!{_FINITE}|[A-ZÄÖÜ]))"
)
#: "damit solle ...", "da sei ...": the adverb, not the subordinator, before a finite verb
_ADVERB_THEN_VERB = re.compile(rf"\s*\S+\s+{_FINITE}")
#: a demonstrative opening the clause points back to the statement: "Das erklärte X am Montag"
_ANAPHORIC = tx.wordset("Das Dies Dieses Diese")


def _opens_other_clause(text: str) -> bool:
    """A clause of reason, time or purpose ("weil ...", "um ... zu"), not what was said."""
    words = text.split()
    return bool(words) and words[0].lower() in _NOT_SAID and not _ADVERB_THEN_VERB.match(text)


def _stance(cue: str) -> bool:
    """A cue that confirms, denies or criticises: its object is what is asserted."""
    return bool(_CONFIRMED.match(cue) or _DENIED.match(cue)) or any(
        _lemma(w) in _STANCE_DE for w in cue.split()
    )


def _clausal(s: str, cue: Cue, lead: str, message: str) -> bool:
    """Whether a German reported message is a statement rather than a plain object: 'Die ISAF
    bedauert den Vorfall' reports a stance on a noun. German sets a reported clause off by a
    comma or colon (after a few adverbials at most), quotes it, or refers back to it ("Das
    sagte X"); a comma after a noun that opens a relative clause does not count. English
    marks none of these, so the test is German only."""
    if ":" in lead or _CLAUSE_SIGN.match(message) or _stance(cue.text):
        return True
    if _ZU_INFINITIVE.match(message):
        return True
    if "," in lead:
        return not _opens_other_clause(message)
    head, comma, rest = message.partition(",")
    words = head.split()
    if comma and len(words) <= 12 and rest.split()[:1]:
        after_noun = bool(words) and words[-1][:1].isupper()
        if not (after_noun and _RELATIVE_OPEN.match(rest)) and not _opens_other_clause(rest):
            return True
    return _points_back(s[_clause_start(s, cue.start) : cue.start])


def _points_back(lead: str) -> bool:
    """Whether the words before a cue are just a demonstrative: "Dies teilte X mit"."""
    words = lead.split()
    return len(words) == 1 and words[0] in _ANAPHORIC


def _after_message(s: str, pos: int, cue_start: int, rest: str) -> bool:
    """'„…“, erklärte X bei der Vorstellung.': a German cue clause right after a comma or a
    quote, with nothing after it but its subject and adverbials, closes the message before it
    ('In Vietnam forderte der Sturm 92 Menschenleben' has no message before its verb)."""
    opener = s[pos:].split()[:1]
    if opener and (opener[0].lower() in _SUBORDINATORS or opener[0] in _RELATIVE):
        return False  # "..., da sie um ihre Stellen fürchten": a reason, no message before it
    if re.search(r"(?<![\w-])(?:und|oder)(?![\w-])", s[pos:cue_start]):
        return False  # "..., die ... steckte und forderte X": the verb goes on a clause
    return bool(re.search(r"[,“”\"»«]\s*$", s[:pos])) and (
        len(rest.split()) <= 4 or not re.search(r"[,:„“\"»«]|\b(?:dass|ob)\b", rest)
    )


def _whole_quote(s: str, prefix: bool = False) -> tuple[str, tuple[int, int]] | None:
    """The quoted text when `s` is (or, with prefix, starts with) one quotation."""
    m = _QUOTE_RE.match(s.strip())
    if not m:
        return None
    offset = len(s) - len(s.lstrip())
    if not prefix and m.end() < len(s.strip()) - 1:
        return None
    inner = m.group()[1:-1].strip()
    return inner, (offset + 1, offset + m.end() - 1)
