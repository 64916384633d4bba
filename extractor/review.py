"""An article as a reviewer sees it: the text with every record's evidence span highlighted by
type, its grounding status, and the record's fields on hover and on click; gold beside
predicted when gold is given. Plain HTML and a little JavaScript, no build step.

Used by the service's review pages (`/jobs/{id}/view`); any report can embed `article_view`.
"""

from __future__ import annotations

import html
import itertools
import json
from dataclasses import dataclass
from typing import Any

from extractor.records import ArticleExtraction, ArticleResult

KINDS = ("events", "claims", "figures")
TAG = {"events": "E", "claims": "C", "figures": "F"}


@dataclass(frozen=True)
class Mark:
    """One record placed in the text (or not, when its evidence was not found)."""

    kind: str
    tag: str  # E0, C1, F2 … unique within one view
    label: str
    grounding: str
    span: tuple[int, int] | None
    fields: dict[str, Any]


def _label(kind: str, record: Any) -> str:
    if kind == "events":
        return f"{record.event_type}: {record.summary}"
    if kind == "claims":
        return f"{record.claimant} {record.cue}: {record.message}"
    unit = f" {record.unit}" if record.unit else ""
    return f"{record.text}{unit} ({record.measured})"


def marks_of(extraction: ArticleExtraction, text: str) -> list[Mark]:
    marks = []
    for kind in KINDS:
        for index, record in enumerate(getattr(extraction, kind)):
            span = record.span
            if span is not None and not (0 <= span[0] < span[1] <= len(text)):
                span = None
            marks.append(
                Mark(
                    kind,
                    f"{TAG[kind]}{index}",
                    _label(kind, record),
                    str(record.grounding),
                    tuple(span) if span else None,
                    record.model_dump(mode="json"),
                )
            )
    return marks


def highlight(text: str, marks: list[Mark], view: str) -> str:
    """Escaped text; each stretch covered by records is one <mark> naming them (overlaps split
    into segments). `data-start`/`data-end` give the stretch's character offsets."""
    placed = [m for m in marks if m.span is not None]
    bounds = sorted({0, len(text)} | {p for m in placed for p in m.span})  # type: ignore[union-attr]
    out = []
    for start, end in itertools.pairwise(bounds):
        segment = html.escape(text[start:end])
        covering = [m for m in placed if m.span[0] <= start and end <= m.span[1]]  # type: ignore[index]
        if not covering:
            out.append(segment)
            continue
        inner = min(covering, key=lambda m: m.span[1] - m.span[0])  # type: ignore[index]
        title = "; ".join(f"{m.tag} {m.label} [{m.grounding}]" for m in covering)
        multi = " multi" if len(covering) > 1 else ""
        out.append(
            f'<mark class="hl k-{inner.kind} g-{inner.grounding}{multi}" data-view="{view}" '
            f'data-records="{" ".join(m.tag for m in covering)}" data-start="{start}" '
            f'data-end="{end}" title="{html.escape(title)}">{segment}</mark>'
        )
    return "".join(out)


def _record_list(marks: list[Mark], view: str) -> str:
    items = []
    for m in marks:
        where = f"[{m.span[0]}, {m.span[1]})" if m.span else "evidence not found in the text"
        items.append(
            f'<li class="rec k-{m.kind}" data-view="{view}" data-records="{m.tag}">'
            f'<b>{m.tag}</b> <span class="badge g-{m.grounding}">{m.grounding}</span> '
            f'{html.escape(m.label)} <span class="muted">{where}</span></li>'
        )
    return (
        f'<ul class="records">{"".join(items)}</ul>' if items else '<p class="muted">no records</p>'
    )


def _column(heading: str, text: str, extraction: ArticleExtraction, view: str) -> str:
    marks = marks_of(extraction, text)
    data = json.dumps({m.tag: m.fields for m in marks}, ensure_ascii=False).replace("</", "<\\/")
    return (
        f'<div class="col"><h3>{heading}</h3><div class="text" id="text-{view}">'
        f"{highlight(text, marks, view)}</div>{_record_list(marks, view)}"
        f'<script type="application/json" id="records-{view}">{data}</script></div>'
    )


def article_view(
    text: str,
    result: ArticleResult | None,
    *,
    view: str,
    gold: ArticleExtraction | None = None,
) -> str:
    """One article's section: predicted (and gold) columns and a panel for the clicked record."""
    columns = []
    if gold is not None:
        columns.append(_column("Gold", text, gold, f"{view}-gold"))
    if result is None:
        columns.append('<div class="col"><p class="muted">not finished yet</p></div>')
    else:
        columns.append(_column("Predicted", text, result, view))
    error = ""
    if result is not None and result.error:
        error = (
            f'<p class="err">error {html.escape(result.error.kind)}: '
            f"{html.escape(result.error.message)}</p>"
        )
    return (
        f'<section class="article" id="{view}">{error}<div class="cols">{"".join(columns)}</div>'
        f'<pre class="panel" id="panel-{view}">click a highlight or a record</pre></section>'
    )


CSS = """
body{font:15px/1.5 system-ui,sans-serif;margin:1.5rem;color:#111}
.cols{display:flex;gap:1.5rem}.col{flex:1;min-width:0}
.text{white-space:pre-wrap;border:1px solid #ddd;padding:.75rem;border-radius:4px}
mark.hl{cursor:pointer;border-radius:2px;padding:0 1px}
.k-events{background:#fde68a}.k-claims{background:#bfdbfe}.k-figures{background:#bbf7d0}
mark.multi{text-decoration:underline}
mark.g-fuzzy{outline:1px dashed #b45309}mark.g-normalized{outline:1px dotted #1d4ed8}
ul.records li{cursor:pointer;margin:.15rem 0}ul.records li.rec{background:none}
.badge{font-size:.75rem;padding:0 .3rem;border-radius:3px;background:#e5e7eb}
.badge.g-not_found{background:#fecaca}.badge.g-exact{background:#d1fae5}
.panel{background:#f8fafc;border:1px solid #ddd;padding:.5rem;white-space:pre-wrap}
.muted{color:#6b7280}.err{color:#b91c1c}.legend mark{margin-right:.5rem}
"""

SCRIPT = """
document.addEventListener('click', (event) => {
  const el = event.target.closest('[data-records]');
  if (!el) return;
  const view = el.dataset.view;
  const base = view.endsWith('-gold') ? view.slice(0, -5) : view;
  const records = JSON.parse(document.getElementById('records-' + view).textContent);
  const shown = el.dataset.records.split(' ').map((tag) => ({tag, ...records[tag]}));
  document.getElementById('panel-' + base).textContent = JSON.stringify(shown, null, 2);
});
"""

LEGEND = (
    '<p class="legend"><mark class="hl k-events">event</mark><mark class="hl k-claims">claim'
    '</mark><mark class="hl k-figures">figure</mark><span class="muted">dashed: fuzzy match; '
    "underlined: several records; hover for a summary, click for every field</span></p>"
)


def page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>{LEGEND}{body}"
        f"<script>{SCRIPT}</script></body></html>\n"
    )
