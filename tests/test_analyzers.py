from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractor.analyzers import analyze, find_claims, find_events, find_figures
from extractor.analyzers.text import sentences
from extractor.records import EventType, Grounding

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data" / "analyzers"
EXPECTED = json.loads((DATA / "expected.json").read_text(encoding="utf-8"))["texts"]
CUES = json.loads((DATA / "cues.json").read_text(encoding="utf-8"))["cases"]


def _load(path: str) -> tuple[str, str]:
    return (ROOT / path).read_text(encoding="utf-8"), EXPECTED[path]["language"]


@pytest.fixture(scope="module", params=sorted(EXPECTED), ids=lambda p: Path(p).name)
def article(request: pytest.FixtureRequest) -> tuple[str, dict, object]:
    text, language = _load(request.param)
    return text, EXPECTED[request.param], analyze(text, language)


def test_every_record_is_grounded_exactly(article: tuple) -> None:
    text, _expected, result = article
    records = result.all_records()
    assert records
    for record in records:
        assert record.grounding == Grounding.EXACT
        assert record.span is not None
        assert text[record.span[0] : record.span[1]] == record.evidence


def test_expected_figures_are_found(article: tuple) -> None:
    _text, expected, result = article
    for want in expected["figures"]:
        matches = [
            f
            for f in result.figures
            if f.value == pytest.approx(want["value"])
            and all(
                getattr(f, k) == v or getattr(getattr(f, k), "value", None) == v
                for k, v in want.items()
                if k != "value"
            )
        ]
        assert matches, f"no figure like {want}"


def test_figure_value_appears_in_its_evidence(article: tuple) -> None:
    from extractor.numbers import values_in

    _text, expected, result = article
    for f in result.figures:
        assert f.value in values_in(f.evidence, expected["language"])
        assert f.value not in expected["no_figure_values"]


def test_expected_claims_are_found(article: tuple) -> None:
    _text, expected, result = article
    for want in expected["claims"]:
        matches = [
            c
            for c in result.claims
            if c.cue.lower() == want["cue"]
            and c.claimant == want["claimant"]
            and all(
                getattr(getattr(c, k), "value", getattr(c, k)) == v
                for k, v in want.items()
                if k not in ("cue", "claimant")
            )
        ]
        assert matches, f"no claim like {want}; got {[(c.cue, c.claimant) for c in result.claims]}"


def test_events_have_expected_and_only_allowed_types(article: tuple) -> None:
    _text, expected, result = article
    types = {e.event_type.value for e in result.events}
    assert set(expected["events"]["include"]) <= types
    assert types <= set(expected["events"]["allowed"])


def test_seed_004_assault_and_mobilize_details() -> None:
    text, language = _load("seeds/004_8a3114eecaafb72d.txt")
    events = find_events(text, language)
    assault = [e for e in events if e.event_type == EventType.ASSAULT]
    assert any(e.actors == ["ukrainische Armee"] and e.location == "Kursk" for e in assault)
    mobilize = [e for e in events if e.event_type == EventType.MOBILIZE]
    assert any(e.actors == ["Pjöngjang"] and e.magnitude.size == 12000 for e in mobilize)
    consult = [e for e in events if e.event_type == EventType.CONSULT]
    assert any(e.actors == ["Putin"] and e.recipients == ["Choe Son-hui"] for e in consult)


def test_claim_messages_on_seed_004() -> None:
    text, language = _load("seeds/004_8a3114eecaafb72d.txt")
    claims = {c.claimant: c for c in find_claims(text, language)}
    assert claims["Andrij Kowalenko"].message.startswith("Die ersten nordkoreanischen Soldaten")
    assert claims["Geheimdienst"].message.startswith("Der Krieg wird in Form")
    assert claims["António Guterres"].message.startswith("dass der Einsatz")


@pytest.mark.parametrize("case", CUES, ids=[c["cue"] for c in CUES])
def test_each_cue(case: dict) -> None:
    claims = find_claims(case["text"], case["language"])
    match = [c for c in claims if c.cue.lower() == case["cue"]]
    assert match, f"cue {case['cue']!r} not found in {[c.cue for c in claims]}"
    claim = match[0]
    assert claim.claimant == case["claimant"]
    for key in ("claimant_role", "speech", "hedging", "message"):
        if key in case:
            assert getattr(getattr(claim, key), "value", getattr(claim, key)) == case[key], key
    assert case["text"][claim.span[0] : claim.span[1]] == claim.evidence


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Russland könnte die Ukraine angreifen.", "de"),
        ("Die Armee hat die Stadt nicht angegriffen.", "de"),
        ("Greift Russland Kiew an?", "de"),
        ("Selenskyj warnte vor einer möglichen Entsendung weiterer Truppen.", "de"),
        ("Die Truppen haben mit dem Gelände zu kämpfen.", "de"),
        ("Russia could attack Kyiv, officials fear.", "en"),
        ("Police arrested no one.", "en"),
        ("Der Bürgermeister eröffnete eine neue Schule.", "de"),
    ],
)
def test_no_event_from_negated_hypothetical_or_missing_trigger(text: str, language: str) -> None:
    assert find_events(text, language) == []


def test_noun_governed_by_request_is_not_its_own_event() -> None:
    events = find_events("Die EU forderte neue Sanktionen gegen Russland.", "de")
    assert [e.event_type for e in events] == [EventType.REQUEST]


def test_event_date_is_resolved_from_the_clause() -> None:
    text, language = _load("tests/data/analyzers/de_unseen.txt")
    consult = [e for e in find_events(text, language) if e.event_type == EventType.CONSULT]
    assert consult[0].date == "2024-06-03"
    assert consult[0].location == "Reichertshofen"


def test_figures_skip_years_dates_and_ordinals() -> None:
    text = "Am 3. Oktober 2024 griffen zum ersten Mal 300 Soldaten an, wie 2023 schon 200."
    assert [f.value for f in find_figures(text, "de")] == [300.0, 200.0]


def test_sentences_keep_abbreviations_and_ordinals_together() -> None:
    text = "Es kamen ca. 500 Menschen, z. B. aus Kiew. Am 3. Oktober begann die 2. Welle. Ende."
    assert [s.text for s in sentences(text)] == [
        "Es kamen ca. 500 Menschen, z. B. aus Kiew.",
        "Am 3. Oktober begann die 2. Welle.",
        "Ende.",
    ]
    for s in sentences(text):
        assert text[s.start : s.end] == s.text


def test_empty_and_numberless_text() -> None:
    assert analyze("").all_records() == []
    assert analyze("Es regnet.", "de").all_records() == []


@pytest.mark.parametrize(
    ("text", "language", "types"),
    [
        ("Up to 900 dock workers began a hunger strike on Monday.", "en", ["PROTEST"]),
        ("Oslo says it will not accept the proposed border change.", "en", ["REJECT"]),
        ("The union rejected an offer for direct talks with the owners.", "en", ["REJECT"]),
        ("Police arrested 12 protesters outside the town hall.", "en", ["COERCE"]),
        ("The minister will resign at the end of the month.", "en", ["RETREAT"]),
        ("Die Beschäftigten legten mit einem Warnstreik den Hafen lahm.", "de", ["PROTEST"]),
    ],
)
def test_event_types_from_general_triggers(text: str, language: str, types: list[str]) -> None:
    """The first event word of an English sentence governs the rest ("rejected an offer for
    talks" is no CONSULT); REJECT keeps its negation."""
    assert [e.event_type.value for e in find_events(text, language)] == types


def test_floods_kill_but_nobody_assaults() -> None:
    assert find_events("At least 14 people were killed in the floods.", "en") == []


# --- one reading per article: what the analyzers share, and the shortcuts they take ------------

SEED_TEXTS = [(ROOT / p).read_text(encoding="utf-8") for p in sorted(EXPECTED)]
#: NFD umlauts (letter + combining mark), hyphenated names and a number glued to a word
TRICKY = (
    "Die Bu\u0308rgermeisterin von Gro\u00df-Gerau, Ana-Mari\u0301a O\u0308zdemir, sagte am "
    "Mo\u0308ntag: „Es gab 3er-Gruppen.“ Der Vize-Pra\u0308sident -erkla\u0308rte, laut "
    "Polizei-Angaben seien 12 Menschen verletzt; Minister_in, SPRECHER und Regierungssprecher "
    "a--b x- y 7-fach."
)


def test_each_sentence_is_read_for_prepositional_cues_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Claims and figures share one reading of "laut X" per sentence (figures used to read
    every sentence with a quantity again)."""
    from extractor.analyzers import claims

    calls: list[str] = []
    read = claims._prepositional

    def counted(s: str, lang: str) -> list:
        calls.append(s)
        return read(s, lang)

    monkeypatch.setattr(claims, "_prepositional", counted)
    text = SEED_TEXTS[1]
    result = analyze(text, "de")
    assert result.figures and any(f.attributed_to for f in result.figures)
    assert calls and len(calls) <= len(sentences(text))


def test_attribution_in_a_document_is_the_attribution_of_its_sentence() -> None:
    from extractor.analyzers import claims
    from extractor.analyzers.text import document

    for text in [*SEED_TEXTS, TRICKY]:
        doc = document(text, "de")
        found = [claims.attribution_in(doc, s) for s in doc.sentences]
        assert found == [claims.attribution(s.text, "de") for s in doc.sentences]
        assert any(found)


def test_role_words_are_found_a_word_at_a_time_as_in_the_whole_phrase() -> None:
    from extractor.analyzers.text import ROLE_RE, has_role, sentences

    phrases = [s.text for t in [*SEED_TEXTS, TRICKY] for s in sentences(t)]
    phrases += ["Verteidigungsminister Kim", "PRÄSIDENT", "die Sprecherin", "Herr Müller", ""]
    assert [has_role(p) for p in phrases] == [bool(ROLE_RE.search(p)) for p in phrases]
    assert any(has_role(p) for p in phrases) and not all(has_role(p) for p in phrases)


def test_clause_starts_are_just_past_the_last_separator() -> None:
    import re

    from extractor.analyzers import claims
    from extractor.analyzers.text import clause_bounds, sentences

    for s in (s.text for t in [*SEED_TEXTS, TRICKY] for s in sentences(t)):
        for pos in range(0, len(s) + 1, 7):
            want = max((m.end() for m in re.finditer(r"[,;:]", s[:pos])), default=0)
            assert claims._clause_start(s, pos) == want
            left = max((m.end() for m in re.finditer(r"[,;:–—(]", s[:pos])), default=0)
            assert clause_bounds(s, pos)[0] == left


def test_letter_runs_tokenise_as_single_letters_do() -> None:
    import re

    from extractor.analyzers import claims
    from extractor.analyzers.text import LETTER

    by_letter = re.compile(rf"(?:{LETTER})+(?:-(?:{LETTER})+)*")
    for text in [*SEED_TEXTS, TRICKY]:
        got = [m.span() for m in claims._WORD_RE.finditer(text)]
        assert got == [m.span() for m in by_letter.finditer(text)]
    assert "Bu\u0308rgermeisterin" in claims._WORD_RE.findall(TRICKY)


def test_vocabulary_judges_each_word_once_and_finds_cue_words() -> None:
    from extractor.analyzers import claims

    vocabulary = claims._Vocabulary()
    assert vocabulary.has_cue(["Der", "Minister", "erklärte", "gestern"])
    assert not vocabulary.has_cue(["Der", "Minister", "schlief"])
    assert vocabulary.cues == {"erklärte"}
    assert vocabulary.judged == {"Der", "Minister", "erklärte", "gestern", "schlief"}
    assert not vocabulary.has_cue([])


def test_owner_pattern_is_searched_only_where_it_can_match() -> None:
    from extractor.analyzers import figures
    from extractor.numbers import find_numbers

    windows = ["Kosten von ", "the cost of ", "ein Schaden in Höhe von\n", "Kosten von", "3 von 5"]
    for text in [*SEED_TEXTS, TRICKY]:
        windows += [text[max(0, m.start - 60) : m.start] for m in find_numbers(text, "de")]
    matched = [w for w in windows if figures._OWNER_RE.search(w)]
    assert matched and all(figures._may_own(w) for w in matched)
    assert not figures._may_own("Kosten von") and not figures._may_own("")


def test_prepositional_hint_fires_where_a_cue_word_stands() -> None:
    import re

    from extractor.analyzers import claims
    from extractor.analyzers.text import sentences

    plain = re.compile(r"[Ll]aut|[Nn]ach|zufolge|\bso\b|[Aa]ccording")
    texts = [s.text for t in [*SEED_TEXTS, TRICKY] for s in sentences(t)]
    texts += ["so", "So", "also so.", "Espresso", "so-so", "„so“", "so_", "_so", "Laut", ""]
    found = [bool(claims._PREPOSITIONAL_HINT.search(t)) for t in texts]
    assert found == [bool(plain.search(t)) for t in texts]
    assert any(found) and not all(found)


@pytest.mark.parametrize(
    "text",
    [
        "Die Stadtverwaltung bedauerte die Verzögerung beim Bau der neuen Brücke.",
        "Der Verein beschrieb die Pläne des Vorstands für das kommende Jahr.",
        "Die Kommission erläuterte das Verfahren, das im Herbst beginnen soll.",
    ],
)
def test_german_verb_with_a_plain_object_is_no_claim(text: str) -> None:
    assert find_claims(text, "de") == []


@pytest.mark.parametrize(
    ("text", "cue", "claimant", "message"),
    [
        (
            "„Wir bleiben hier“, erklärte Anna Becker bei der Versammlung der Mieter.",
            "erklärte",
            "Anna Becker",
            "Wir bleiben hier",
        ),
        (
            "Die Bürgermeisterin sagte am Dienstag in Kassel, der Haushalt sei ausgeglichen.",
            "sagte",
            "Bürgermeisterin",
            "der Haushalt sei ausgeglichen",
        ),
        (
            "Der Trainer sagte dem Sender, das sei ein verdienter Sieg gewesen.",
            "sagte",
            "Trainer",
            "das sei ein verdienter Sieg gewesen",
        ),
        ("Der Bäckerverband kritisierte die neue Abgabe.", "kritisierte", "Bäckerverband", None),
    ],
)
def test_german_reported_clause_after_adverbials(
    text: str, cue: str, claimant: str, message: str | None
) -> None:
    claims = find_claims(text, "de")
    assert [(c.cue, c.claimant) for c in claims] == [(cue, claimant)]
    if message is not None:
        assert claims[0].message.endswith(message)


@pytest.mark.parametrize(
    ("text", "cue", "claimant"),
    [
        ("Die Forscher glauben, dass der Fund aus der Römerzeit stammt.", "glauben", "Forscher"),
        ("Der Stadtrat beschloss, die Bibliothek länger zu öffnen.", "beschloss", "Stadtrat"),
        ("Die Richterin fragte, ob der Zeuge den Wagen gesehen habe.", "fragte", "Richterin"),
        ("Der Verband fürchtet, die Preise könnten weiter steigen.", "fürchtet", "Verband"),
    ],
)
def test_verbs_of_thought_and_decision_with_a_clause(text: str, cue: str, claimant: str) -> None:
    assert [(c.cue, c.claimant) for c in find_claims(text, "de")] == [(cue, claimant)]


@pytest.mark.parametrize(
    "text",
    [
        "Die geschätzten Kolleginnen des Vereins kamen am Abend zur Versammlung.",
        "Der Stadtrat hofft auf besseres Wetter für das Fest.",
        "In der Nacht forderte der Sturm zwei Verletzte.",
    ],
)
def test_thought_verbs_without_a_clause_and_participles_are_no_claims(text: str) -> None:
    assert find_claims(text, "de") == []


@pytest.mark.parametrize(
    ("text", "cue", "claimant", "message"),
    [
        (
            "Aus Brüssel hieß es, die Gespräche würden fortgesetzt.",
            "hieß es",
            "Brüssel",
            "die Gespräche würden fortgesetzt",
        ),
        (
            "„Wir sind bereit“, heißt es in einer Mitteilung der Gewerkschaft.",
            "heißt es",
            "Mitteilung der Gewerkschaft",
            "Wir sind bereit",
        ),
        (
            "Die Straße bleibt gemäß einem Sprecher der Stadt bis Freitag gesperrt.",
            "gemäß",
            "Sprecher der Stadt",
            None,
        ),
        (
            "Zeitungsberichten zufolge soll das Theater im Frühjahr schließen.",
            "zufolge",
            "Zeitung",
            None,
        ),
        (
            "Der Bürgermeister hält den Plan seiner Ansicht nach für gescheitert.",
            "seiner Ansicht nach",
            "Bürgermeister",
            None,
        ),
        (
            "Die Trainerin wird mit den Worten zitiert: „Wir haben verdient gewonnen.“",
            "wird zitiert",
            "Trainerin",
            "Wir haben verdient gewonnen",
        ),
        (
            "„Der Zug fällt aus“, sagte das Verkehrsunternehmen am Morgen.",
            "sagte",
            "Verkehrsunternehmen",
            "Der Zug fällt aus",
        ),
    ],
)
def test_german_reporting_constructions(
    text: str, cue: str, claimant: str, message: str | None
) -> None:
    claims = [c for c in find_claims(text, "de") if c.cue == cue]
    assert [c.claimant for c in claims] == [claimant]
    if message is not None:
        assert claims[0].message == message


@pytest.mark.parametrize(
    "text",
    [
        "Gemäß der neuen Regelung dürfen Hunde mit in den Park.",
        "Im Juli hieß es noch, der Bau beginne bald.",
        "Berichten zufolge soll das Theater schließen.",
    ],
)
def test_constructions_without_a_source_are_no_claims(text: str) -> None:
    assert find_claims(text, "de") == []


def test_demonstrative_cue_reports_the_sentence_before() -> None:
    text = "Der Bahnhof bleibt bis Montag geschlossen. Dies teilte die Stadtverwaltung mit."
    (claim,) = find_claims(text, "de")
    assert (claim.cue, claim.claimant) == ("teilte mit", "Stadtverwaltung")
    assert claim.message == "Der Bahnhof bleibt bis Montag geschlossen"
    assert claim.span is not None and text[claim.span[0] : claim.span[1]] == claim.evidence
    assert claim.evidence == text


def test_lauten_with_a_quotation_names_the_document() -> None:
    (claim,) = find_claims("Die Antwort des Ministers lautete: „Dafür gibt es kein Geld.“", "de")
    assert (claim.cue, claim.claimant, claim.message) == (
        "lautete",
        "Antwort des Ministers",
        "Dafür gibt es kein Geld",
    )


@pytest.mark.parametrize(
    ("text", "cue", "claimant"),
    [
        ("Die Grenze bleibt nach Meinung Moskaus vorerst geschlossen.", "nach Meinung", "Moskau"),
        ("Nach Angaben aus Kiew wurden drei Brücken zerstört.", "Nach Angaben", "Kiew"),
        (
            "Die Sitzung endete, zumal der Verteidiger betont hatte, sein Mandant sei krank.",
            "betont hatte",
            "Verteidiger",
        ),
    ],
)
def test_genitive_sources_and_subordinate_speakers(text: str, cue: str, claimant: str) -> None:
    assert [(c.cue, c.claimant) for c in find_claims(text, "de")] == [(cue, claimant)]


def test_subordinate_cue_before_a_main_clause_is_no_claim() -> None:
    assert find_claims("Nachdem die Polizei gemeldet hatte, kam der Rettungswagen.", "de") == []


@pytest.mark.parametrize(
    ("text", "cue", "claimant"),
    [
        ("Der Händler bot an, die Ware am Montag zu liefern.", "bot an", "Händler"),
        ("Der Verein erwägt, gegen das Urteil vorzugehen.", "erwägt", "Verein"),
    ],
)
def test_offers_and_intentions_with_a_zu_infinitive(text: str, cue: str, claimant: str) -> None:
    assert [(c.cue, c.claimant) for c in find_claims(text, "de")] == [(cue, claimant)]


@pytest.mark.parametrize(
    "text",
    [
        "Die Stadt erklärte den Notstand, weil der Fluss weiter stieg.",
        "Der Vermieter bot eine Wohnung an, da er bald umzieht.",
        "Die Hilfsorganisation erklärte einen Korridor, um Hilfe ins Land zu bringen.",
        "Die Künstlerin sah die Chance, die im Radio lag, und beschrieb neue Sendungen.",
        "Der Zeuge weigerte sich, den Namen anzugeben, und ging.",
    ],
)
def test_clauses_of_reason_purpose_and_coordination_are_no_messages(text: str) -> None:
    assert find_claims(text, "de") == []


@pytest.mark.parametrize(
    ("text", "cue", "claimant", "message"),
    [
        (
            "Der Verein hat am Montag bekannt gegeben, dass der Trainer bleibt.",
            "hat bekannt gegeben",
            "Verein",
            "dass der Trainer bleibt",
        ),
        (
            "Die Ministerin verweist darauf, dass sie sich nicht äußern dürfe.",
            "verweist",
            "Ministerin",
            "dass sie sich nicht äußern dürfe",
        ),
        (
            "Der Sprecher erklärte, damit solle ein Streit vermieden werden.",
            "erklärte",
            "Sprecher",
            "damit solle ein Streit vermieden werden",
        ),
    ],
)
def test_particle_apart_inner_cue_and_adverb_after_comma(
    text: str, cue: str, claimant: str, message: str
) -> None:
    claims = find_claims(text, "de")
    assert [(c.cue, c.claimant, c.message) for c in claims][:1] == [(cue, claimant, message)]


def test_elided_subject_after_und_is_the_sentence_subject() -> None:
    text = "Der Minister besuchte am Montag die Stadt und sagte, die Hilfe komme bald."
    assert [(c.cue, c.claimant) for c in find_claims(text, "de")] == [("sagte", "Minister")]
