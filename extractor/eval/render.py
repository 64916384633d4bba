"""Render a scoring report for people: terminal table, PR Markdown, HTML page, run comparison,
and the one table over several suites.

Everything here reads the typed `Report` that `extractor.eval.scoring.score` returns (or that
`scoring.load_report` reads back from a file), so a report from CI can be rendered or compared
later without the predictions.
"""

from __future__ import annotations

import html
from collections import Counter

from rich.table import Table
from rich.text import Text

from extractor import review
from extractor.eval import scoring
from extractor.eval.report import (
    KINDS,
    ArticleScore,
    Changes,
    Comparison,
    Delta,
    FieldChange,
    Kind,
    MatchMode,
    RecordRef,
    RecordView,
    Report,
    SuitesComparison,
    SuiteSet,
    TypeDelta,
    TypeMetrics,
    TypeScore,
    VersusBaseline,
)
from extractor.review import TAG, Mark, Status

METRICS = ("precision", "recall", "f1", "macro_f1")
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


def _summary_lines(report: Report) -> list[tuple[str, str]]:
    s = report.summary
    errors = ", ".join(f"{k} {v}" for k, v in s.errors.items()) or "none"
    tokens, lat = s.tokens, s.latency_s
    return [
        ("articles", f"{s.articles} ({s.predicted_articles} predicted)"),
        ("valid output", _pct(s.valid_output_rate)),
        ("grounding", _pct(s.grounding_rate)),
        ("errors", errors),
        ("tokens", f"{tokens.total} ({tokens.prompt} prompt + {tokens.completion} completion)"),
        ("cost", f"${s.cost_usd:.4f}"),
        (
            "latency",
            f"sum {_num(lat.sum, 2)} s · p50 {_num(lat.p50, 2)} s · p95 {_num(lat.p95, 2)} s",
        ),
        ("cached", f"{_pct(s.cached_share)} of {s.requests} requests"),
    ]


def _title(report: Report) -> str:
    meta = report.meta
    models = ", ".join(meta.models) or "no model"
    suite = f"{meta.suite}: " if meta.suite else ""
    return f"Eval: {suite}{models} ({meta.matching} matching, threshold {meta.threshold})"


def _mode_f1(report: Report, kind: Kind, mode: MatchMode) -> str:
    counts = report.modes.get(mode, {}).get(kind)
    return _num(counts.f1) if counts else "–"


def _type_cells(report: Report, kind: Kind, t: TypeMetrics) -> list[str]:
    """P, R, F1, macro F1, lenient F1, strict F1, TP, FP, FN, grounded."""
    return [
        *(_num(getattr(t, m)) for m in METRICS),
        _mode_f1(report, kind, MatchMode.LENIENT),
        _mode_f1(report, kind, MatchMode.STRICT),
        str(t.tp),
        str(t.fp),
        str(t.fn),
        _pct(t.grounding_rate),
    ]


TYPE_COLUMNS = (
    "type",
    "P",
    "R",
    "F1",
    "macro F1",
    "lenient F1",
    "strict F1",
    "TP",
    "FP",
    "FN",
    "grounded",
)


def _fields_line(t: TypeMetrics) -> str:
    return " · ".join(f"{k} {_num(v, 2)}" for k, v in t.fields.items())


def _task_lines(report: Report) -> list[tuple[str, str]]:
    lines = []
    for m in report.task:
        text = (
            f"P {_num(m.precision)} · R {_num(m.recall)} · F1 {_num(m.f1)} "
            f"(TP {m.tp} FP {'–' if m.fp is None else m.fp} FN {m.fn}"
            + (f", predictions counted {m.counted}" if m.counted is not None else "")
            + ")"
        )
        if m.values_right is not None:
            text += f" · values right {_num(m.values_right)}"
        lines.append((f"{m.name}: {m.description}", text))
    return lines


# --- terminal --------------------------------------------------------------------------------


def terminal_table(report: Report) -> Table:
    """Per-type P/R/F1 rows, the run's summary rows and field accuracies, as one grid."""
    types = Table(title=_title(report))
    for column in TYPE_COLUMNS:
        types.add_column(column, justify="left" if column == "type" else "right")
    for kind, t in report.by_type.items():
        types.add_row(kind, *_type_cells(report, kind, t))
    summary = Table(show_header=False)
    summary.add_column("run")
    summary.add_column("value")
    for label, value in _summary_lines(report):
        summary.add_row(label, value)
    fields = Table(title="Field accuracy over matched pairs", show_header=False)
    fields.add_column("type")
    fields.add_column("fields")
    for kind, t in report.by_type.items():
        fields.add_row(kind, _fields_line(t))
    parts = [types, summary, fields]
    if report.vs_baseline is not None:
        parts.append(baseline_table(report.vs_baseline))
    if report.task:
        task = Table(title="Benchmark task metrics (the benchmark's own headline numbers)")
        task.add_column("metric")
        task.add_column("value")
        for label, value in _task_lines(report):
            task.add_row(label, value)
        parts.append(task)
    grid = Table.grid(padding=(1, 0))
    grid.add_column()
    for part in parts:
        grid.add_row(part)
    return grid


# --- markdown --------------------------------------------------------------------------------


def versus_baseline(baseline: Report, run: Report) -> VersusBaseline:
    """The run (B) against the baseline (A): per-type and task deltas, type-level regressions."""
    diff = compare(baseline, run)
    kinds = tuple(diff.by_type)
    return VersusBaseline(
        baseline=baseline.meta,
        by_type=diff.by_type,
        task=diff.task,
        regressions=[r for r in diff.regressions if r.split(" ", 1)[0] in (*kinds, "task")],
    )


def _baseline_rows(v: VersusBaseline) -> list[tuple[str, str, Delta]]:
    rows: list[tuple[str, str, Delta]] = []
    for kind, t in v.by_type.items():
        rows.append((kind, "f1", t.f1))
        if t.strict_f1 is not None:
            rows.append((kind, "strict f1", t.strict_f1))
    rows += [("task", name, d) for name, d in v.task.items()]
    return rows


def baseline_table(v: VersusBaseline) -> Table:
    table = Table(title="Against the offline baseline on the same suite (Δ = model − baseline)")
    for column in ("type", "metric", "baseline", "model", "Δ"):
        table.add_column(column, justify="left" if column in ("type", "metric") else "right")
    for kind, name, d in _baseline_rows(v):
        table.add_row(kind, name, _num(d.a), _num(d.b), _delta_cell(name, d.delta))
    return table


def markdown_summary(report: Report) -> str:
    """A compact summary for a pull-request comment."""
    lines = [
        f"### {_title(report)}",
        "",
        f"| {' | '.join(TYPE_COLUMNS)} |",
        "|---" + "|---:" * (len(TYPE_COLUMNS) - 1) + "|",
    ]
    for kind, t in report.by_type.items():
        lines.append(f"| {kind} | {' | '.join(_type_cells(report, kind, t))} |")
    lines += ["", "**Field accuracy** (matched pairs)", "", "| type | fields |", "|---|---|"]
    lines += [f"| {kind} | {_fields_line(t)} |" for kind, t in report.by_type.items()]
    if report.task:
        lines += ["", "**Benchmark task metrics**", "", "| metric | value |", "|---|---|"]
        lines += [f"| {label} | {value} |" for label, value in _task_lines(report)]
    if report.vs_baseline is not None:
        lines += [
            "",
            "**Against the offline baseline** (same suite; Δ = model − baseline)",
            "",
            "| type | metric | baseline | model | Δ |",
            "|---|---|---:|---:|---:|",
        ]
        lines += [
            f"| {kind} | {name} | {_num(d.a)} | {_num(d.b)} | {_md_delta(name, d.delta)} |"
            for kind, name, d in _baseline_rows(report.vs_baseline)
        ]
    lines += ["", "| run | |", "|---|---|"]
    lines += [f"| {label} | {value} |" for label, value in _summary_lines(report)]
    if report.meta.unscored_predictions:
        lines += ["", f"Ignored (no gold): {', '.join(report.meta.unscored_predictions)}"]
    return "\n".join(lines) + "\n"


# --- html ------------------------------------------------------------------------------------

_TABLE_CSS = """
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem}
td.num{text-align:right}th .hl{padding:0 .3rem}
"""


def _mark(
    kind: Kind, status: Status, index: int, record: RecordView, text: str | None, note: str
) -> Mark:
    fields = {**record.model_dump(mode="json"), "status": status, "note": note}
    span = review.locate(text, record.span, record.evidence)
    return Mark(
        kind,
        f"{TAG[kind]}{index}",
        record.label,
        record.grounding,
        span,
        fields,
        evidence=record.evidence,
        status=status,
        note=note,
    )


def _marks(article: ArticleScore, text: str | None, side: str) -> list[Mark]:
    """One side's records (gold or predicted), each marked matched, missed or spurious."""
    marks: list[Mark] = []
    for kind, entry in article.by_kind().items():
        for pair in entry.pairs:
            record = pair.gold if side == "gold" else pair.pred
            own, other = (
                (pair.gold_index, pair.pred_index)
                if side == "gold"
                else (pair.pred_index, pair.gold_index)
            )
            wrong = [name for name, ok in pair.fields.items() if not ok]
            note = f"matched {'pred' if side == 'gold' else 'gold'} {TAG[kind]}{other}"
            note += f", similarity {pair.similarity:.2f}"
            if wrong:
                note += f"; wrong: {', '.join(wrong)}"
            marks.append(_mark(kind, "matched", own, record, text, note))
        extra: list[tuple[Status, int, RecordView]]
        if side == "gold":
            extra = [("missed", m.gold_index, m) for m in entry.missed]
        else:
            extra = [("spurious", s.pred_index, s) for s in entry.spurious]
        for status, index, record in extra:
            marks.append(_mark(kind, status, index, record, text, status))
    return sorted(marks, key=lambda m: (review.KINDS.index(m.kind), int(m.tag[1:])))


def _html_tables(report: Report) -> str:
    rows = []
    for kind, t in report.by_type.items():
        rows.append(
            f'<tr><th><span class="k-{kind} hl">{kind}</span></th>'
            + "".join(f'<td class="num">{c}</td>' for c in _type_cells(report, kind, t))
            + f"<td>{html.escape(_fields_line(t))}</td></tr>"
        )
    head = "".join(f"<th>{h}</th>" for h in (*TYPE_COLUMNS, "fields"))
    summary = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in [*_task_lines(report), *_summary_lines(report)]
    )
    return f"<table><tr>{head}</tr>{''.join(rows)}</table><table>{summary}</table>"


def html_report(report: Report, articles: dict[str, str]) -> str:
    """One self-contained page: tables on top, then each article as gold | predicted in the
    review view (`extractor.review`) the service's pages use."""
    sections = []
    for n, (article_id, article) in enumerate(report.articles.items()):
        text = articles.get(article_id)
        counts = " · ".join(
            f"{kind} TP {t.tp} FP {t.fp} FN {t.fn}" for kind, t in article.by_kind().items()
        )
        view = f"a{n}"
        columns = [
            review.column("Gold", text, _marks(article, text, "gold"), f"{view}-gold"),
            review.column("Predicted", text, _marks(article, text, "pred"), view),
        ]
        sections.append(
            f'<h2 id="{html.escape(article_id, quote=True)}">{html.escape(article_id)}</h2>'
            f'<p class="muted">{counts}</p>{review.section(view, columns, article.error)}'
        )
    return review.page(
        _title(report), "".join(sections), intro=_html_tables(report), scored=True, css=_TABLE_CSS
    )


# --- compare ---------------------------------------------------------------------------------


def _summary_numbers(report: Report) -> dict[str, float | None]:
    s = report.summary
    return {
        "valid_output_rate": s.valid_output_rate,
        "grounding_rate": s.grounding_rate,
        "tokens_total": s.tokens.total,
        "cost_usd": s.cost_usd,
        "latency_p50": s.latency_s.p50,
        "latency_p95": s.latency_s.p95,
    }


def _gold_views(entry: TypeScore) -> tuple[dict[int, dict[str, bool]], dict[int, RecordView]]:
    """(matched gold index -> field agreement, gold index -> gold view) for one type."""
    matched = {p.gold_index: p.fields for p in entry.pairs}
    views: dict[int, RecordView] = {p.gold_index: p.gold for p in entry.pairs}
    views.update({m.gold_index: m for m in entry.missed})
    return matched, views


def _spurious_key(view: RecordView) -> tuple[str, str]:
    return view.label, scoring.normalize_text(view.evidence)


def _ref(index: int | None, view: RecordView) -> RecordRef:
    return RecordRef(index=index, label=view.label, evidence=view.evidence)


def _article_changes(ea: TypeScore, eb: TypeScore) -> Changes:
    matched_a, views_a = _gold_views(ea)
    matched_b, views_b = _gold_views(eb)
    views = {**views_a, **views_b}
    fields_changed = []
    for i in sorted(set(matched_a) & set(matched_b)):
        fa, fb = matched_a[i], matched_b[i]
        for name in fa:
            if name in fb and fa[name] != fb[name]:
                ref = _ref(i, views[i])
                fields_changed.append(
                    FieldChange(**ref.model_dump(), field=name, a=fa[name], b=fb[name])
                )
    spur_a = Counter(_spurious_key(s) for s in ea.spurious)
    spur_b = Counter(_spurious_key(s) for s in eb.spurious)
    by_key = {_spurious_key(s): s for s in [*ea.spurious, *eb.spurious]}
    return Changes(
        gained=[_ref(i, views[i]) for i in sorted(set(matched_b) - set(matched_a))],
        lost=[_ref(i, views[i]) for i in sorted(set(matched_a) - set(matched_b))],
        spurious_added=[_ref(None, by_key[k]) for k in sorted((spur_b - spur_a).elements())],
        spurious_removed=[_ref(None, by_key[k]) for k in sorted((spur_a - spur_b).elements())],
        fields_changed=fields_changed,
    )


def _type_delta(a: Report, b: Report, kind: Kind) -> TypeDelta:
    ta, tb = a.by_type[kind], b.by_type[kind]
    strict_a = a.modes.get(MatchMode.STRICT, {}).get(kind)
    strict_b = b.modes.get(MatchMode.STRICT, {}).get(kind)
    return TypeDelta(
        **{m: Delta.of(getattr(ta, m), getattr(tb, m)) for m in (*METRICS, "tp", "fp", "fn")},
        strict_f1=(
            Delta.of(strict_a.f1, strict_b.f1) if strict_a is not None and strict_b else None
        ),
        fields={
            name: Delta.of(ta.fields.get(name), tb.fields.get(name))
            for name in dict.fromkeys([*ta.fields, *tb.fields])
        },
    )


def compare(a: Report, b: Report) -> Comparison:
    """Deltas b − a per type, field and run number, and the records that changed."""
    kinds = [k for k in KINDS if k in a.by_type and k in b.by_type]
    by_type = {kind: _type_delta(a, b, kind) for kind in kinds}
    regressions: list[str] = []
    for kind, entry in by_type.items():
        named = [(m, getattr(entry, m)) for m in METRICS]
        if entry.strict_f1 is not None:
            named.append(("strict f1", entry.strict_f1))
        for m, d in named:
            if (d.delta or 0.0) < -EPS:
                regressions.append(f"{kind} {m} {_delta(d.delta)}")
        for name, t in entry.fields.items():
            if (t.delta or 0.0) < -EPS:
                regressions.append(f"{kind} field {name} {_delta(t.delta)}")

    sa, sb = _summary_numbers(a), _summary_numbers(b)
    summary = {name: Delta.of(sa[name], sb[name]) for name in SUMMARY_METRICS}
    for name, higher_better in SUMMARY_METRICS.items():
        d = summary[name].delta
        if higher_better and d is not None and d < -EPS:
            regressions.append(f"{name} {_delta(d)}")

    task_a = {m.name: m for m in a.task}
    task = {f"{m.name} f1": Delta.of(task_a[m.name].f1, m.f1) for m in b.task if m.name in task_a}
    for name, d in task.items():
        if (d.delta or 0.0) < -EPS:
            regressions.append(f"task {name} {_delta(d.delta)}")

    articles: dict[str, dict[Kind, Changes]] = {}
    for aid in [aid for aid in a.articles if aid in b.articles]:
        kinds_a, kinds_b = a.articles[aid].by_kind(), b.articles[aid].by_kind()
        per_type = {
            kind: _article_changes(kinds_a[kind], kinds_b[kind])
            for kind in kinds
            if kind in kinds_a and kind in kinds_b
        }
        per_type = {k: v for k, v in per_type.items() if v.any()}
        if per_type:
            articles[aid] = per_type
        for kind, changes in per_type.items():
            if changes.lost:
                regressions.append(f"{aid} {kind}: {len(changes.lost)} gold record(s) lost")
            if changes.spurious_added:
                regressions.append(
                    f"{aid} {kind}: {len(changes.spurious_added)} new spurious record(s)"
                )
    return Comparison(
        by_type=by_type,
        summary=summary,
        task=task,
        articles=articles,
        only_in_a=sorted(set(a.articles) - set(b.articles)),
        only_in_b=sorted(set(b.articles) - set(a.articles)),
        regressions=regressions,
        meta_a=a.meta,
        meta_b=b.meta,
    )


def _is_bad(name: str, delta: float | None) -> bool:
    """Quality down, or cost/latency/tokens up."""
    if delta is None:
        return False
    higher_better = SUMMARY_METRICS.get(name, True)
    return delta < -EPS if higher_better else delta > EPS


def _delta_cell(name: str, delta: float | None, digits: int = 3) -> Text:
    """A terminal Δ: regressions bold red and marked ▼, other changes green."""
    bad = _is_bad(name, delta)
    style = "bold red" if bad else ("green" if delta else "")
    return Text(_delta(delta, digits) + (" ▼" if bad else ""), style=style)


def _md_delta(name: str, delta: float | None) -> str:
    text = _delta(delta, _digits(name))
    return f"**{text} ▼**" if _is_bad(name, delta) else text


_CHANGE_LABELS = {
    "lost": "lost (matched in A only)",
    "gained": "gained (matched in B only)",
    "spurious_added": "new spurious",
    "spurious_removed": "spurious gone",
}


def _change_lines(diff: Comparison) -> list[str]:
    lines = []
    for aid, per_type in diff.articles.items():
        for kind, changes in per_type.items():
            for key, label in _CHANGE_LABELS.items():
                refs: list[RecordRef] = getattr(changes, key)
                for r in refs:
                    idx = f" {TAG[kind]}{r.index}" if r.index is not None else ""
                    bad = "▼ " if key in ("lost", "spurious_added") else ""
                    lines.append(f"{bad}{aid} {kind}{idx} {label}: {r.label} “{r.evidence}”")
            for f in changes.fields_changed:
                bad = "▼ " if f.a and not f.b else ""
                lines.append(
                    f"{bad}{aid} {kind} {TAG[kind]}{f.index} field {f.field}: "
                    f"{'ok' if f.a else 'wrong'} → {'ok' if f.b else 'wrong'}"
                )
    return lines


def _delta_rows(diff: Comparison) -> tuple[list[tuple[str, str, Delta]], int]:
    """(type, metric, a/b/delta) rows to show, and how many unchanged fields were left out."""
    rows: list[tuple[str, str, Delta]] = []
    unchanged = 0
    for kind, t in diff.by_type.items():
        rows += [(kind, m, getattr(t, m)) for m in METRICS]
        if t.strict_f1 is not None:
            rows.append((kind, "strict f1", t.strict_f1))
        for name, v in t.fields.items():
            if v.a == v.b:
                unchanged += 1
            else:
                rows.append((kind, f"field {name}", v))
    rows += [("task", name, v) for name, v in diff.task.items()]
    rows += [("run", name, v) for name, v in diff.summary.items()]
    return rows, unchanged


def _digits(name: str) -> int:
    return {"cost_usd": 4, "tokens_total": 0}.get(name, 3)


def compare_markdown(diff: Comparison) -> str:
    """Deltas as Markdown; every regression is bold and marked ▼."""
    n = len(diff.regressions)
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
            f"| {kind} | {name} | {_num(v.a, d)} | {_num(v.b, d)} | {_md_delta(name, v.delta)} |"
        )
    if unchanged:
        lines += ["", f"{unchanged} field accuracies unchanged (not shown)."]
    changes = _change_lines(diff)
    if changes:
        lines += ["", "**Records that changed**", ""]
        lines += [f"- {line}" for line in changes]
    for side, only in (("A", diff.only_in_a), ("B", diff.only_in_b)):
        if only:
            lines += ["", f"Only in {side}: {', '.join(only)}"]
    return "\n".join(lines) + "\n"


def compare_table(diff: Comparison) -> Table:
    """The same deltas for the terminal: regressions in red and marked ▼."""
    n = len(diff.regressions)
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
        table.add_row(kind, name, _num(v.a, d), _num(v.b, d), _delta_cell(name, v.delta, d))
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


# --- several suites --------------------------------------------------------------------------

SUITE_COLUMNS = ("suite", "type", "P", "R", "F1", "lenient", "strict")


def _suites(n: int) -> str:
    return f"{n} suite" if n == 1 else f"{n} suites"


def _suite_rows(suites: SuiteSet) -> list[list[str]]:
    """Per suite: a row per scored type (F1 in the suite's matching mode), then a row per
    benchmark task metric (its P/R/F1 under the benchmark's own rule)."""
    rows = []
    for name, report in suites.suites.items():
        first = len(rows)
        for kind, t in report.by_type.items():
            rows.append(
                [
                    "",
                    kind,
                    *(_num(getattr(t, m)) for m in ("precision", "recall", "f1")),
                    _mode_f1(report, kind, MatchMode.LENIENT),
                    _mode_f1(report, kind, MatchMode.STRICT),
                ]
            )
        for m in report.task:
            rows.append(["", f"task {m.name}", _num(m.precision), _num(m.recall), _num(m.f1)])
            rows[-1] += ["", ""]
        rows[first][0] = name
    return rows


def _suites_title(suites: SuiteSet) -> str:
    models = sorted({m for r in suites.suites.values() for m in r.meta.models}) or ["no model"]
    return (
        f"Eval: {_suites(len(suites.suites))}, {', '.join(models)} "
        "(F1 in each suite's matching; lenient and strict F1)"
    )


def suites_table(suites: SuiteSet) -> Table:
    """One row per suite and scored type: the headline numbers of a run over several suites."""
    table = Table(title=_suites_title(suites))
    for column in SUITE_COLUMNS:
        left = column in ("suite", "type")
        table.add_column(column, justify="left" if left else "right", no_wrap=left)
    for row in _suite_rows(suites):
        if row[0]:
            table.add_section()
        table.add_row(*row)
    return table


def suites_markdown(suites: SuiteSet) -> str:
    """The table over all suites, then each suite's own summary."""
    lines = [
        f"## {_suites_title(suites)}",
        "",
        f"| {' | '.join(SUITE_COLUMNS)} |",
        "|---|---" + "|---:" * (len(SUITE_COLUMNS) - 2) + "|",
    ]
    lines += [f"| {' | '.join(row)} |" for row in _suite_rows(suites)]
    parts = ["\n".join(lines) + "\n"]
    parts += [markdown_summary(report) for report in suites.suites.values()]
    return "\n".join(parts)


def compare_suites(a: SuiteSet, b: SuiteSet) -> SuitesComparison:
    """A comparison per suite that both runs have, in B's order."""
    return SuitesComparison(
        suites={
            name: compare(a.suites[name], r) for name, r in b.suites.items() if name in a.suites
        },
        only_in_a=[name for name in a.suites if name not in b.suites],
        only_in_b=[name for name in b.suites if name not in a.suites],
    )


def _suite_delta_rows(diffs: SuitesComparison) -> list[tuple[str, str, str, Delta]]:
    rows = []
    for name, diff in diffs.suites.items():
        for kind, t in diff.by_type.items():
            rows.append((name, kind, "f1", t.f1))
            if t.strict_f1 is not None:
                rows.append((name, kind, "strict f1", t.strict_f1))
        rows += [(name, "task", metric, d) for metric, d in diff.task.items()]
    return rows


def _suites_caption(diffs: SuitesComparison) -> str:
    n = sum(len(d.regressions) for d in diffs.suites.values())
    parts = [f"{n} regression(s) in all" if n else "no regressions"]
    parts += [
        f"only in {side}: {', '.join(only)}"
        for side, only in (("A", diffs.only_in_a), ("B", diffs.only_in_b))
        if only
    ]
    return "; ".join(parts)


def suites_compare_table(diffs: SuitesComparison) -> Table:
    """F1 per suite and type, A → B (each suite's full comparison: `compare_table`)."""
    table = Table(
        title=f"Eval compare over {_suites(len(diffs.suites))}: A → B (Δ = B − A)",
        caption=_suites_caption(diffs),
    )
    for column in ("suite", "type", "metric", "A", "B", "Δ"):
        table.add_column(column, justify="right" if column in ("A", "B", "Δ") else "left")
    previous = None
    for name, kind, metric, d in _suite_delta_rows(diffs):
        if previous is not None and name != previous:
            table.add_section()
        table.add_row(
            name if name != previous else "",
            kind,
            metric,
            _num(d.a),
            _num(d.b),
            _delta_cell(metric, d.delta),
        )
        previous = name
    return table


def suites_compare_markdown(diffs: SuitesComparison) -> str:
    """The table over all suites, then each suite's own comparison."""
    caption = _suites_caption(diffs)
    lines = [
        f"## Eval compare over {_suites(len(diffs.suites))}: A → B (Δ = B − A)",
        "",
        caption[0].upper() + caption[1:] + ".",
        "",
        "| suite | type | metric | A | B | Δ |",
        "|---|---|---|---:|---:|---:|",
    ]
    lines += [
        f"| {name} | {kind} | {metric} | {_num(d.a)} | {_num(d.b)} | {_md_delta(metric, d.delta)} |"
        for name, kind, metric, d in _suite_delta_rows(diffs)
    ]
    parts = ["\n".join(lines) + "\n"]
    parts += [f"### {name}\n\n" + compare_markdown(diff) for name, diff in diffs.suites.items()]
    return "\n".join(parts)
