"""DFKI SmartData corpus (German news, RSS, tweets) as a figure suite of its number mentions.

Mapping (what the conversion changes):

- text: the document's `text.string`, unchanged; the document id is `sd-` plus the first 16
  hex digits of the SHA-256 of the upstream `id` (a URL), listed in `ids.tsv`;
- one gold Figure per `NUMBER` mention that is a cardinal in the sense of
  `evals/GUIDELINES.md` §5.1, and per `DISTANCE` and `DURATION` mention with a number in it.
  Left out (counted): ordinals ("sechste", "2."), clock times ("19:05"), phone numbers
  ("0800 / 5 29 55 55": a leading 0 or digit groups split by spaces), codes glued to letters
  ("X1", "3er"), a lone "ein"/"eine"; other entity types (DATE, TIME, LOCATION, …);
- `evidence` / `span` and `text`: the mention as annotated ("6,9 Milliarden Dollar");
- `value`: computed by this importer (not by `extractor.numbers`): German digits ("12.000",
  "6,4", "220 000"), a number word (text2num), times a following scale word ("Mio.",
  "Millionen", "Mrd.", "Milliarden", "Tsd.", "Tausend"); `None` when there is no exact number
  ("hunderte", "ein Zehntel");
- `unit`: none (SmartData does not label units: strict matching checks only the value);
- `flags`: `["cardinal"]` on a kept `NUMBER` mention that is a cardinal number in the strict
  sense of §5.1 that the `cardinal_recall` task metric counts (the issue's "German cardinals"),
  `[]` on the other gold figures. Not cardinal (counted in "not flagged cardinal"): no digit and
  no number word of at least two ("Hunderte", "ein Zehntel", "Ein Barrel"); a digit run glued to
  letters ("18d", "2jähriger") or a clock-like "19.05"; a number followed by "." that no digit
  follows (a list number or an ordinal, "2. Grund"); a leading 0 or space-split digit groups
  (phone numbers); a code after "§", "Abs.", "Art.", "Artikel", "Nr.", "Stufe" or "Platz";
- dropped: the relation mentions (Accident, TrafficJam, Strike, …: only Strike would map to a
  PLOVER category, PROTEST, so the suite does not score events), coreference, tokens.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from text_to_num import text2num

from extractor import errors, records
from extractor.eval.importers.base import Converted, Document, Importer, clip, evidence_at
from extractor.eval.report import MatchMode
from extractor.eval.suite import Suite

FILES = ("dev.json.gz", "test.json.gz", "train.json.gz")
KEPT_TYPES = ("NUMBER", "DISTANCE", "DURATION")
_DIGITS = re.compile(r"\d{1,3}(?:[. \u00a0\u202f]\d{3})+(?:,\d+)?(?!\d)|\d+(?:,\d+)?")
_SCALES = {
    "tsd": 1e3, "tausend": 1e3, "mio": 1e6, "million": 1e6, "millionen": 1e6,
    "mrd": 1e9, "milliarde": 1e9, "milliarden": 1e9, "billion": 1e12, "billionen": 1e12,
}  # fmt: skip
_ORDINAL_WORD = re.compile(r"(?i)^\w+(ste|ter|tes|ten|tem|te)$")
_NOT_CARDINAL = re.compile(
    r"(?i)^(?:\d{1,2}[:.]\d{2}|\d+\.|\d+er|[^\W\d_]+\d+\w*|\d+[^\W\d_]\w*|eine?[nmrs]?)$"
)
_ORDINAL_STEM = re.compile(
    r"(?i)^(erst|zweit|dritt|viert|fünft|sechst|siebt|acht|neunt|zehnt|elft|zwölft|\w+zigst|"
    r"hundertst|tausendst)(e|er|en|es|em)$"
)
_CODE_BEFORE = re.compile(r"(?:§|Abs\.|Art\.|Artikel|Nr\.|Stufe|Platz)\s*$")
CARDINAL = "cardinal"  # the flag `extractor.eval.tasks.CARDINAL` counts
_LONE_ARTICLE = {"ein", "eine", "einen", "einem", "einer", "eines"}


def parse_value(mention: str) -> float | None:
    """The number a German mention states, with a scale word after it; None if not exact."""
    words = re.findall(r"[^\W\d_]+", mention)
    m = _DIGITS.search(mention)
    if m is not None:
        raw = re.sub(r"[. \u00a0\u202f]", "", m[0]).replace(",", ".")
        value = float(raw)
        after = re.findall(r"[^\W\d_]+", mention[m.end() :])
    else:
        value = None
        after = []
        for i, word in enumerate(words):
            try:
                value = float(text2num(word.lower(), "de"))
            except ValueError:
                continue
            after = words[i + 1 :]
            break
        if value is None:
            return None
    if after and after[0].lower() in _SCALES:
        value *= _SCALES[after[0].lower()]
    return value


def skip_reason(mention: str, text: str, end: int) -> str | None:
    """Why a NUMBER mention is not a cardinal figure (None when it is one)."""
    stripped = mention.strip()
    if re.fullmatch(r"\d{1,2}:\d{2}", stripped):
        return "clock time"
    if re.fullmatch(r"0\d+", stripped) or re.fullmatch(r"\d+(?: \d+){2,}", stripped):
        return "phone number"
    if re.search(r"(?i)[a-z]\d|\d(?:er|te|ter|tes|ten)\b", stripped):
        return "code or model name"
    if _ORDINAL_WORD.match(stripped) and parse_value(stripped) is None:
        return "ordinal"
    if (
        re.fullmatch(r"\d+", stripped)
        and text[end : end + 1] == "."
        and (text[end + 1 : end + 2] in (" ", "\n", "") and not text[end + 2 : end + 3].isupper())
    ):
        return "ordinal or list number"
    if stripped.lower() in _LONE_ARTICLE:
        return "lone article 'ein'"
    return None


def not_cardinal(mention: str, text: str, start: int) -> str | None:
    """Why a kept NUMBER mention is not a cardinal number (None when it is one)."""
    stripped = mention.strip()
    if not re.search(r"\d", stripped) and not any(
        _number_word(w) >= 2 for w in re.findall(r"[^\W\d_]+", stripped)
    ):
        return "no number of at least two"
    if _NOT_CARDINAL.match(stripped) or _ORDINAL_STEM.match(stripped):
        return "code, ordinal or clock time"
    end = start + len(stripped)
    if (
        re.fullmatch(r"\d+", stripped)
        and text[end : end + 1] == "."
        and not text[end + 1 : end + 2].isdigit()
    ):
        return "list number or ordinal"
    if re.fullmatch(r"0\d+|\d+(?: \d+){2,}", stripped):
        return "phone number"
    if _CODE_BEFORE.search(text[max(0, start - 12) : start]):
        return "code after §, Art., Nr., Stufe or Platz"
    return None


def _number_word(word: str) -> float:
    try:
        return float(text2num(word.lower(), "de"))
    except ValueError:
        return 0.0


def _documents(path: Path) -> Iterator[dict[str, Any]]:
    raw = gzip.decompress(path.read_bytes()).decode("utf-8") if path.suffix == ".gz" else None
    if raw is None:
        raw = path.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    pos = 0
    while True:
        while pos < len(raw) and raw[pos].isspace():
            pos += 1
        if pos >= len(raw):
            return
        doc, pos = decoder.raw_decode(raw, pos)
        yield doc


def doc_id(upstream: str) -> str:
    return "sd-" + hashlib.sha256(upstream.encode("utf-8")).hexdigest()[:16]


def convert(src: Path) -> Converted:
    """A folder with SmartData's `*.json.gz` files (or one such file)."""
    files = [src / f for f in FILES if (src / f).is_file()] if src.is_dir() else [src]
    if not files:
        raise errors.UsageError(f"{src} holds none of {', '.join(FILES)}")
    converted = Converted()
    for path in files:
        try:
            for doc in _documents(path):
                _convert_doc(doc, converted)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise errors.UsageError(f"{path} is not a SmartData JSON file: {exc}") from exc
    return converted


def _convert_doc(doc: dict[str, Any], converted: Converted) -> None:
    text = doc["text"]["string"]
    out = Document(doc_id(doc["id"]), text, upstream_id=doc["id"])
    mentions = (doc.get("conceptMentions") or {}).get("array") or []
    for m in mentions:
        if m.get("type") not in KEPT_TYPES:
            continue
        start, end = m["span"]["start"], m["span"]["end"]
        mention = text[start:end]
        reason = skip_reason(mention, text, end) if m["type"] == "NUMBER" else None
        value = parse_value(mention)
        if reason is None and m["type"] != "NUMBER" and value is None:
            reason = f"{m['type']} without a number"
        if reason is None and not mention.strip():
            reason = "empty mention"
        if reason:
            converted.dropped[reason] += 1
            continue
        evidence, span = evidence_at(text, start, end)
        flags = []
        if m["type"] == "NUMBER":
            why = not_cardinal(mention, text, start + len(mention) - len(mention.lstrip()))
            if why is None:
                flags = [CARDINAL]
            else:
                converted.dropped[f"kept, not flagged cardinal: {why}"] += 1
        out.figures.append(
            records.Figure(
                text=clip(evidence, 120),
                value=value,
                measured="",
                evidence=evidence,
                span=span,
                grounding=records.Grounding.EXACT,
                flags=flags,
            )
        )
    converted.documents.append(out)


_MAPPING = (__doc__ or "").split("\n\n", 1)[1]

SMARTDATA = Importer(
    format="smartdata",
    convert=convert,
    suite=Suite(
        name="smartdata",
        description="numbers in German news, RSS and tweets (DFKI SmartData corpus v3)",
        model="baseline",
        language="de",
        matching=MatchMode.STRICT,
        types=["figures"],
        task=["quantity_overlap", "cardinal_recall"],
        license="CC BY 4.0",
        source="github DFKI-NLP/smartdata-corpus, v3_20200302/{dev,test}.json.gz",
    ),
    about=f"""# DFKI SmartData corpus v3, converted (CC BY 4.0)

Source: github `DFKI-NLP/smartdata-corpus`, `v3_20200302/` — Martin Schiersch, Veselina
Mironova, Maximilian Schmitt, Philippe Thomas, Aleksandra Gabryszak, Leonhard Hennig: *A German
Corpus for Fine-Grained Named Entity Recognition and Relation Extraction of Traffic and
Industry Events*, LREC 2018. Licence: Creative Commons Attribution 4.0 International
(https://creativecommons.org/licenses/by/4.0/); credit to the authors above. Changed: only the
documents of one half are here, converted as described below.

Task metrics (`extractor/eval/tasks.py`; "a predicted number" is a predicted figure's `text`
located in its evidence):

- `cardinal_recall`, the issue's "German cardinals (SmartData): recall, values right": over
  the gold figures flagged `cardinal` (the rule under "Mapping" below), recall = cardinals that
  a predicted number overlaps / cardinals; `values_right` = found cardinals whose first
  overlapping predicted figure (in article order) has the gold value (within the scorer's
  tolerance) / found cardinals. Recall only: predictions are not labelled cardinal, so there is
  no precision; its gate (`task_fail_under`) compares recall. SmartData's paper reports NER
  scores per entity type; this corresponds to the NUMBER row's recall there, restricted to
  cardinals, with a value check the paper does not make.
- `quantity_overlap`, over all gold figures (cardinal NUMBERs, the other kept NUMBER mentions,
  DISTANCE and DURATION): many to one, as described for MeasEval — a predicted figure counts
  when its number overlaps a gold span, a gold figure is found when some predicted number
  overlaps it; P = counted / predicted, R = found / gold; `values_right` = counted predictions
  whose value equals an overlapped gold figure's value or a number written in its text (German
  reading: "220 000", "6,9 Milliarden" = 6.9e9) / counted predictions.

{_MAPPING}""",
)
