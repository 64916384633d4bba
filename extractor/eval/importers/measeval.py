"""MeasEval (SemEval-2021 Task 8) as a figure suite: one gold Figure per Quantity annotation.

Mapping (what the conversion changes):

- text: the paragraph's `.txt` file, unchanged; spans are MeasEval's character offsets (a
  Quantity whose offsets do not hold its text is dropped and counted);
- `evidence` / `span`: the Quantity span as annotated (e.g. "3.19 ± 0.10 GPa", "5318
  participants");
- `text`: the Quantity without its unit when it ends with the annotated unit ("5318"), else
  the whole Quantity;
- `value`: the first number of `text` — digits with an optional sign (− or -), decimal point,
  thousands commas and an "× 10−8" / "e-8" exponent, or an English number word ("three");
  `None` when there is none. **Approximation:** a list ("1997, 2003, and 2008", mod `IsList`)
  or a range ("58 to 70") is one Figure valued at its first number;
- `unit`: the annotated `unit` (MeasEval's `other.unit`), else none (then strict matching does
  not check the unit);
- `measured`: the text of the MeasuredEntity annotated with `HasQuantity` to this Quantity,
  else "";
- `qualifier`: `IsApproximate` → `about`, `IsRange` → `range`, else `exact`; other mods
  (`IsMean`, `IsCount`, `HasTolerance`, …) are dropped;
- dropped: MeasuredProperty and Qualifier annotations, the relations between them.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from extractor import errors, records
from extractor.eval.importers.base import Converted, Document, Importer, clip, safe_id
from extractor.eval.report import MatchMode
from extractor.eval.suite import Suite

_NUMBER = re.compile(
    r"(?P<sign>[−-])?(?P<num>\d[\d,]*(?:\.\d+)?|\.\d+)"
    r"(?:\s*[×x]\s*10\s*(?P<exp>[−-]?\d+)|[eE](?P<e>[−+-]?\d+))?"
)
_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "thirty": 30,
    "hundred": 100, "thousand": 1000, "million": 1e6, "billion": 1e9, "half": 0.5, "dozen": 12,
    "single": 1, "twice": 2, "once": 1, "double": 2, "triple": 3,
}  # fmt: skip
_QUALIFIERS = {"IsApproximate": records.Qualifier.ABOUT, "IsRange": records.Qualifier.RANGE}


def parse_value(text: str) -> float | None:
    """The first number in an English quantity, as written in science text."""
    m = _NUMBER.search(text)
    if m is not None:
        try:
            value = float(m["num"].replace(",", ""))
        except ValueError:
            return None
        if m["sign"]:
            value = -value
        exp = m["exp"] or m["e"]
        if exp:
            value *= 10.0 ** int(exp.replace("−", "-").replace("+", ""))
        return value
    word = re.search(r"[A-Za-z]+", text)
    if word is not None and word[0].lower() in _WORDS:
        return float(_WORDS[word[0].lower()])
    return None


def _number_text(quantity: str, unit: str | None) -> str:
    if unit and quantity.endswith(unit) and len(quantity) > len(unit):
        return quantity[: -len(unit)].rstrip(" -") or quantity
    return quantity


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def _other(row: dict[str, str]) -> dict:
    raw = (row.get("other") or "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def convert(src: Path) -> Converted:
    """A MeasEval folder with `text/` (or `txt/`) and `tsv/`: one paragraph per file stem."""
    text_dir = next((src / d for d in ("text", "txt") if (src / d).is_dir()), None)
    if text_dir is None or not (src / "tsv").is_dir():
        raise errors.UsageError(f"{src} is not a MeasEval folder: it needs text/ and tsv/")
    converted = Converted()
    for text_path in sorted(text_dir.glob("*.txt")):
        text = text_path.read_text(encoding="utf-8")
        doc = Document(safe_id(text_path.stem), text)
        tsv = src / "tsv" / f"{text_path.stem}.tsv"
        rows = _rows(tsv) if tsv.is_file() else []
        entities = {
            _other(r).get("HasQuantity"): r["text"]
            for r in rows
            if r["annotType"] == "MeasuredEntity"
        }
        for row in rows:
            if row["annotType"] != "Quantity":
                continue
            start, end = int(row["startOffset"]), int(row["endOffset"])
            if text[start:end] != row["text"] or not row["text"].strip():
                converted.dropped["Quantity whose offsets do not hold its text"] += 1
                continue
            other = _other(row)
            unit = other.get("unit") or None
            number = _number_text(row["text"], unit)
            mods = other.get("mods") or []
            qualifier = next(
                (_QUALIFIERS[m] for m in mods if m in _QUALIFIERS), records.Qualifier.EXACT
            )
            if "IsList" in mods:
                converted.dropped["list Quantity kept as one Figure (first value)"] += 1
            doc.figures.append(
                records.Figure(
                    text=clip(number, 120),
                    value=parse_value(number),
                    unit=clip(unit, 120) if unit else None,
                    measured=clip(entities.get(row["annotId"], ""), 120),
                    qualifier=qualifier,
                    evidence=row["text"],
                    span=(start, end),
                    grounding=records.Grounding.EXACT,
                )
            )
        converted.documents.append(doc)
    return converted


_MAPPING = (__doc__ or "").split("\n\n", 1)[1]

MEASEVAL = Importer(
    format="measeval",
    convert=convert,
    suite=Suite(
        name="measeval",
        description="quantities in English science paragraphs (MeasEval, SemEval-2021 Task 8)",
        model="baseline",
        language="en",
        matching=MatchMode.STRICT,
        types=["figures"],
        task=["quantity_overlap"],
        license="none stated for the annotations (stays out of the repository)",
        source="github harperco/MeasEval, data/{train,trial,eval}",
    ),
    about=f"""# MeasEval, converted (no licence for the annotations: keep out of the repository)

Source: github `harperco/MeasEval` — Corey Harper, Jessica Cox, Curt Kohler, Antony Scerri,
Ron Daniel Jr., Paul Groth: *SemEval-2021 Task 8: MeasEval – Extracting Counts and
Measurements and their Related Contexts*, SemEval-2021. The paragraph texts are CC BY
(Elsevier OA-STM corpus); no licence is stated for the annotations, so neither they nor this
conversion may be committed to the project repository.

Task metric: `quantity_overlap` corresponds to the Quantity span row (overlap F1) of the
per-component results in the task paper, computed by our code (`extractor/eval/tasks.py`):

- many to one, as MeasEval annotates and scores a list or range ("3, 5 and 7 K", "58 to 70")
  as one Quantity: a predicted figure counts when its number (its `text` located in its
  evidence) overlaps an annotated Quantity span, else it is a false positive; a Quantity is
  found (TP) when at least one predicted number overlaps it, else it is a miss. Three predicted
  figures inside "3, 5 and 7 K" are three counted predictions and one TP, no FP;
- precision = counted predictions / predictions, recall = found Quantities / Quantities,
  F1 = their harmonic mean;
- `values_right` = counted predictions whose value equals (relative tolerance 1e-6) the
  Quantity's value or any number written in the Quantity's text (each item of a list or
  range; both numbers of "3.19 ± 0.10 GPa"; English reading: "1,000" = 1000, "4.3 × 10−8", a
  following "thousand"/"million"/"billion" multiplies; number words, "Five out of eight", only
  when the text has no digits) / counted predictions.

MeasEval's own scorer credits partial token overlap of the spans instead of counting overlaps,
so the figures are comparable in kind, not equal.

{_MAPPING}""",
    keep_out_of_repo=True,
)
