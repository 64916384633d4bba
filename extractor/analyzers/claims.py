"""Claims from reporting cues, without a model: who says what, in German and English.

Cues follow speaker-attribution work (GePaDe-SpkAtt, GermEval 2023 SpkAtt): reporting verbs
("erklärte", "warnte", "said"), separable ones ("teilte ... mit", "deutete ... an"),
prepositional cues ("laut X", "nach Angaben von X", "X zufolge", "according to X") and the
trailing German "..., so der Geheimdienst." The evidence is the whole sentence, so it always
contains cue, claimant and message verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractor import numbers
from extractor.analyzers import text as tx
from extractor.records import Claim, Grounding, Hedging, Speech

# (verb pattern, separable particle or None); lower-case verbs are matched case-sensitively.
_VERBS_DE: list[tuple[str, str | None]] = [
    (r"erklärte|erklärten|erklärt", None), (r"sagte|sagten|sagt", None),
    (r"warnte|warnten|warnt", None), (r"meldete|meldeten|meldet", None),
    (r"betonte|betonten|betont", None), (r"bestätigte|bestätigten", None),
    (r"berichtete|berichteten|berichtet", None), (r"kritisierte|kritisierten", None),
    (r"verkündete|verkündeten", None), (r"behauptete|behaupteten|behauptet", None),
    (r"enthüllte|enthüllten", None), (r"versicherte|versicherten", None),
    (r"unterstrich|unterstrichen", None), (r"erläuterte|erläuterten", None),
    (r"schrieb|schrieben", None), (r"dementierte|dementierten|dementiert", None),
    (r"bestritt|bestritten", None), (r"teilte|teilten|teilt", "mit"),
    (r"deutete|deuteten|deutet", "an"), (r"kündigte|kündigten|kündigt", "an"),
    (r"gab|gaben|gibt", "bekannt"), (r"räumte|räumten|räumt", "ein"),
    (r"wies|wiesen|weist", "zurück"),
]  # fmt: skip
_VERBS_EN: list[tuple[str, str | None]] = [
    (r"said|says|warned|warns|stated|states|claimed|claims|told|tells|announced|reported|"
     r"confirmed|confirms|denied|denies|insisted|added|noted|wrote|argued|alleged|"
     r"criticised|criticized|stressed|revealed", None),
]  # fmt: skip
_CONFIRMED = re.compile(r"^(bestätig|confirm)", re.IGNORECASE)
_DENIED = re.compile(r"^(dementier|bestritt|wies|wiesen|weist|denied|denies)", re.IGNORECASE)
_SUBORDINATORS = tx.wordset(
    "dass ob weil obwohl obgleich indem nachdem als wenn da bevor damit sodass während "
    "that whether because although while when if since"
)
_NEGATION = re.compile(r"\b(nicht|kein|keine|keinen|not|never|n't)\b", re.IGNORECASE)
_OPEN_CLOSE = {"„": "“", "“": "”", '"': '"', "»": "«", "«": "»", "‚": "‘"}
_QUOTE_RE = re.compile(r"„[^„“”\"]+[“”\"]|“[^“”]+”|\"[^\"]+[\"“]|»[^»«]+«|«[^«»]+»")


@dataclass(frozen=True)
class FoundClaim:
    """A claim plus where its message lies in the text (for attributing figures)."""

    claim: Claim
    message_span: tuple[int, int]


def find_claims(text: str, language: str | None = None) -> list[Claim]:
    """Attributed statements from reporting cues; every record is grounded (EXACT)."""
    return [f.claim for f in find_claims_with_spans(text, language)]


def find_claims_with_spans(text: str, language: str | None = None) -> list[FoundClaim]:
    lang = numbers._lang(language) or numbers._guess_lang(text) or "de"
    out: list[FoundClaim] = []
    seen: set[tuple[str, str, str]] = set()
    for sent in tx.sentences(text):
        for found in _sentence_claims(text, sent, lang):
            c = found.claim
            key = (c.claimant, c.cue.lower(), c.message)
            if key not in seen:
                seen.add(key)
                out.append(found)
    return out


def attribution(sentence: str, lang: str) -> str | None:
    """The source a prepositional cue names in a sentence ('laut der GUR' -> 'GUR')."""
    for _cue_start, _cue, phrase in _prepositional(sentence, lang):
        return tx.clean_name(phrase.text)
    return None


# --- prepositional cues -------------------------------------------------------------------


def _prepositional(s: str, lang: str) -> list[tuple[int, str, tx.Phrase]]:
    """(cue start, cue as written, source phrase) for laut / nach Angaben / zufolge /
    according to / trailing 'so X' in one sentence."""
    found: list[tuple[int, str, tx.Phrase]] = []
    for m in re.finditer(
        r"(?<![\w-])((?:[Ll]aut)|(?:[Nn]ach Angaben)(?:\s+von)?|(?:[Aa]ccording to))\s+", s
    ):
        phrase = tx.noun_phrase(s, m.end())
        if phrase is None and m.group(1).lower().startswith("according"):
            em = re.compile(r"(?:the\s+)?[\w'’ -]{2,60}?(?=[,.;]|$)").match(s, m.end())
            phrase = tx.Phrase(em.start(), em.end(), em.group()) if em else None
        if phrase is not None and phrase.text.split()[0].lower() not in tx.PRONOUNS:
            cue = re.sub(r"\s+von$", "", m.group(1))
            found.append((m.start(), cue, phrase))
    for m in re.finditer(r"\s+zufolge\b", s):
        words = list(re.finditer(r"\S+", s[: m.start()]))
        for w in words[-6:]:
            phrase = tx.noun_phrase(s, w.start())
            if phrase and phrase.end == m.start():
                found.append((phrase.start, "zufolge", phrase))
                break
    so = re.search(r",\s*(so)\s+", s)
    if so:
        phrase = tx.noun_phrase(s, so.end())
        rest = s[phrase.end :] if phrase else ""
        if phrase and re.fullmatch(r"(\s+(weiter|zudem|außerdem))?[\s.!?\"“”»«]*", rest):
            found.append((so.start(1), "so", phrase))
    return found


# --- one sentence -------------------------------------------------------------------------


def _sentence_claims(text: str, sent: tx.Sentence, lang: str) -> list[FoundClaim]:
    s = sent.text
    if s.endswith("?"):
        return []
    evidence_end = sent.start + min(len(s), 600)
    evidence = text[sent.start : evidence_end]

    def make(
        claimant: str, role: str | None, cue: str, message: str, span: tuple[int, int], direct: bool
    ) -> FoundClaim | None:
        message = tx.trim(message.strip(" ,:.;").strip(), 400)
        claimant = tx.trim(claimant, 120)
        if not message or not claimant or claimant.lower() in tx.PRONOUNS:
            return None
        hedging = Hedging.ALLEGED
        if _CONFIRMED.match(cue):
            hedging = Hedging.CONFIRMED
        elif _DENIED.match(cue):
            hedging = Hedging.DENIED
        claim = Claim(
            claimant=claimant,
            claimant_role=tx.trim(role, 120) if role else None,
            cue=cue,
            message=message,
            speech=Speech.DIRECT if direct else Speech.REPORTED,
            hedging=hedging,
            evidence=evidence,
            span=(sent.start, evidence_end),
            grounding=Grounding.EXACT,
        )
        return FoundClaim(claim, (sent.start + span[0], sent.start + span[1]))

    results: list[FoundClaim] = []
    for cue_start, cue, phrase in _prepositional(s, lang):
        claimant, role = tx.split_role(phrase.text)
        if cue == "so":
            before = s[:cue_start].rstrip(" ,")
            quote = _whole_quote(before)
            if quote:
                msg, span, direct = quote[0], quote[1], True
            else:
                msg, span, direct = before, (0, len(before)), False
        else:
            start = cue_start if cue != "zufolge" else phrase.start
            end = phrase.end if cue != "zufolge" else s.index("zufolge", phrase.end) + 7
            msg = (s[:start] + s[end:]).strip()
            span, direct = (0, len(s)), False
        found = make(claimant, role, cue, msg, span, direct)
        if found:
            results.append(found)

    cues = _verb_cues(s, lang)
    for idx, (c_start, c_end, cue, verb_end) in enumerate(cues):
        next_start = cues[idx + 1][0] if idx + 1 < len(cues) else len(s)
        found = _verb_claim(s, c_start, c_end, cue, verb_end, next_start, lang, results, make)
        if found:
            results.append(found)
    return results


def _verb_cues(s: str, lang: str) -> list[tuple[int, int, str, int]]:
    """(cue start, end of cue incl. particle, cue text, end of the verb) in sentence order."""
    verbs = _VERBS_EN if lang == "en" else _VERBS_DE
    out: list[tuple[int, int, str, int]] = []
    for pattern, particle in verbs:
        flags = re.IGNORECASE if lang == "en" else 0
        for m in re.finditer(rf"(?<![\w-])({pattern})(?![\w-])", s, flags):
            if re.search(r"\bzu\s+$", s[: m.start()]):
                continue
            if particle is None:
                out.append((m.start(), m.end(), m.group(1), m.end()))
                continue
            clause_end = re.compile(r"[,;:.!?]|$").search(s, m.end())
            end = clause_end.start() if clause_end else len(s)
            particles = list(re.finditer(rf"(?<![\w-]){particle}(?![\w-])", s[m.end() : end]))
            if particles:
                pm = particles[-1]
                out.append((m.start(), m.end() + pm.end(), f"{m.group(1)} {particle}", m.end()))
    return sorted(out)


def _verb_claim(s, c_start, c_end, cue, verb_end, next_start, lang, earlier, make):
    pre = s[:c_start]
    claimant: str | None = None
    role: str | None = None
    subject_end = verb_end
    subject_start = c_start
    clause_start = max((m.end() for m in re.finditer(r"[,;:]", pre)), default=0)
    segment = pre[clause_start:]
    app = re.search(r"^(?P<subj>.*?)(?P<app>,\s*[^,]+?,)\s*$", pre)
    if app and tx.ROLE_RE.search(app.group("app")) and not segment.strip():
        subj_seg = app.group("subj")
        subj_clause = subj_seg[max((m.end() for m in re.finditer(r"[,;:]", subj_seg)), default=0) :]
        if tx.is_subject(subj_clause):
            claimant = tx.clean_name(subj_clause)
            claimant, pre_role = tx.split_role(claimant)
            subject_start = len(subj_seg) - len(subj_clause)
            role = tx.clean_name(app.group("app").strip(" ,")) or pre_role
    if claimant is None:
        seg = segment.strip()
        conj = re.match(r"(und|doch|aber|sondern|and|but)\b\s*", seg)
        if conj:
            seg = seg[conj.end() :]
        elided = re.search(r"\b(und|and)\s+$", pre) is not None
        first = seg.split()[0].lower() if seg else ""
        en_subject = tx.english_subject(s, clause_start, c_start) if lang == "en" else None
        if en_subject is not None and not elided:
            claimant, role = tx.split_role(en_subject.text)
            subject_start = en_subject.start
        elif (elided and not seg) or (elided and not tx.is_subject(seg)):
            prev = [f for f in earlier if f.claim.cue not in ("laut", "Laut", "so")]
            if not prev:
                return None
            claimant, role = prev[-1].claim.claimant, prev[-1].claim.claimant_role
        elif seg and tx.is_subject(seg) and _NEGATION.search(seg) is None:
            claimant, role = tx.split_role(seg)
            subject_start = s.index(seg, clause_start)
        elif first in _SUBORDINATORS:
            if first not in ("wie", "as"):
                rest = seg[len(first) :].strip()
                if rest.split()[:1] and rest.split()[0].lower() in tx.PRONOUNS and earlier:
                    claimant, role = earlier[-1].claim.claimant, earlier[-1].claim.claimant_role
                else:
                    return None
            else:
                return None
        elif lang == "en" and (
            en := re.compile(r"\s+((?:[a-z]+\s+){0,3}?)((?:[A-Z][\w'’-]+\s*){1,4})").match(
                s, verb_end
            )
        ):
            claimant = en.group(2).strip()
            role = en.group(1).strip() or None
            if role and role.split()[0] in tx.ARTICLES:
                role = " ".join(role.split()[1:]) or None
            subject_end = en.end(2)
        else:
            np = tx.noun_phrase(s, verb_end, names=False)
            if np is None or np.text.split()[0].lower() in tx.PRONOUNS:
                return None
            if np.start - verb_end > 2:
                return None
            claimant, role = tx.split_role(np.text)
            subject_end = np.end
            app2 = re.compile(r",\s*([^,]+?),").match(s, np.end)
            if app2 and tx.ROLE_RE.search(app2.group(1)):
                role = tx.clean_name(app2.group(1))
                subject_end = app2.end()
    if claimant is None or _NEGATION.search(s[clause_start:c_start]):
        return None
    msg_start = max(c_end, subject_end)
    after = s[msg_start:]
    lead = re.match(r"[\s,:]*", after)
    body_start = msg_start + (lead.end() if lead else 0)
    body = s[body_start:]
    if body[:1] in _OPEN_CLOSE:
        quote = _whole_quote(body, prefix=True)
        if quote:
            return make(claimant, role, cue, quote[0],
                        (body_start + quote[1][0], body_start + quote[1][1]), True)  # fmt: skip
    colon = re.match(r"[^,:„“\"»«]{0,60}:\s*", body)
    if colon:
        quote = _whole_quote(body[colon.end() :])
        if quote:
            q0 = body_start + colon.end()
            return make(claimant, role, cue, quote[0], (q0 + quote[1][0], q0 + quote[1][1]), True)
    end = len(s)
    if next_start < len(s) and next_start > body_start:
        cut = max((m.start() for m in re.finditer(r",|\bund\b|\band\b", s[:next_start])),
                  default=next_start)  # fmt: skip
        end = cut if cut > body_start else next_start
    message = s[body_start:end]
    that = re.match(r".{0,40}?\b(dass|that)\b", message)
    if that:
        message = message[that.start(1) :]
        body_start += that.start(1)
    elif len(message.split()) <= 4 and end == len(s):
        # trailing cue: '„…“, sagte Söder in Passau.' / '…, officials said on Wednesday.'
        lead_text = s[: min(subject_start, c_start)].rstrip(" ,")
        quote = _whole_quote(lead_text)
        if quote:
            return make(claimant, role, cue, quote[0], quote[1], True)
        if lead_text:
            return make(claimant, role, cue, lead_text, (0, len(lead_text)), False)
    if not message.strip(" .,;"):
        return None
    return make(claimant, role, cue, message.rstrip(" .!?"), (body_start, end), False)


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
