"""Render a scoring report for people: terminal table, PR Markdown, HTML page, run comparison.

Everything here reads the JSON report that `extractor.eval.scoring.score` returns (or a file it was
written to), so a report from CI can be rendered or compared later without the predictions.
"""

from __future__ import annotations

import html
import itertools
from collections import Counter
from dataclasses import dataclass
from typing import Any

from rich.table import Table
from rich.text import Text

from extractor.eval import scoring

KINDS = scoring.KINDS
METRICS = ("precision", "recall", "f1", "macro_f1")
TAG = {"events": "E", "claims": "C", "figures": "F"}
#: summary numbers compared between runs; True when higher is better
SUMMARY_METRICS: dict[str, bool] = {
    "valid_output_rate": True,
    "grounding_rate": True,
    "tokens_total": False,
    "cost_usd": False,
    "latency_p50": False,
    "latency_p95": False,
}
EPS = 1e-9


# --- formatting helpers ----------------------------------------------------------------------


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _delta(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    if abs(value) < EPS:
        return "±0"
    return f"{value:+.{digits}f}".replace("-", "−")


def _summary_lines(report: dict[str, Any]) -> list[tuple[str, str]]:
    s = report["summary"]
    errors = ", ".join(f"{k} {v}" for k, v in s["errors"].items()) or "none"
    tokens = s["tokens"]
    lat = s["latency_s"]
    return [
        ("articles", f"{s['articles']} ({s['predicted_articles']} predicted)"),
        ("valid output", _pct(s["valid_output_rate"])),
        ("grounding", _pct(s["grounding_rate"])),
        ("errors", errors),
        (
            "tokens",
            f"{tokens['total']} ({tokens['prompt']} prompt + {tokens['completion']} completion)",
        ),
        ("cost", f"${s['cost_usd']:.4f}"),
        (
            "latency",
            f"sum {_num(lat['sum'], 2)} s · p50 {_num(lat['p50'], 2)} s · "
            f"p95 {_num(lat['p95'], 2)} s",
        ),
        ("cached", f"{_pct(s['cached_share'])} of {s['requests']} requests"),
    ]


def _title(report: dict[str, Any]) -> str:
    meta = report.get("meta", {})
    models = ", ".join(meta.get("models", [])) or "no model"
    return f"Eval: {models} (match threshold {meta.get('threshold', scoring.MATCH_THRESHOLD)})"


# --- terminal --------------------------------------------------------------------------------


def terminal_table(report: dict[str, Any]) -> Table:
    """Per-type P/R/F1 rows, the run's summary rows and field accuracies, as one grid."""
    types = Table(title=_title(report))
    for column in ("type", "P", "R", "F1", "macro F1", "TP", "FP", "FN", "grounded"):
        types.add_column(column, justify="left" if column == "type" else "right")
    for kind in KINDS:
        t = report["by_type"][kind]
        types.add_row(
            kind,
            *(_num(t[m]) for m in METRICS),
            str(t["tp"]),
            str(t["fp"]),
            str(t["fn"]),
            _pct(t.get("grounding_rate")),
        )
    summary = Table(show_header=False)
    summary.add_column("run")
    summary.add_column("value")
    for label, value in _summary_lines(report):
        summary.add_row(label, value)
    fields = Table(title="Field accuracy over matched pairs", show_header=False)
    fields.add_column("type")
    fields.add_column("fields")
    for kind in KINDS:
        accuracies = report["by_type"][kind]["fields"]
        fields.add_row(kind, " · ".join(f"{k} {_num(v, 2)}" for k, v in accuracies.items()))
    grid = Table.grid(padding=(1, 0))
    grid.add_column()
    for part in (types, summary, fields):
        grid.add_row(part)
    return grid


# --- markdown --------------------------------------------------------------------------------


def markdown_summary(report: dict[str, Any]) -> str:
    """A compact summary for a pull-request comment."""
    lines = [
        f"### {_title(report)}",
        "",
        "| type | P | R | F1 | macro F1 | TP | FP | FN | grounded |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in KINDS:
        t = report["by_type"][kind]
        cells = [*(_num(t[m]) for m in METRICS), str(t["tp"]), str(t["fp"]), str(t["fn"])]
        lines.append(f"| {kind} | {' | '.join(cells)} | {_pct(t.get('grounding_rate'))} |")
    lines += ["", "**Field accuracy** (matched pairs)", "", "| type | fields |", "|---|---|"]
    for kind in KINDS:
        fields = report["by_type"][kind]["fields"]
        lines.append(f"| {kind} | {' · '.join(f'{k} {_num(v, 2)}' for k, v in fields.items())} |")
    lines += ["", "| run | |", "|---|---|"]
    lines += [f"| {label} | {value} |" for label, value in _summary_lines(report)]
    meta = report.get("meta", {})
    if meta.get("unscored_predictions"):
        lines += ["", f"Ignored (no gold): {', '.join(meta['unscored_predictions'])}"]
    return "\n".join(lines) + "\n"


# --- html ------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#111}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem}
td.num{text-align:right}.side{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.text{white-space:pre-wrap;line-height:1.7;border:1px solid #ddd;padding:.6rem;background:#fafafa}
.hl{border-radius:2px;padding:0 1px}.k-events{background:#bfdbfe}.k-claims{background:#fde68a}
.k-figures{background:#bbf7d0}.s-missed{outline:2px solid #dc2626}
.s-spurious{outline:2px dashed #dc2626;text-decoration:line-through}
.multi{box-shadow:inset 0 -3px 0 #6b7280}
sup.tag{font-size:.65em;font-weight:bold;padding:0 2px;border-radius:2px}
sup.s-missed,sup.s-spurious{color:#dc2626}li.s-missed,li.s-spurious{color:#991b1b}
.legend span{display:inline-block;margin-right:1rem;padding:0 .3rem}.err{color:#b91c1c}
.muted{color:#6b7280}
"""


@dataclass(frozen=True)
class _Mark:
    kind: str
    status: str  # matched | missed | spurious
    tag: str
    label: str
    evidence: str
    span: tuple[int, int] | None
    note: str = ""

    @property
    def css(self) -> str:
        return f"k-{self.kind} s-{self.status}"


def _locate(text: str | None, span: list[int] | None, evidence: str) -> tuple[int, int] | None:
    """The record's span if it fits the text, else the first verbatim occurrence."""
    if text is None:
        return None
    if span is not None and 0 <= span[0] < span[1] <= len(text):
        return span[0], span[1]
    start = text.find(evidence) if evidence else -1
    return (start, start + len(evidence)) if start >= 0 else None


def _marks(article: dict[str, Any], text: str | None, side: str) -> list[_Mark]:
    marks: list[_Mark] = []
    for kind in KINDS:
        entry = article[kind]
        for pair in entry["pairs"]:
            view = pair[side]
            own, other = (
                (pair["gold_index"], pair["pred_index"])
                if side == "gold"
                else (pair["pred_index"], pair["gold_index"])
            )
            wrong = [name for name, ok in pair["fields"].items() if not ok]
            note = f"matched {'pred' if side == 'gold' else 'gold'} {TAG[kind]}{other}"
            note += f", similarity {pair['similarity']:.2f}"
            if wrong:
                note += f"; wrong: {', '.join(wrong)}"
            marks.append(
                _Mark(
                    kind,
                    "matched",
                    f"{TAG[kind]}{own}",
                    view["label"],
                    view["evidence"],
                    _locate(text, view["span"], view["evidence"]),
                    note,
                )
            )
        if side == "gold":
            extra = [("missed", m["gold_index"], m) for m in entry["missed"]]
        else:
            extra = [("spurious", s["pred_index"], s) for s in entry["spurious"]]
        for status, index, view in extra:
            marks.append(
                _Mark(
                    kind,
                    status,
                    f"{TAG[kind]}{index}",
                    view["label"],
                    view["evidence"],
                    _locate(text, view["span"], view["evidence"]),
                    status,
                )
            )
    return marks


def _highlight(text: str, marks: list[_Mark]) -> str:
    """Escaped text with every located mark highlighted; overlaps split into segments."""
    located = [(m, m.span) for m in marks if m.span is not None]
    bounds = sorted({0, len(text)} | {p for _, span in located for p in span})
    out: list[str] = []
    for start, end in itertools.pairwise(bounds):
        out += [
            f'<sup class="tag {m.css}">{html.escape(m.tag)}</sup>'
            for m, span in located
            if span[0] == start
        ]
        segment = html.escape(text[start:end])
        covering = [(m, span) for m, span in located if span[0] <= start and end <= span[1]]
        if not covering:
            out.append(segment)
            continue
        # errors (missed / spurious) show first, then the innermost record
        primary = min(covering, key=lambda ms: (ms[0].status == "matched", ms[1][1] - ms[1][0]))
        multi = " multi" if len(covering) > 1 else ""
        title = "; ".join(f"{m.tag} {m.label} ({m.note})" for m, _ in covering)
        out.append(
            f'<span class="hl {primary[0].css}{multi}" title="{html.escape(title)}">'
            f"{segment}</span>"
        )
    return "".join(out)


def _record_list(marks: list[_Mark]) -> str:
    items = []
    for m in sorted(marks, key=lambda m: (KINDS.index(m.kind), int(m.tag[1:]))):
        where = f"[{m.span[0]}, {m.span[1]})" if m.span else "not located in the text"
        items.append(
            f'<li class="{m.css}"><b>{html.escape(m.tag)}</b> {html.escape(m.label)} — '
            f'“{html.escape(m.evidence)}” <span class="muted">{where}; '
            f"{html.escape(m.note)}</span></li>"
        )
    return f"<ul>{''.join(items)}</ul>" if items else '<p class="muted">no records</p>'


def _html_tables(report: dict[str, Any]) -> str:
    rows = []
    for kind in KINDS:
        t = report["by_type"][kind]
        cells = [*(_num(t[m]) for m in METRICS), t["tp"], t["fp"], t["fn"]]
        cells.append(_pct(t.get("grounding_rate")))
        rows.append(
            f'<tr><th><span class="k-{kind} hl">{kind}</span></th>'
            + "".join(f'<td class="num">{c}</td>' for c in cells)
            + f"<td>{html.escape(' · '.join(f'{k} {_num(v, 2)}' for k, v in t['fields'].items()))}"
            "</td></tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("type", "P", "R", "F1", "macro F1", "TP", "FP", "FN", "grounded", "fields")
    )
    summary = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in _summary_lines(report)
    )
    return f"<table><tr>{head}</tr>{''.join(rows)}</table><table>{summary}</table>"


_LEGEND = (
    '<p class="legend"><span class="hl k-events">event</span>'
    '<span class="hl k-claims">claim</span><span class="hl k-figures">figure</span>'
    '<span class="hl k-events s-matched">matched</span>'
    '<span class="hl k-events s-missed">missed (gold only)</span>'
    '<span class="hl k-events s-spurious">spurious (predicted only)</span>'
    '<span class="muted">tags: E/C/F + record index in its file; hover a highlight for details; '
    "an underline marks overlapping records</span></p>"
)


def html_report(report: dict[str, Any], articles: dict[str, str]) -> str:
    """One self-contained page: tables on top, then each article as gold | predicted."""
    sections = []
    for article_id, article in report["articles"].items():
        text = articles.get(article_id)
        error = article.get("error")
        counts = " · ".join(
            f"{kind} TP {article[kind]['tp']} FP {article[kind]['fp']} FN {article[kind]['fn']}"
            for kind in KINDS
        )
        columns = []
        for side, heading in (("gold", "Gold"), ("pred", "Predicted")):
            marks = _marks(article, text, side)
            body = (
                f'<div class="text">{_highlight(text, marks)}</div>'
                if text is not None
                else '<p class="muted">article text not available</p>'
            )
            columns.append(f"<div><h3>{heading}</h3>{body}{_record_list(marks)}</div>")
        error_html = (
            f'<p class="err">error {html.escape(error["kind"])}: '
            f"{html.escape(error['message'])}</p>"
            if error
            else ""
        )
        sections.append(
            f'<section id="{html.escape(article_id, quote=True)}"><h2>{html.escape(article_id)}'
            f'</h2><p class="muted">{counts}</p>{error_html}'
            f'<div class="side">{"".join(columns)}</div></section>'
        )
    title = html.escape(_title(report))
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_CSS}</style></head><body><h1>{title}</h1>{_html_tables(report)}{_LEGEND}"
        f"{''.join(sections)}</body></html>\n"
    )


# --- compare ---------------------------------------------------------------------------------


def _triple(a: float | None, b: float | None) -> dict[str, float | None]:
    delta = None if a is None or b is None else b - a
    return {"a": a, "b": b, "delta": delta}


def _summary_numbers(report: dict[str, Any]) -> dict[str, float | None]:
    s = report["summary"]
    return {
        "valid_output_rate": s["valid_output_rate"],
        "grounding_rate": s["grounding_rate"],
        "tokens_total": s["tokens"]["total"],
        "cost_usd": s["cost_usd"],
        "latency_p50": s["latency_s"]["p50"],
        "latency_p95": s["latency_s"]["p95"],
    }


def _gold_views(
    entry: dict[str, Any],
) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """(matched gold index -> pair, gold index -> gold view) for one article and type."""
    matched = {p["gold_index"]: p for p in entry["pairs"]}
    views = {i: p["gold"] for i, p in matched.items()}
    views.update({m["gold_index"]: m for m in entry["missed"]})
    return matched, views


def _spurious_key(view: dict[str, Any]) -> tuple[str, str]:
    return view["label"], scoring.normalize_text(view["evidence"])


def _record(index: int | None, view: dict[str, Any]) -> dict[str, Any]:
    return {"index": index, "label": view["label"], "evidence": view["evidence"]}


def _article_changes(ea: dict[str, Any], eb: dict[str, Any]) -> dict[str, Any]:
    matched_a, views_a = _gold_views(ea)
    matched_b, views_b = _gold_views(eb)
    views = {**views_a, **views_b}
    gained = sorted(set(matched_b) - set(matched_a))
    lost = sorted(set(matched_a) - set(matched_b))
    fields_changed = []
    for i in sorted(set(matched_a) & set(matched_b)):
        fa, fb = matched_a[i]["fields"], matched_b[i]["fields"]
        for name in fa:
            if name in fb and fa[name] != fb[name]:
                fields_changed.append(
                    {**_record(i, views[i]), "field": name, "a": fa[name], "b": fb[name]}
                )
    spur_a = Counter(_spurious_key(s) for s in ea["spurious"])
    spur_b = Counter(_spurious_key(s) for s in eb["spurious"])
    by_key = {_spurious_key(s): s for s in [*ea["spurious"], *eb["spurious"]]}
    return {
        "gained": [_record(i, views[i]) for i in gained],
        "lost": [_record(i, views[i]) for i in lost],
        "spurious_added": [_record(None, by_key[k]) for k in sorted((spur_b - spur_a).elements())],
        "spurious_removed": [
            _record(None, by_key[k]) for k in sorted((spur_a - spur_b).elements())
        ],
        "fields_changed": fields_changed,
    }


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Deltas b − a per type, field and run number, and the records that changed."""
    by_type: dict[str, Any] = {}
    regressions: list[str] = []
    for kind in KINDS:
        ta, tb = a["by_type"][kind], b["by_type"][kind]
        entry: dict[str, Any] = {m: _triple(ta[m], tb[m]) for m in METRICS}
        entry.update({c: _triple(ta[c], tb[c]) for c in ("tp", "fp", "fn")})
        entry["fields"] = {
            name: _triple(ta["fields"].get(name), tb["fields"].get(name))
            for name in dict.fromkeys([*ta["fields"], *tb["fields"]])
        }
        by_type[kind] = entry
        for m in METRICS:
            if (entry[m]["delta"] or 0.0) < -EPS:
                regressions.append(f"{kind} {m} {_delta(entry[m]['delta'])}")
        for name, t in entry["fields"].items():
            if (t["delta"] or 0.0) < -EPS:
                regressions.append(f"{kind} field {name} {_delta(t['delta'])}")

    sa, sb = _summary_numbers(a), _summary_numbers(b)
    summary = {name: _triple(sa[name], sb[name]) for name in SUMMARY_METRICS}
    for name, higher_better in SUMMARY_METRICS.items():
        d = summary[name]["delta"]
        if higher_better and d is not None and d < -EPS:
            regressions.append(f"{name} {_delta(d)}")

    articles: dict[str, Any] = {}
    common = [aid for aid in a["articles"] if aid in b["articles"]]
    for aid in common:
        per_type = {
            kind: _article_changes(a["articles"][aid][kind], b["articles"][aid][kind])
            for kind in KINDS
        }
        per_type = {k: v for k, v in per_type.items() if any(v.values())}
        if per_type:
            articles[aid] = per_type
        for kind, changes in per_type.items():
            if changes["lost"]:
                regressions.append(f"{aid} {kind}: {len(changes['lost'])} gold record(s) lost")
            if changes["spurious_added"]:
                regressions.append(
                    f"{aid} {kind}: {len(changes['spurious_added'])} new spurious record(s)"
                )
    return {
        "by_type": by_type,
        "summary": summary,
        "articles": articles,
        "only_in_a": sorted(set(a["articles"]) - set(b["articles"])),
        "only_in_b": sorted(set(b["articles"]) - set(a["articles"])),
        "regressions": regressions,
        "meta": {"a": a.get("meta", {}), "b": b.get("meta", {})},
    }


def _is_bad(name: str, delta: float | None) -> bool:
    """Quality down, or cost/latency/tokens up."""
    if delta is None:
        return False
    higher_better = SUMMARY_METRICS.get(name, True)
    return delta < -EPS if higher_better else delta > EPS


def _md_delta(name: str, delta: float | None) -> str:
    text = _delta(delta, _digits(name))
    return f"**{text} ▼**" if _is_bad(name, delta) else text


def _change_lines(diff: dict[str, Any]) -> list[str]:
    labels = {
        "lost": "lost (matched in A only)",
        "gained": "gained (matched in B only)",
        "spurious_added": "new spurious",
        "spurious_removed": "spurious gone",
    }
    lines = []
    for aid, per_type in diff["articles"].items():
        for kind, changes in per_type.items():
            for key, label in labels.items():
                for r in changes[key]:
                    idx = f" {TAG[kind]}{r['index']}" if r["index"] is not None else ""
                    bad = "▼ " if key in ("lost", "spurious_added") else ""
                    lines.append(f"{bad}{aid} {kind}{idx} {label}: {r['label']} “{r['evidence']}”")
            for r in changes["fields_changed"]:
                bad = "▼ " if r["a"] and not r["b"] else ""
                lines.append(
                    f"{bad}{aid} {kind} {TAG[kind]}{r['index']} field {r['field']}: "
                    f"{'ok' if r['a'] else 'wrong'} → {'ok' if r['b'] else 'wrong'}"
                )
    return lines


def _delta_rows(diff: dict[str, Any]) -> tuple[list[tuple[str, str, dict[str, Any]]], int]:
    """(type, metric, a/b/delta) rows to show, and how many unchanged fields were left out."""
    rows: list[tuple[str, str, dict[str, Any]]] = []
    unchanged = 0
    for kind in KINDS:
        t = diff["by_type"][kind]
        rows += [(kind, m, t[m]) for m in METRICS]
        for name, v in t["fields"].items():
            if v["a"] == v["b"]:
                unchanged += 1
            else:
                rows.append((kind, f"field {name}", v))
    rows += [("run", name, v) for name, v in diff["summary"].items()]
    return rows, unchanged


def _digits(name: str) -> int:
    return {"cost_usd": 4, "tokens_total": 0}.get(name, 3)


def compare_markdown(diff: dict[str, Any]) -> str:
    """Deltas as Markdown; every regression is bold and marked ▼."""
    n = len(diff["regressions"])
    rows, unchanged = _delta_rows(diff)
    lines = [
        "### Eval compare: A → B (Δ = B − A)",
        "",
        f"**{n} regression(s) ▼**" if n else "No regressions.",
        "",
        "| type | metric | A | B | Δ |",
        "|---|---|---:|---:|---:|",
    ]
    for kind, name, v in rows:
        d = _digits(name)
        lines.append(
            f"| {kind} | {name} | {_num(v['a'], d)} | {_num(v['b'], d)} | "
            f"{_md_delta(name, v['delta'])} |"
        )
    if unchanged:
        lines += ["", f"{unchanged} field accuracies unchanged (not shown)."]
    changes = _change_lines(diff)
    if changes:
        lines += ["", "**Records that changed**", ""]
        lines += [f"- {line}" for line in changes]
    for side in ("a", "b"):
        if diff[f"only_in_{side}"]:
            lines += ["", f"Only in {side.upper()}: {', '.join(diff[f'only_in_{side}'])}"]
    return "\n".join(lines) + "\n"


def compare_table(diff: dict[str, Any]) -> Table:
    """The same deltas for the terminal: regressions in red and marked ▼."""
    n = len(diff["regressions"])
    rows, unchanged = _delta_rows(diff)
    caption = f"{n} regression(s)" if n else "no regressions"
    if unchanged:
        caption += f"; {unchanged} field accuracies unchanged (not shown)"
    table = Table(title="Eval compare: A → B (Δ = B − A)", caption=caption)
    for column in ("type", "metric", "A", "B", "Δ"):
        table.add_column(column, justify="left" if column in ("type", "metric") else "right")
    previous = None
    for kind, name, v in rows:
        if previous is not None and kind != previous:
            table.add_section()
        previous = kind
        d = _digits(name)
        bad = _is_bad(name, v["delta"])
        style = "bold red" if bad else ("green" if v["delta"] else "")
        table.add_row(
            kind,
            name,
            _num(v["a"], d),
            _num(v["b"], d),
            Text(_delta(v["delta"], d) + (" ▼" if bad else ""), style=style),
        )
    grid = Table.grid(padding=(1, 0))
    grid.add_column()
    grid.add_row(table)
    changes = _change_lines(diff)
    if changes:
        records = Table(title="Records that changed", show_header=False)
        records.add_column("change")
        for line in changes:
            records.add_row(Text(line, style="red" if line.startswith("▼") else ""))
        grid.add_row(records)
    return grid
