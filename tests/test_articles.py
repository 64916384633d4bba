from __future__ import annotations

import os
from pathlib import Path

import pytest

from extractor import articles
from extractor.articles import Article, LoadFailure, detect_language, iter_articles, load_article
from extractor.errors import InputError, UsageError

DATA = Path(__file__).parent / "data" / "articles"
SEEDS = Path(__file__).parent.parent / "seeds"


def only(path: Path) -> Article | LoadFailure:
    (item,) = list(iter_articles([path]))
    return item


def failure(path: Path) -> LoadFailure:
    item = only(path)
    assert isinstance(item, LoadFailure), item
    assert item.source == str(path)
    assert isinstance(item.error, InputError)
    return item


def test_plain_text_article_keeps_text_exactly() -> None:
    path = SEEDS / "004_8a3114eecaafb72d.txt"
    article = load_article(path)
    assert article.id == "004_8a3114eecaafb72d"
    assert article.text == path.read_text(encoding="utf-8")
    assert article.source == str(path)
    assert article.language == "de"


@pytest.mark.parametrize("name", ["empty.txt", "whitespace.txt"])
def test_empty_file_is_a_failure(name: str) -> None:
    item = failure(DATA / name)
    assert item.id == Path(name).stem
    assert str(item.error).startswith(f"empty article: {DATA / name} has no text")


def test_binary_file_is_a_failure() -> None:
    item = failure(DATA / "binary.txt")
    assert item.id == "binary"
    assert "binary file, not an article" in str(item.error)


def test_non_utf8_file_names_the_byte_and_the_fix() -> None:
    item = failure(DATA / "latin1.txt")
    message = str(item.error)
    assert "not UTF-8 (byte 0xfc at offset 5)" in message  # the ü of "Bürger" in latin-1
    assert "re-save it as UTF-8" in message


def test_utf8_bom_is_dropped() -> None:
    article = load_article(DATA / "bom.txt")
    assert article.text.startswith("Der Stadtrat")


def test_html_page_gives_main_text_without_boilerplate() -> None:
    article = load_article(DATA / "page.html")
    assert article.id == "page"
    assert "Katastrophenfall ausgerufen" in article.text
    assert "sagte Oberbürgermeister Jürgen Dupper" in article.text
    assert "Einzugsgebiet der Ilz" in article.text
    for boilerplate in ("Jetzt abonnieren", "Cookies", "Newsletter", "Impressum", "Horoskop"):
        assert boilerplate not in article.text
    assert "<p>" not in article.text
    assert article.title == "Hochwasser in Passau: Pegel steigt auf 9,80 Meter"
    assert article.date == "2024-06-03"
    assert article.language == "de"


def test_txt_holding_a_whole_html_document_is_read_as_html() -> None:
    article = load_article(DATA / "html_as_text.txt")
    assert "fällt die Fähre von Cuxhaven nach Helgoland" in article.text
    assert "<html" not in article.text
    assert "Alle Rechte vorbehalten" not in article.text
    assert article.title == "Fähre nach Helgoland fällt aus"


def test_html_without_main_text_is_a_failure() -> None:
    item = failure(DATA / "empty_page.html")
    assert "no main text found" in str(item.error)


def test_prompt_injection_text_loads_as_a_normal_article() -> None:
    path = DATA / "injection.txt"
    article = load_article(path)
    assert article.text == path.read_text(encoding="utf-8")
    assert "Ignore all previous instructions" in article.text


def test_jsonl_good_and_bad_lines() -> None:
    path = DATA / "articles.jsonl"
    items = list(iter_articles([path]))
    by_source = {item.source: item for item in items}
    assert sorted(by_source) == [f"{path}:{n}" for n in (1, 2, 3, 4, 6, 7, 8)]  # 5 is blank

    first = by_source[f"{path}:1"]
    assert isinstance(first, Article)
    assert (first.id, first.title, first.date, first.language) == (
        "de-1",
        "Demonstration in Dresden",
        "2024-05-04",
        "de",
    )
    assert first.text.startswith("Die Polizei in Dresden")

    given = by_source[f"{path}:2"]
    assert isinstance(given, Article) and given.language == "en"  # given, not detected

    not_json = by_source[f"{path}:3"]
    assert isinstance(not_json, LoadFailure)
    assert not_json.id == f"{path}:3"
    assert "is not JSON" in str(not_json.error)

    no_text = by_source[f"{path}:4"]
    assert isinstance(no_text, LoadFailure)
    assert no_text.id == "no-text"
    assert 'has no "text"' in str(no_text.error)

    no_id = by_source[f"{path}:6"]
    assert isinstance(no_id, LoadFailure) and no_id.id == f"{path}:6"
    assert 'has no "id"' in str(no_id.error)

    number_text = by_source[f"{path}:7"]
    assert isinstance(number_text, LoadFailure) and number_text.id == "num-text"
    assert "not a string" in str(number_text.error)

    last = by_source[f"{path}:8"]
    assert isinstance(last, Article) and last.id == "fr-1" and last.language == "fr"


def test_jsonl_line_over_the_size_limit_fails_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(articles, "MAX_BYTES", 150)  # line 1 is longer, line 2 is shorter
    path = DATA / "articles.jsonl"
    items = list(iter_articles([path]))
    assert isinstance(items[0], LoadFailure)
    assert "limit" in str(items[0].error)
    assert isinstance(items[1], Article) and items[1].id == "en-1"
    assert items[-1].source == f"{path}:8"


def test_file_over_the_size_limit_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(articles, "MAX_BYTES", 100)
    item = failure(DATA / "german.txt")
    assert "0.0 MB, over the 0.0 MB limit" in str(item.error)
    assert "MAX_BYTES" in str(item.error)


def test_one_megabyte_article_loads(tmp_path: Path) -> None:
    seed = (SEEDS / "000_bc9a927a736966c8.txt").read_text(encoding="utf-8")
    big = tmp_path / "big.txt"
    big.write_text((seed + "\n\n") * (1_000_000 // len(seed) + 1), encoding="utf-8")
    article = load_article(big)
    assert len(article.text.encode("utf-8")) > 1_000_000
    assert article.language == "de"


def test_missing_path_is_a_usage_error_before_anything_is_yielded() -> None:
    with pytest.raises(UsageError, match=r"no such file or directory: .*nope\.txt"):
        iter_articles([DATA / "german.txt", DATA / "nope.txt"])


def test_directory_walk_is_recursive_sorted_and_skips_other_files() -> None:
    tree = DATA / "tree"
    items = list(iter_articles([tree]))
    assert all(isinstance(item, Article) for item in items)
    assert [item.source for item in items] == [
        f"{tree / 'a.jsonl'}:1",
        str(tree / "b.txt"),
        str(tree / "sub" / "c.md"),
    ]  # a.csv, .notes.txt and .hidden/ are skipped
    assert [item.id for item in items] == ["j1", "b", "c"]


def test_a_jsonl_file_cannot_be_loaded_as_one_article() -> None:
    with pytest.raises(InputError, match="iter_articles"):
        load_article(DATA / "articles.jsonl")


@pytest.mark.parametrize(
    ("name", "language"), [("german", "de"), ("english", "en"), ("french", "fr")]
)
def test_language_detection(name: str, language: str) -> None:
    text = (DATA / f"{name}.txt").read_text(encoding="utf-8")
    assert detect_language(text) == language
    assert load_article(DATA / f"{name}.txt").language == language


def test_language_of_markup_is_detected_on_cleaned_text() -> None:
    text = (DATA / "markup.txt").read_text(encoding="utf-8")
    assert detect_language(text) == "de"


def test_language_of_too_short_text_is_unknown() -> None:
    assert detect_language((DATA / "short.txt").read_text(encoding="utf-8")) is None
    assert load_article(DATA / "short.txt").language is None


@pytest.mark.parametrize("max_bytes", [articles.MAX_BYTES, 150])  # 150: line 1 is too large
def test_iter_ids_agrees_with_iter_articles(monkeypatch: pytest.MonkeyPatch, max_bytes) -> None:
    monkeypatch.setattr(articles, "MAX_BYTES", max_bytes)
    inputs = [DATA]  # the tree, every JSONL problem line, binary, empty and HTML files
    assert [i for i, _ in articles.iter_ids(inputs)] == [a.id for a in iter_articles(inputs)]


def test_iter_ids_agrees_with_iter_articles_for_names_that_are_not_utf8(tmp_path: Path) -> None:
    for name in (b"caf\xe9.txt", b"caf\xe9.jsonl"):
        Path(os.fsdecode(bytes(tmp_path) + b"/" + name)).write_text(
            '{"id": "x", "text": "Die Polizei meldete zwölf Festnahmen in der Stadt."}\n'
        )
    items = list(iter_articles([tmp_path]))
    assert [i for i, _ in articles.iter_ids([tmp_path])] == [a.id for a in items]
    assert [a.id for a in items] == ["caf\\xe9", "caf\\xe9"]  # refused alike, named readably
    assert all(isinstance(a, LoadFailure) for a in items)
