"""Grounding: where a quote is, how it was found, and that a near match says the same thing."""

from __future__ import annotations

import json
import re
import string

import pytest
from conftest import DATA, SEEDS
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from extractor import Grounding, extract
from extractor.cleaning import clean
from extractor.grounding import Aligner, Grounder, disagreement
from extractor.numbers import parse_number
from extractor.output import Summary
from extractor.records import ArticleResult, ExtractionDraft, Figure
from extractor.textnorm import fold

SEED_000 = (SEEDS / "000_bc9a927a736966c8.txt").read_text(encoding="utf-8")
TROOPS = (DATA / "grounding" / "troops_de.txt").read_text(encoding="utf-8")
CONVOY = (DATA / "grounding" / "convoy_en.txt").read_text(encoding="utf-8")
ALTERED = json.loads((DATA / "grounding" / "answer_altered.json").read_text(encoding="utf-8"))


def found(text: str, quote: str, language: str | None = "de") -> str | None:
    span = Aligner(text, language=language).align(quote).span
    return None if span is None else text[span[0] : span[1]]


# --- spans: exact, normalised, fuzzy ------------------------------------------------------------


def test_exact_and_normalized_hits() -> None:
    quote = "so der ukrainische Präsident Wolodymyr Selenskyj."
    assert Aligner(SEED_000).align(quote).grounding == Grounding.EXACT
    result = Aligner(SEED_000).align("SO  DER ukrainische Präsident")
    assert result.grounding == Grounding.NORMALIZED
    assert SEED_000[result.span[0] : result.span[1]] == "so der ukrainische Präsident"


def test_normalized_hit_prefers_a_whole_word() -> None:
    text = "Die Kurskaja-Straße liegt nicht in Kursk."
    result = Aligner(text).align("KURSK")
    assert text[result.span[0] : result.span[1]] == "Kursk"


@pytest.mark.parametrize(
    ("quote", "article_text"),
    [
        # one interior word dropped: the span still covers it, and only the quote's words
        (
            "in der Region Donezk und sind nach Angaben nur noch wenige Kilometer",
            "in der Region Donezk und sind nach ukrainischen Angaben nur noch wenige Kilometer",
        ),
        # the old aligner ended this span at "nordkoreanischen", leaving out "Soldaten"
        (
            "Inmitten der Kampfhandlungen versuchte Russland, die Verluste der Soldaten",
            "Inmitten der Kampfhandlungen versuchte Russland, die Verluste der nordkoreanischen "
            "Soldaten",
        ),
        # the old aligner's span began with a space and stopped before "Präsident"
        (
            "die Verluste der nordkoreanischen Soldaten zu verschleiern so der Präsident",
            "die Verluste der nordkoreanischen Soldaten zu verschleiern, so der ukrainische "
            "Präsident",
        ),
        # a misspelt word inside (not a capitalised one: that would be a changed name); the
        # quote's closing punctuation is taken in
        (
            "Auch Kommunikationsprobleme aufgrund der Sprachbarrieren fürten zu schweren Fehlern,",
            "Auch Kommunikationsprobleme aufgrund der Sprachbarrieren führten zu schweren Fehlern,",
        ),
        # a dropped word, and "zu" after the quote's last word stays out
        (
            "Inmitten der Kampfhandlungen versuchte Russland, die Verluste der Soldaten zu",
            "Inmitten der Kampfhandlungen versuchte Russland, die Verluste der nordkoreanischen "
            "Soldaten zu",
        ),
        (
            "Auch Kommunikationsprobleme aufgrund der Sprachbarrieren führten schweren Fehlern",
            "Auch Kommunikationsprobleme aufgrund der Sprachbarrieren führten zu schweren Fehlern",
        ),
    ],
)
def test_fuzzy_span_is_exactly_the_quoted_words(quote: str, article_text: str) -> None:
    result = Aligner(SEED_000, language="de").align(quote)
    assert result.grounding == Grounding.FUZZY
    assert SEED_000[result.span[0] : result.span[1]] == article_text


def test_fuzzy_search_stays_in_the_window() -> None:
    quote = "in der Region Donezk und sind nach Angaben nur noch wenige Kilometer"
    at = SEED_000.index("in der Region Donezk")
    aligner = Aligner(SEED_000, language="de")
    assert aligner.align(quote, window=(at - 50, len(SEED_000))).span is not None
    assert aligner.align(quote, window=(0, at - 50)).grounding == Grounding.NOT_FOUND


def test_short_or_unrelated_quotes_are_not_found() -> None:
    aligner = Aligner(SEED_000, language="de")
    assert aligner.align("Panzer").grounding == Grounding.NOT_FOUND  # too short for fuzzy
    assert aligner.align("   ").grounding == Grounding.NOT_FOUND
    unrelated = aligner.align("Die Bundesregierung beschloss ein neues Heizungsgesetz für 2026")
    assert unrelated.grounding == Grounding.NOT_FOUND and unrelated.problem is None


# --- a near match must not change a number, a negation or a name ---------------------------------


@pytest.mark.parametrize(
    ("text", "quote", "problem"),
    [
        (TROOPS, "Die Bundeswehr verlegt 3000 Soldaten nach Litauen.", "a number differs"),
        (TROOPS, "Die Bundeswehr verlegt 30 Soldaten nach Litauen.", "a number differs"),
        (
            TROOPS,
            "die Brigade werde bis 2027 nicht vollständig einsatzbereit sein",
            "a negation differs",
        ),
        (
            TROOPS,
            "eine langfristige Entscheidung und eine Reaktion auf einen konkreten Vorfall",
            "a negation differs",
        ),
        (
            TROOPS,
            "Verteidigungsminister Olaf Pistorius sagte am Montag in Vilnius",
            "a name differs",
        ),
        (SEED_000, "was zu geschätzten 2000 Verlusten auf russischer Seite führte", "a number"),
        (SEED_000, "darunter drei getötete oder verwundete Nordkoreaner", "a number differs"),
        (CONVOY, "Officials did confirm how many soldiers were on board.", "a negation differs"),
        (CONVOY, "Officials didn't confirm how many soldiers were on board.", "a negation"),
        (CONVOY, "Defence Minister Anna Bergmann said the operation had been planned", "a name"),
        (CONVOY, "and 12,000 vehicles were checked at the crossing", "a number differs"),
    ],
)
def test_altered_quote_is_refused(text: str, quote: str, problem: str) -> None:
    language = "en" if text is CONVOY else "de"
    result = Aligner(text, language=language).align(quote)
    assert result.span is None and result.grounding == Grounding.NOT_FOUND
    assert result.problem is not None and result.problem.startswith(problem)


def test_reformatted_number_and_dropped_plain_word_still_agree() -> None:
    reformatted = ("kündigte an, 2000 Wohnungen zu bauen", "kündigte an, 2.000 Wohnungen zu bauen")
    assert disagreement(*reformatted, "de") is None
    assert disagreement("Pistorius sagte", "Pistorius sagte am Montag", "de") is None
    assert disagreement("sagte Pistorius", "sagte Boris Pistorius", "de") is None
    assert disagreement("Pistorius traf Berg", "Berg traf Pistorius", "de") is not None


# --- the Grounder: evidence is the article's text; altered quotes are flagged and dropped --------


def grounded_troops() -> list[Figure]:
    cleaned = clean(TROOPS)
    draft = ExtractionDraft.model_validate(ALTERED)
    extraction = Grounder(TROOPS, cleaned, "de").merge([(draft, (0, len(cleaned.text)))])
    return extraction.all_records()


def test_altered_quotes_are_flagged_not_grounded() -> None:
    event, changed_negation, changed_name, soldiers, _ = grounded_troops()
    for record, problem in [
        (event, "a number differs"),
        (soldiers, "a number differs"),
        (changed_negation, "a negation differs"),
        (changed_name, "a name differs"),
    ]:
        assert record.grounding == Grounding.NOT_FOUND and record.span is None
        assert f"ungrounded: {problem}" in " ".join(record.flags)
        assert record.quote is None  # nothing to compare the quote with
    assert soldiers.value == 3000  # no article text to correct it from: left, but flagged


def test_evidence_is_the_article_text_and_the_value_is_checked_against_it() -> None:
    homes = grounded_troops()[-1]
    assert homes.grounding == Grounding.FUZZY
    assert homes.evidence == TROOPS[homes.span[0] : homes.span[1]]
    assert homes.evidence == "kündigte an, 2.000 Wohnungen für die Familien der Soldaten zu bauen"
    assert homes.quote == ALTERED["figures"][1]["evidence"]
    assert homes.value == 2000
    assert "value_mismatch: model said 20000, evidence says 2000" in homes.flags


@pytest.mark.parametrize(
    ("text", "value", "quote", "expected", "flag"),
    [
        # the span holds the number: looked up in the whole text's scan, agrees
        ("Es kamen 200 bis 300 Soldaten in die Stadt.", 300, "200 bis 300 Soldaten", 300, None),
        ("Laut Kiew kamen 11.000 Soldaten.", 11000, "11.000 Soldaten", 11000, None),
        # a range's other bound lies outside the quote: the quote alone decides
        ("Es kamen 200 bis 300 Soldaten in die Stadt.", 200, "300 Soldaten", 300,
         "value_mismatch: model said 200, evidence says 300"),
        # a quote with no digit of the number it cuts into
        ("Preis: 5 % mehr als 2023.", 5, "% mehr", 5, "value_not_in_evidence"),
    ],
)  # fmt: skip
def test_a_figure_value_agrees_only_with_numbers_inside_its_quote(
    text: str, value: float, quote: str, expected: float, flag: str | None
) -> None:
    cleaned = clean(text)
    draft = ExtractionDraft.model_validate(
        {"figures": [{"text": str(value), "value": value, "measured": "x", "evidence": quote}]}
    )
    (figure,) = Grounder(text, cleaned, "de").merge([(draft, (0, len(text)))]).figures
    assert figure.grounding == Grounding.EXACT
    assert figure.value == expected
    assert figure.flags == ([flag] if flag else [])


def test_evidence_keeps_the_markup_inside_its_span_and_reads_back() -> None:
    original = "Die Armee hat <script>" + "x" * 1000 + "</script>zum ersten Mal angegriffen."
    cleaned = clean(original)
    quote = "Die Armee hat zum ersten Mal angegriffen."
    assert cleaned.text == quote
    draft = ExtractionDraft.model_validate(
        {"figures": [{"text": "ersten", "measured": "Angriffe", "evidence": quote}]}
    )
    (figure,) = Grounder(original, cleaned, "de").merge([(draft, (0, len(quote)))]).figures
    assert figure.grounding == Grounding.NORMALIZED
    assert figure.evidence == original and figure.quote == quote
    line = ArticleResult(article_id="a", model="m", figures=[figure]).model_dump_json()
    assert ArticleResult.model_validate_json(line).figures[0].evidence == original


def test_quote_is_left_out_of_the_output_when_it_equals_the_evidence() -> None:
    figure = Figure(text="300", value=300, measured="Soldaten", evidence="300 Soldaten")
    assert "quote" not in figure.model_dump()
    assert "quote" not in json.loads(figure.model_dump_json())
    figure.quote = "300 Soldaten!"
    assert figure.model_dump()["quote"] == "300 Soldaten!"


def test_altered_quotes_are_dropped_and_not_counted_as_grounded(fake) -> None:
    content = json.dumps(ALTERED)
    with fake({"content": content}, {"content": content}) as server:
        options = {"base_url": server.base_url, "use_cache": False, "language": "de"}
        kept = extract(TROOPS, "openai:test-model", **options)
        dropped = extract(TROOPS, "openai:test-model", drop_ungrounded=True, **options)
    assert [r.grounding for r in kept.all_records()].count(Grounding.NOT_FOUND) == 4
    assert [f.text for f in dropped.figures] == ["2.000"]
    assert dropped.events == [] and dropped.claims == []
    summary = Summary()
    summary.add(ArticleResult(article_id="troops", model="test", **kept.model_dump()))
    assert summary.grounded == 1


# --- properties ------------------------------------------------------------------------------

_LETTERS = string.ascii_letters + "äöüÄÖÜß"
_CHARS = _LETTERS + string.digits + " \n\t\xa0.,;:!?-–—„“”‚‘’'\"()\u00ad"


def _perturbed(quote: str, how: int) -> str:
    """The same quote as a model might write it: other case, spacing, quotes and dashes."""
    if how == 1:
        return quote.upper()
    if how == 2:
        return " ".join(quote.split())
    if how == 3:
        return quote.replace("„", '"').replace("“", '"').replace("–", "-").replace("’", "'")
    return quote


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=_CHARS, min_size=1, max_size=300), st.data())
def test_found_span_folds_to_the_quote(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    quote = _perturbed(text[start:end], data.draw(st.integers(0, 3)))
    assume(fold(quote).text)
    result = Aligner(text).align(quote)
    assert result.span is not None, (text, quote)
    assert fold(text[result.span[0] : result.span[1]]).text == fold(quote).text


# distinct words of a seed article, none a number word or a negation, in random order
_VOCABULARY = sorted(
    {
        fold(w).text: w
        for w in re.findall(r"[^\W\d_]{2,}", SEED_000)
        if disagreement(w.lower(), "", "de") is None
    }.values()
)
_SEPARATORS = st.sampled_from([" ", " ", " ", ", ", ". ", "\n\n", " – "])


_UNIQUE_WORDS = st.builds(
    lambda words, n: words[:n], st.permutations(_VOCABULARY), st.integers(25, 60)
)


def _text_of(words: list[str], data: st.DataObject) -> tuple[str, list[int]]:
    """The words joined by random separators, and where each word starts."""
    seps = data.draw(st.lists(_SEPARATORS, min_size=len(words), max_size=len(words)))
    starts, parts, pos = [], [], 0
    for word, sep in zip(words, seps, strict=True):
        starts.append(pos)
        parts.append(word + sep)
        pos += len(word) + len(sep)
    return "".join(parts), starts


@settings(max_examples=100, deadline=None)
@given(_UNIQUE_WORDS, st.data())
def test_quote_with_a_dropped_word_is_found_at_its_passage(
    words: list[str], data: st.DataObject
) -> None:
    text, starts = _text_of(words, data)
    n = data.draw(st.integers(8, 20))
    first = data.draw(st.integers(0, len(words) - n))
    drop = data.draw(st.integers(first + 1, first + n - 2))
    quote = " ".join(words[i] for i in range(first, first + n) if i != drop)
    passage = text[starts[first] : starts[first + n - 1] + len(words[first + n - 1])]
    result = Aligner(text, language="de").align(quote)
    assert result.grounding == Grounding.FUZZY
    assert text[result.span[0] : result.span[1]] == passage


@settings(max_examples=100, deadline=None)
@given(_UNIQUE_WORDS, st.data(), st.sampled_from(["number", "negation"]))
def test_quote_that_changes_a_number_or_adds_a_negation_is_refused(
    words: list[str], data: st.DataObject, change: str
) -> None:
    n = data.draw(st.integers(8, 20))
    first = data.draw(st.integers(0, len(words) - n))
    at = data.draw(st.integers(first + 1, first + n - 2))
    quoted = words[first : first + n]
    if change == "number":
        count = data.draw(st.integers(2, 99_999))
        words = [*words[:at], str(count), *words[at:]]
        quoted.insert(at - first, str(count * 10))
    else:
        quoted.insert(at - first, data.draw(st.sampled_from(["nicht", "kein", "not", "never"])))
    text, _ = _text_of(words, data)
    result = Aligner(text, language="de").align(" ".join(quoted))
    assert result.grounding == Grounding.NOT_FOUND
    assert result.problem == f"a {change} differs"


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**13))
def test_grouped_integers_parse_back(n: int) -> None:
    english = f"{n:,}"
    german = english.replace(",", ".")
    assert parse_number(german, "de") == n
    assert parse_number(english, "en") == n
    assert parse_number(f"{german} Euro", "de") == n


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**9), st.integers(1, 99))
def test_grouped_decimals_parse_back(n: int, cents: int) -> None:
    value = n + cents / 100
    german = f"{n:,}".replace(",", ".") + f",{cents:02d}"
    assert parse_number(german, "de") == pytest.approx(value, rel=1e-9)
    assert parse_number(f"{n:,}.{cents:02d}", "en") == pytest.approx(value, rel=1e-9)
