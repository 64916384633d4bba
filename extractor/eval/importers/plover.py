"""PLOVER gold-standard records (GSR) as an event suite: one document and one Event per record.

Mapping (what the conversion changes):

- text: the record's `text` (one English news sentence), unchanged; the document id is the
  record `id` (a repeated upstream id gets `-2`, `-3`, … in upstream order);
- `event_type`: the PLOVER 0.5b1 category, folded to the project's 16 categories as
  `evals/GUIDELINES.md` §3.1 does: DEMAND → REQUEST, DISAPPROVE and INVESTIGATE → ACCUSE,
  FIGHT → ASSAULT; the others keep their name (a category outside the 16 is dropped, counted);
- `actors` / `recipients`: the `actorText` of each `source` / `target` actor (a plain string
  actor is kept as it is);
- `summary`: the record's `eventText` (PLOVER's trigger words, e.g. "staged rallies against");
- `evidence` / `span`: the whole sentence without its final punctuation (GSR marks the
  trigger words, not a clause, so the clause is **approximated** by the sentence);
- dropped: `date` (a placeholder, 2000-01-01, in the GSR), `context`, `mode`, actor codes and
  sectors, `textInfo.markup`, the DOCUMENT record (its licence text is in this README).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from extractor import errors, records
from extractor.eval.importers.base import Converted, Document, Importer, clip, safe_id
from extractor.eval.report import MatchMode
from extractor.eval.suite import Suite

FILE = "PLOVER_GSR_CAMEO.txt"
#: PLOVER 0.5b1 categories that the project's guide folds into its 16
FOLD = {"DEMAND": "REQUEST", "DISAPPROVE": "ACCUSE", "INVESTIGATE": "ACCUSE", "FIGHT": "ASSAULT"}


def _actors(value: Any) -> list[str]:
    if isinstance(value, str):
        return [clip(value, 120)] if value.strip() else []
    if not isinstance(value, list):
        return []
    names = [a.get("actorText") if isinstance(a, dict) else a for a in value]
    return [clip(n, 120) for n in names if isinstance(n, str) and n.strip()][:6]


def convert(src: Path) -> Converted:
    """The GSR JSON list (`PLOVER_GSR_CAMEO.txt`, or a folder holding it)."""
    path = src / FILE if src.is_dir() else src
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise errors.UsageError(f"{path} is not the PLOVER GSR JSON list: {exc}") from exc
    if not isinstance(data, list):
        raise errors.UsageError(f"{path} is not the PLOVER GSR JSON list (not a list)")
    converted = Converted()
    seen: dict[str, int] = {}
    for record in data:
        event = str(record.get("event", ""))
        if event == "DOCUMENT":
            continue
        name = FOLD.get(event, event)
        if name not in records.EventType.__members__:
            converted.dropped[f"category {event!r} outside the 16"] += 1
            continue
        text = str(record.get("text") or "")
        body = text.rstrip().rstrip(".!?").rstrip()
        if not body:
            converted.dropped["record without text"] += 1
            continue
        doc_id = safe_id(str(record.get("id", "record")))
        seen[doc_id] = seen.get(doc_id, 0) + 1
        if seen[doc_id] > 1:
            doc_id = f"{doc_id}-{seen[doc_id]}"
        start = len(text) - len(text.lstrip())
        doc = Document(doc_id, text)
        doc.events.append(
            records.Event(
                event_type=records.EventType(name),
                summary=clip(str(record.get("eventText") or event), 400),
                actors=_actors(record.get("source")),
                recipients=_actors(record.get("target")),
                evidence=body[start:],
                span=(start, len(body)),
                grounding=records.Grounding.EXACT,
            )
        )
        converted.documents.append(doc)
    return converted


_MAPPING = (__doc__ or "").split("\n\n", 1)[1]

PLOVER = Importer(
    format="plover",
    convert=convert,
    suite=Suite(
        name="plover-gsr",
        description="PLOVER/CAMEO-coded events, one English news sentence each (PLOVER GSR)",
        model="baseline",
        language="en",
        matching=MatchMode.STRICT,
        types=["events"],
        task=["event_type"],
        license="CC BY-SA 4.0",
        source="github openeventdata/PLOVER, gold_standard_records/PLOVER_GSR_CAMEO.txt",
    ),
    about=f"""# PLOVER gold-standard records, converted (CC BY-SA 4.0)

Source: github `openeventdata/PLOVER`, `gold_standard_records/PLOVER_GSR_CAMEO.txt` (PLOVER
0.5b1, coded by Parus Analytics from the CAMEO 1.1b3 manual examples). Copyright 2016 by the
Open Event Data Alliance; "This entire file is licensed under a Creative Commons
Attribution-ShareAlike 4.0 International License." This converted suite is a derivative and is
shared under CC BY-SA 4.0 as well (https://creativecommons.org/licenses/by-sa/4.0/). See also
Halterman, Bagozzi, Beger, Schrodt, Scarborough: *PLOVER and POLECAT: A New Political Event
Ontology and Dataset*, SocArXiv 2023.

Task metric: `event_type`, the share of records whose (folded) PLOVER category is found, as
P/R/F1 (an event of the record's category is a hit, at most one per record). The GSR comes with
no published system score; the figure it corresponds to is the one quoted in the project's
issue 14 for the dev half (computed the same way, see `../shared/peers/plover-gsr/README.md`).

{_MAPPING}""",
)
