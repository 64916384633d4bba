"""SpkAtt-2023 Task 2 (German news) and GePaDe-SpkAtt (Bundestag speeches) as claim suites.

Mapping (what the conversion changes), both formats — one gold Claim per annotated speech
event with a cue:

- text: each document's tokens joined by one space, one sentence per line (the upstream data
  has tokens, not the original text); token offsets become character spans in that text;
- `cue`: the cue tokens (SpkAtt-2023 `Cue`; GePaDe `B-V`/`I-V` plus the separable particle
  `*-PTC`) in text order, joined by spaces, so "gab … an" is the cue "gab an";
- `claimant`: the `Source` tokens joined ("" when the event has no overt source, e.g.
  "Wie es hieß"), cut at a word to 120 characters;
- `message`: the `Message` tokens joined, cut at a word to 400 characters (the schema's limit);
- `speech`: `direct` for SpkAtt-2023 `Form` "Direct", else `reported` (GePaDe has no form:
  always `reported`); `hedging`: `alleged` (neither benchmark labels it);
- `evidence` / `span`: the text from the first to the last cue, source or message token; when
  that is longer than the schema's 600 characters, the cue and source alone; when still longer,
  the cue alone (counted in the README as an approximation);
- dropped: events without a cue (SpkAtt-2023 labels some; the task's cue metric leaves them
  out), `Addr`, `Frame`, `STWR`, the nesting flags, GePaDe's other roles; token references
  that do not exist (counted).

A nested event (a direct quote inside an indirect one) is its own Claim, as in the task's
scorer, which counts each annotation.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from extractor import errors, records
from extractor.eval.importers.base import Converted, Document, Importer, clip, evidence_at, safe_id
from extractor.eval.report import MatchMode
from extractor.eval.suite import Suite

MAX_EVIDENCE = 600
Token = tuple[int, int]  # (sentence, token) index


@dataclass
class _Layout:
    """A document's text rebuilt from sentences of tokens, with each token's offsets."""

    text: str
    offsets: dict[Token, tuple[int, int]]

    @classmethod
    def of(cls, sentences: list[list[str]]) -> _Layout:
        parts: list[str] = []
        offsets: dict[Token, tuple[int, int]] = {}
        pos = 0
        for s, tokens in enumerate(sentences):
            if s:
                parts.append("\n")
                pos += 1
            for t, token in enumerate(tokens):
                if t:
                    parts.append(" ")
                    pos += 1
                offsets[(s, t)] = (pos, pos + len(token))
                parts.append(token)
                pos += len(token)
        return cls("".join(parts), offsets)

    def words(self, tokens: list[Token]) -> str:
        return " ".join(self.text[slice(*self.offsets[t])] for t in sorted(tokens))

    def hull(self, tokens: list[Token]) -> tuple[int, int]:
        spans = [self.offsets[t] for t in tokens]
        return min(s for s, _ in spans), max(e for _, e in spans)


def _claim(
    layout: _Layout,
    cue: list[Token],
    source: list[Token],
    message: list[Token],
    speech: records.Speech,
    dropped: Converted,
) -> records.Claim | None:
    known = [t for t in (*cue, *source, *message) if t in layout.offsets]
    if len(known) < len(cue) + len(source) + len(message):
        dropped.dropped["token reference outside the document"] += 1
        return None
    for parts, note in (
        ([*cue, *source, *message], None),
        ([*cue, *source], "evidence cut to cue and source (longer than 600 characters)"),
        (cue, "evidence cut to the cue (longer than 600 characters)"),
    ):
        start, end = layout.hull(parts)
        if end - start <= MAX_EVIDENCE:
            if note:
                dropped.dropped[note] += 1
            break
    else:
        dropped.dropped["cue longer than 600 characters"] += 1
        return None
    evidence, span = evidence_at(layout.text, start, end)
    return records.Claim(
        claimant=clip(layout.words(source), 120) if source else "",
        cue=clip(layout.words(cue), 120),
        message=clip(layout.words(message), 400) if message else "",
        speech=speech,
        hedging=records.Hedging.ALLEGED,
        evidence=evidence,
        span=span,
        grounding=records.Grounding.EXACT,
    )


# --- SpkAtt-2023 ------------------------------------------------------------------------------


def _refs(values: list[str]) -> list[Token]:
    out = []
    for v in values:
        sentence, _, token = v.partition(":")
        out.append((int(sentence), int(token)))
    return out


def convert_spkatt2023(src: Path) -> Converted:
    """A folder of SpkAtt-2023 Task 2 JSON files (e.g. `data/dev/task2/`), or one file."""
    files = sorted(src.glob("*.json")) if src.is_dir() else [src]
    converted = Converted()
    seen: set[str] = set()
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            sentences = {s["SentenceId"]: s["Tokens"] for s in data["Sentences"]}
            annotations = data["Annotations"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise errors.UsageError(f"{path} is not a SpkAtt-2023 Task 2 file: {exc}") from exc
        doc_id = safe_id(path.stem.split(" - ", 1)[0])
        if doc_id in seen:
            doc_id = safe_id(path.stem)
        seen.add(doc_id)
        layout = _Layout.of([sentences[i] for i in sorted(sentences)])
        doc = Document(doc_id, layout.text)
        for ann in annotations:
            cue = _refs(ann.get("Cue") or [])
            if not cue:
                converted.dropped["event without a cue"] += 1
                continue
            speech = (
                records.Speech.DIRECT if ann.get("Form") == "Direct" else records.Speech.REPORTED
            )
            claim = _claim(
                layout,
                cue,
                _refs(ann.get("Source") or []),
                _refs(ann.get("Message") or []),
                speech,
                converted,
            )
            if claim is not None:
                doc.claims.append(claim)
        converted.documents.append(doc)
    return converted


# --- GePaDe ------------------------------------------------------------------------------------

_CUE_ROLES = ("V", "PTC")


def _roles(tags: list[str], sentence: int) -> dict[str, list[Token]]:
    """Role name -> tokens, from one predicate's BIO tags."""
    out: dict[str, list[Token]] = defaultdict(list)
    for i, tag in enumerate(tags):
        if tag[:2] in ("B-", "I-"):
            out[tag[2:]].append((sentence, i))
    return out


def convert_gepade(src: Path) -> Converted:
    """GePaDe's `dev.json` (or a folder holding it): sentences keyed `<speech>-sentence-<i>`."""
    path = src / "dev.json" if src.is_dir() else src
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise errors.UsageError(f"{path} is not a GePaDe JSON file: {exc}") from exc
    speeches: dict[str, list[dict]] = defaultdict(list)
    for key, sentence in data.items():
        speeches[key.split("-sentence-")[0]].append(sentence)
    converted = Converted()
    for speech_id, sentences in speeches.items():
        layout = _Layout.of([s["words"] for s in sentences])
        doc = Document(safe_id(speech_id), layout.text)
        for s, sentence in enumerate(sentences):
            for ann in (sentence.get("annotations") or {}).values():
                if ann.get("predicate", "_") == "_":
                    continue
                roles = _roles(ann["roles"], s)
                cue = sorted(t for role in _CUE_ROLES for t in roles.get(role, []))
                if not roles.get("V"):
                    converted.dropped["predicate without a cue token"] += 1
                    continue
                claim = _claim(
                    layout,
                    cue,
                    roles.get("Source", []),
                    roles.get("Message", []),
                    records.Speech.REPORTED,
                    converted,
                )
                if claim is not None:
                    doc.claims.append(claim)
        converted.documents.append(doc)
    return converted


_MAPPING = (__doc__ or "").split("\n\n", 1)[1]

SPKATT2023 = Importer(
    format="spkatt2023",
    convert=convert_spkatt2023,
    suite=Suite(
        name="spkatt2023-news",
        description="speaker attribution in German Wikinews (SpkAtt-2023 Task 2)",
        model="baseline",
        language="de",
        matching=MatchMode.STRICT,
        types=["claims"],
        task=["cue_overlap"],
        license="CC BY-NC-SA 4.0 (stays out of the repository)",
        source="github uhh-lt/news-speaker-attribution-2023, data/{dev,train}/task2",
    ),
    about=f"""# SpkAtt-2023 Task 2 news, converted (CC BY-NC-SA 4.0: keep out of the repository)

Source: github `uhh-lt/news-speaker-attribution-2023` (German Wikinews articles annotated for
speaker attribution; KONVENS 2023 / GermEval 2023 shared task). Licence: CC BY-NC-SA 4.0 —
non-commercial, share-alike; this conversion is derived data under the same licence and must
not be committed to the project repository.

Task metric: `cue_overlap` is the cue-identification F1 of the shared task (a predicted cue
matches a gold cue when their tokens overlap, one to one). It corresponds to the cue F1 column
that the task overview (*Overview of the GermEval 2023 Shared Task on Speaker Attribution in
Newswire and Parliamentary Debates*, Rehbein et al., KONVENS 2023) reports per system for
Task 2 on the news test set. Differences: ours runs on the dev half of the upstream train and
dev splits, counts nested annotations as their own events (the simplified subtask leaves them
out) and locates cues as words in the evidence, so compare trends, not decimals.

{_MAPPING}""",
    keep_out_of_repo=True,
)

GEPADE = Importer(
    format="gepade",
    convert=convert_gepade,
    suite=Suite(
        name="gepade-spkatt",
        description="speaker attribution in Bundestag speeches (GePaDe-SpkAtt)",
        model="baseline",
        language="de",
        matching=MatchMode.STRICT,
        types=["claims"],
        task=["cue_overlap"],
        license="CC0 1.0",
        source="github umanlp/spkatt, data/GePaDe/dev.json",
    ),
    about=f"""# GePaDe-SpkAtt, converted (CC0 1.0)

Source: github `umanlp/spkatt`, `data/GePaDe/dev.json` — Ines Rehbein, Josef Ruppenhofer,
Annelen Brunner, Simone Paolo Ponzetto: *Out of the mouths of MPs: Speaker Attribution in
Parliamentary Debates*, LREC-COLING 2024. Licence: CC0 1.0 Universal (public domain
dedication); cited anyway. Parliamentary speech, not news: about 40 % of sources are pronouns
and many cues are nouns ("Antrag"), so it shows genre limits rather than a news target.

Task metric: `cue_overlap`, the cue-identification F1 of the speaker-attribution task; it
corresponds to the cue F1 that Rehbein et al. (2024) report for GePaDe (same caveats as for
the SpkAtt-2023 suite: dev half, nested events counted, cues located as words in the evidence).

{_MAPPING}""",
)
