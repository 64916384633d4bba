"""An article as a reviewer sees it: the text with every record's evidence span highlighted by
type, its grounding status, and the record's fields on hover and on click; gold beside
predicted when gold is given, and matched / missed / spurious when the pairs were scored.
Plain HTML and a little JavaScript, no build step.

One view for every page that shows records: the service's review pages (`/jobs/{id}/view`) call
`article_view`; the eval HTML report builds scored `Mark`s and calls `column` and `section`.
"""

from __future__ import annotations

import html
import itertools
import json
from dataclasses import dataclass
from typing import Any, Literal

from extractor.records import ArticleError, ArticleExtraction, ArticleResult

KINDS = ("events", "claims", "figures")
TAG = {"events": "E", "claims": "C", "figures": "F"}
#: how a scored record fared against gold; None on pages without scoring
Status = Literal["matched", "missed", "spurious"]


@dataclass(frozen=True)
class Mark:
    """One record placed in the text (or not, when its evidence was not found)."""

    kind: str
    tag: str  # E0, C1, F2 … unique within one column
    label: str
    grounding: str
    span: tuple[int, int] | None
    fields: dict[str, Any]
    evidence: str = ""
    status: Status | None = None
    note: str = ""

    @property
    def css(self) -> str:
        status = f" s-{self.status}" if self.status else ""
        return f"k-{self.kind} g-{self.grounding}{status}"

    @property
    def summary(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return f"{self.tag} {self.label} [{self.grounding}]{note}"


def locate(text: str | None, span: tuple[int, int] | None, evidence: str) -> tuple[int, int] | None:
    """The record's span if it fits the text, else the first verbatim occurrence of its quote
    (gold files and old reports may carry no span or one for another version of the text)."""
    if text is None:
        return None
    if span is not None and 0 <= span[0] < span[1] <= len(text):
        return span[0], span[1]
    start = text.find(evidence) if evidence else -1
    return (start, start + len(evidence)) if start >= 0 else None


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
            marks.append(
                Mark(
                    kind,
                    f"{TAG[kind]}{index}",
                    _label(kind, record),
                    str(record.grounding),
                    locate(text, record.span, record.evidence),
                    record.model_dump(mode="json"),
                    evidence=record.evidence,
                )
            )
    return marks


def _first(mark: Mark) -> tuple[bool, int]:
    """Errors (missed, spurious) colour a stretch first, then the innermost record."""
    assert mark.span is not None
    return mark.status not in (None, "matched"), mark.span[0] - mark.span[1]


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
        primary = max(covering, key=_first)
        title = "; ".join(m.summary for m in covering)
        multi = " multi" if len(covering) > 1 else ""
        out.append(
            f'<mark class="hl {primary.css}{multi}" data-view="{view}" '
            f'data-records="{" ".join(m.tag for m in covering)}" data-start="{start}" '
            f'data-end="{end}" title="{html.escape(title)}">{segment}</mark>'
        )
    return "".join(out)


def _record_list(marks: list[Mark], view: str) -> str:
    items = []
    for m in marks:
        where = f"[{m.span[0]}, {m.span[1]})" if m.span else "evidence not found in the text"
        quote = f" “{html.escape(m.evidence)}”" if m.evidence else ""
        note = f"; {html.escape(m.note)}" if m.note else ""
        items.append(
            f'<li class="rec {m.css}" data-view="{view}" data-records="{m.tag}">'
            f'<b>{m.tag}</b> <span class="badge g-{m.grounding}">{m.grounding}</span> '
            f'{html.escape(m.label)}{quote} <span class="muted">{where}{note}</span></li>'
        )
    return (
        f'<ul class="records">{"".join(items)}</ul>' if items else '<p class="muted">no records</p>'
    )


def column(heading: str, text: str | None, marks: list[Mark], view: str) -> str:
    """One side of an article: the highlighted text, its records, and their fields for clicks."""
    data = json.dumps({m.tag: m.fields for m in marks}, ensure_ascii=False).replace("</", "<\\/")
    body = (
        f'<div class="text" id="text-{view}">{highlight(text, marks, view)}</div>'
        if text is not None
        else '<p class="muted">article text not available</p>'
    )
    return (
        f'<div class="col"><h3>{heading}</h3>{body}{_record_list(marks, view)}'
        f'<script type="application/json" id="records-{view}">{data}</script></div>'
    )


def section(view: str, columns: list[str], error: ArticleError | None = None) -> str:
    """One article's columns side by side, with a panel for the clicked record. A gold column's
    view is `{view}-gold`, so its clicks land in the same panel."""
    message = (
        f'<p class="err">error {html.escape(error.kind)}: {html.escape(error.message)}</p>'
        if error
        else ""
    )
    return (
        f'<section class="article" id="{view}">{message}<div class="cols">{"".join(columns)}</div>'
        f'<pre class="panel" id="panel-{view}">click a highlight or a record</pre></section>'
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
        columns.append(column("Gold", text, marks_of(gold, text), f"{view}-gold"))
    if result is None:
        columns.append('<div class="col"><p class="muted">not finished yet</p></div>')
    else:
        columns.append(column("Predicted", text, marks_of(result, text), view))
    return section(view, columns, result.error if result is not None else None)


CSS = """
body{font:15px/1.5 system-ui,sans-serif;margin:1.5rem;color:#111}
.cols{display:flex;gap:1.5rem}.col{flex:1;min-width:0}
.text{white-space:pre-wrap;border:1px solid #ddd;padding:.75rem;border-radius:4px}
mark.hl{cursor:pointer;border-radius:2px;padding:0 1px}
.k-events{background:#fde68a}.k-claims{background:#bfdbfe}.k-figures{background:#bbf7d0}
mark.multi{text-decoration:underline}
mark.g-fuzzy{outline:1px dashed #b45309}mark.g-normalized{outline:1px dotted #1d4ed8}
mark.s-missed{outline:2px solid #dc2626}
mark.s-spurious{outline:2px dashed #dc2626;text-decoration:line-through}
ul.records li{cursor:pointer;margin:.15rem 0}ul.records li.rec{background:none}
li.s-missed,li.s-spurious{color:#991b1b}
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

_KEYS = (
    '<mark class="hl k-events">event</mark><mark class="hl k-claims">claim</mark>'
    '<mark class="hl k-figures">figure</mark>'
)
_SCORED_KEYS = (
    '<mark class="hl k-events s-matched">matched</mark>'
    '<mark class="hl k-events s-missed">missed (gold only)</mark>'
    '<mark class="hl k-events s-spurious">spurious (predicted only)</mark>'
)
_HELP = (
    '<span class="muted">dashed: fuzzy match; underlined: several records; '
    "hover for a summary, click for every field</span>"
)


def legend(scored: bool = False) -> str:
    return f'<p class="legend">{_KEYS}{_SCORED_KEYS if scored else ""}{_HELP}</p>'


def page(title: str, body: str, *, intro: str = "", scored: bool = False, css: str = "") -> str:
    """A self-contained page: `intro` (e.g. summary tables) above the legend, then `body`."""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{CSS}{css}</style></head><body><h1>{html.escape(title)}</h1>{intro}"
        f"{legend(scored)}{body}<script>{SCRIPT}</script></body></html>\n"
    )
