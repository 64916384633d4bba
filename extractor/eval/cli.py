"""`extractor eval …`: score a predictions file against gold, run a suite, compare reports,
and import public benchmarks as suites."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from rich.console import Console

from extractor import errors
from extractor.eval.gold import article_texts
from extractor.eval.report import (
    KINDS,
    MATCH_THRESHOLD,
    TASK_NAMES,
    Kind,
    MatchMode,
    Report,
    SuiteSet,
)
from extractor.eval.suite import DEFAULT_WORK, Suite

if TYPE_CHECKING:  # `eval run`'s module imports the engine: not for `eval score`
    from extractor.eval.run import SuiteRun

app = typer.Typer(
    help="Score predictions against hand-labelled gold, run suites, compare eval reports.",
    no_args_is_help=True,
)


def write_outputs(
    report: Report | SuiteSet,
    report_path: Path | None,
    markdown_path: Path | None,
    html_path: Path | None,
    articles: dict[str, str],
) -> None:
    """Write whichever of the JSON report, Markdown summary and HTML page were asked for (no
    HTML page for several suites: `run` refuses that before it runs)."""
    from extractor.eval import render as reports

    if isinstance(report, SuiteSet):
        summary = reports.suites_markdown(report)
    else:
        summary = reports.markdown_summary(report)
    outputs: list[tuple[Path | None, Callable[[TextIO], object]]] = [
        (report_path, report.write_json),
        (markdown_path, lambda f: f.write(summary)),
    ]
    if isinstance(report, Report):
        outputs.append((html_path, lambda f: f.write(reports.html_report(report, articles))))
    for path, write in outputs:
        if path is None:
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", encoding="utf-8") as f:
                write(f)
        except OSError as exc:
            raise errors.UsageError(f"cannot write {path}: {exc}; pick a writable path") from exc


def check_gate(
    report: Report, fail_under: float | None, task_fail_under: dict[str, float] | None = None
) -> list[str]:
    """One message per scored type whose micro F1 (and task metric whose headline: F1, or recall
    for a recall-only metric) is below its gate."""
    failures = []
    if fail_under is not None:
        failures += [
            f"{kind} F1 {t.f1:.3f} < {fail_under:.3f}"
            for kind, t in report.by_type.items()
            if t.f1 < fail_under
        ]
    task = {m.name: m for m in report.task}
    for name, gate in (task_fail_under or {}).items():
        metric = task.get(name)
        if metric is None:
            failures.append(f"task metric {name} was not computed")
        elif metric.score() < gate:
            failures.append(f"task {name} {metric.headline} {metric.score():.3f} < {gate:.3f}")
    return failures


def _fail_usage(console: Console, exc: errors.ExtractorError) -> typer.Exit:
    console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
    return typer.Exit(2)


ExistingFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]
MatchingOpt = Annotated[
    MatchMode,
    typer.Option(help="how a prediction must agree with gold to count (evals/README.md)"),
]
TypesOpt = Annotated[
    list[str] | None,
    typer.Option("--type", help="score only this record type (repeatable; default: all)"),
]
TaskOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--task", help=f"also compute this benchmark metric (repeatable): {', '.join(TASK_NAMES)}"
    ),
]


def _types(values: list[str] | None) -> list[Kind]:
    if not values:
        return list(KINDS)
    unknown = [v for v in values if v not in KINDS]
    if unknown:
        raise errors.UsageError(f"unknown record type {unknown[0]!r}; pick from {', '.join(KINDS)}")
    return [k for k in KINDS if k in values]


@app.command()
def score(
    predictions: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="predictions JSONL (ArticleResult)"
        ),
    ],
    gold: Annotated[
        Path,
        typer.Option(exists=True, file_okay=False, help="folder of gold files, e.g. evals/gold"),
    ],
    report: Annotated[Path, typer.Option(help="where to write the JSON report")],
    markdown: Annotated[
        Path | None, typer.Option(help="also write a Markdown summary here")
    ] = None,
    html: Annotated[Path | None, typer.Option(help="also write an HTML page here")] = None,
    articles: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            file_okay=False,
            help="folder of article texts for --html (default: gold `source` paths)",
        ),
    ] = None,
    fail_under: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="exit 1 when any type's micro F1 is below this"),
    ] = None,
    threshold: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="similarity a lenient pair needs to count"),
    ] = MATCH_THRESHOLD,
    matching: MatchingOpt = MatchMode.LENIENT,
    types: TypesOpt = None,
    task: TaskOpt = None,
    language: Annotated[
        str | None,
        typer.Option(help="language of the gold texts, to read their numbers (de: 1.000,5)"),
    ] = None,
) -> None:
    """Score an existing predictions file against gold; write the report."""
    from extractor.eval import render as reports
    from extractor.eval import scoring, tasks

    console = Console()
    try:
        # checked as scoring reads each file: parsed once, not twice (problems still exit 2)
        gold_articles = scoring.load_gold(gold, articles, lazy=True)
        preds = scoring.iter_predictions(predictions)
        result = tasks.evaluate(
            preds,
            gold_articles,
            matching=matching,
            threshold=threshold,
            types=_types(types),
            task=task or [],
            language=language,
        )
        texts: dict[str, str] = {}
        if html is not None:
            texts, warnings = article_texts(gold_articles, gold, articles)
            for warning in warnings:
                console.print(f"[yellow]warning:[/] {warning}", soft_wrap=True)
        write_outputs(result, report, markdown, html, texts)
    except errors.ExtractorError as exc:
        raise _fail_usage(console, exc) from exc
    console.print(reports.terminal_table(result))
    for article_id in result.meta.unscored_predictions:
        console.print(f"[yellow]ignored:[/] prediction {article_id} has no gold file")
    failures = check_gate(result, fail_under)
    if failures:
        for failure in failures:
            console.print(f"[bold red]FAIL[/] {failure}")
        raise typer.Exit(1)


@app.command()
def compare(
    a: ExistingFile,
    b: ExistingFile,
    markdown: Annotated[
        Path | None, typer.Option(help="also write the comparison as Markdown here")
    ] = None,
) -> None:
    """Show per-type and per-field deltas (B − A) and the records that changed."""
    from extractor.eval import render as reports
    from extractor.eval import scoring

    console = Console()
    try:
        old, new = scoring.load_report(a), scoring.load_report(b)
        several = isinstance(old, SuiteSet) or isinstance(new, SuiteSet)
        if several:
            diffs = reports.compare_suites(_as_suites(old, a), _as_suites(new, b))
            if not diffs.suites:
                raise errors.UsageError(f"{a} and {b} have no suite in common")
            text = reports.suites_compare_markdown(diffs)
        else:
            diff = reports.compare(old, new)
            text = reports.compare_markdown(diff)
        if markdown is not None:
            markdown.parent.mkdir(parents=True, exist_ok=True)
            markdown.write_text(text, encoding="utf-8")
    except errors.ExtractorError as exc:
        raise _fail_usage(console, exc) from exc
    except OSError as exc:
        raise _fail_usage(console, errors.UsageError(f"cannot write {markdown}: {exc}")) from exc
    if several:
        console.print(reports.suites_compare_table(diffs))
        for name, diff in diffs.suites.items():
            console.print(f"\n[bold]{name}[/]")
            console.print(reports.compare_table(diff))
    else:
        console.print(reports.compare_table(diff))


def _as_suites(report: Report | SuiteSet, path: Path) -> SuiteSet:
    """A one-suite report as a set, to compare it with that suite of a several-suites report."""
    if isinstance(report, SuiteSet):
        return report
    if report.meta.suite is None:
        raise errors.UsageError(
            f"{path} names no suite (written by `eval score`?), so it compares only with "
            "another report of one suite"
        )
    return SuiteSet(suites={report.meta.suite: report})


DEFAULT_SUITE = Path("evals/suites/seeds")


def _data_paths(entries: list[str], suites: list[Suite]) -> dict[str, Path]:
    """Each external suite's --data: `NAME=PATH`, or one plain PATH when one suite needs data."""
    named: dict[str, str] = {}
    plain: list[str] = []
    for entry in entries:
        name, sep, given = entry.partition("=")
        if sep and not Path(entry).exists():
            named[name] = given
        else:
            plain.append(entry)
    external = [s.name for s in suites if s.importer is not None]
    unknown = sorted(set(named) - set(external))
    if unknown:
        raise errors.UsageError(
            f"--data {unknown[0]}=…: no suite of this run named {unknown[0]} takes data "
            f"(those that do: {', '.join(external) or 'none'})"
        )
    if plain and (len(plain) > 1 or len(external) > 1 or named):
        raise errors.UsageError(
            "with several suites that take data, give each one's as --data NAME=PATH "
            f"({' '.join(f'--data {name}=PATH' for name in external)})"
        )
    paths = dict(named)
    if plain and external:
        paths[external[0]] = plain[0]
    for given in paths.values():
        if not Path(given).exists():
            raise errors.UsageError(f"--data {given}: no such file or folder")
    return {name: Path(given) for name, given in paths.items()}


@app.command()
def run(
    suite_dirs: Annotated[
        list[Path] | None,
        typer.Option(
            "--suite",
            help="suite folder with suite.toml, or a suite's name; repeat it to run several "
            f"suites into one report (default: {DEFAULT_SUITE})",
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="model spec; default: the suite's")
    ] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible server")] = None,
    replay: Annotated[
        bool, typer.Option("--replay", help="answer only from the suite's recordings")
    ] = False,
    record: Annotated[
        bool, typer.Option("--record", help="(re-)record the suite's replay data")
    ] = False,
    data: Annotated[
        list[str] | None,
        typer.Option(
            help="the benchmark's data, for suites whose data stays out of the repo: PATH, or "
            "NAME=PATH for each such suite when several run (repeatable)"
        ),
    ] = None,
    work: Annotated[
        Path | None,
        typer.Option(help=f"where such suites are converted to (default: {DEFAULT_WORK})"),
    ] = None,
    report: Annotated[Path, typer.Option(help="where to write the JSON report")] = Path(
        "eval-report.json"
    ),
    predictions: Annotated[
        Path | None, typer.Option(help="also keep the predictions JSONL here (one suite)")
    ] = None,
    markdown: Annotated[Path | None, typer.Option(help="also write a Markdown summary")] = None,
    html: Annotated[Path | None, typer.Option(help="also write an HTML page (one suite)")] = None,
    compare_with: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="an earlier report to compare with"),
    ] = None,
    vs_baseline: Annotated[
        bool,
        typer.Option(
            help="for a model other than the baseline, also run the offline baseline on the "
            "same articles and report the difference"
        ),
    ] = True,
    fail_under: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="overrides the suites' fail_under")
    ] = None,
    matching: Annotated[
        MatchMode | None, typer.Option(help="overrides the suites' matching mode")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="articles in flight at once")] = 1,
) -> None:
    """Run a model over a suite's articles (or several suites') and score the result."""
    from extractor.engine import Options
    from extractor.eval import render as reports
    from extractor.eval import run as run_suite_module
    from extractor.eval import scoring
    from extractor.eval.suite import find_suite, load_suite

    console = Console(stderr=True)
    dirs = suite_dirs or [DEFAULT_SUITE]
    several = len(dirs) > 1
    runs: list[tuple[Suite, run_suite_module.SuiteRun]] = []
    try:
        if replay and record:
            raise errors.UsageError("--replay and --record exclude each other")
        if several and (html is not None or predictions is not None):
            raise errors.UsageError(
                "--html and --predictions take one suite: run that suite alone for them"
            )
        previous = scoring.load_report(compare_with) if compare_with is not None else None
        if several and previous is not None and compare_with is not None:
            previous = _as_suites(previous, compare_with)
        committed = [load_suite(find_suite(d)) for d in dirs]
        data_paths = _data_paths(data or [], committed)
        for suite_dir, plan in zip(dirs, committed, strict=True):
            suite = run_suite_module.prepare(suite_dir, data_paths.get(plan.name), work)
            options = Options(
                model=model or suite.model,
                base_url=base_url,
                replay_dir=suite.replay_dir if replay else None,
                record_dir=suite.replay_dir if record else None,
                use_cache=not (replay or record),
                **suite.options,
            )
            if several:
                console.print(f"[bold]{suite.name}[/] …")
            done = run_suite_module.run_suite(
                suite, options, matching=matching, concurrency=concurrency, vs_baseline=vs_baseline
            )
            runs.append((suite, done))
    except (errors.ExtractorError, TypeError) as exc:
        err = exc if isinstance(exc, errors.ExtractorError) else errors.UsageError(str(exc))
        raise _fail_usage(console, err) from None
    result: Report | SuiteSet
    if several:
        result = SuiteSet(suites={suite.name: done.report for suite, done in runs})
        texts: dict[str, str] = {}
    else:
        suite, done = runs[0]
        result = done.report
        if predictions is not None:
            predictions.parent.mkdir(parents=True, exist_ok=True)
            predictions.write_text(
                "".join(r.model_dump_json() + "\n" for r in done.results), encoding="utf-8"
            )
        texts, _ = article_texts(done.gold, suite.gold_dir)
    try:
        write_outputs(result, report, markdown, html, texts)
    except errors.UsageError as exc:
        raise _fail_usage(console, exc) from None
    if isinstance(result, SuiteSet):
        console.print(reports.suites_table(result))
        if isinstance(previous, SuiteSet):
            console.print(reports.suites_compare_table(reports.compare_suites(previous, result)))
    else:
        console.print(reports.terminal_table(result))
        if previous is not None:
            old = previous.suites.get(suite.name) if isinstance(previous, SuiteSet) else previous
            if old is None:
                console.print(f"[yellow]{compare_with} has no suite {suite.name} to compare[/]")
            else:
                console.print(reports.compare_table(reports.compare(old, result)))
    gate: list[str] = []
    for suite, done in runs:
        prefix = f"{suite.name}: " if several else ""
        gate += [prefix + line for line in _suite_problems(console, suite, done, fail_under)]
    for line in gate:
        console.print(f"[bold red]gate:[/] {line}")
    raise typer.Exit(1 if gate else 0)


def _suite_problems(
    console: Console, suite: Suite, done: SuiteRun, fail_under: float | None
) -> list[str]:
    """Print the suite's failed articles; its gate failures, as lines."""
    results, result = done.results, done.report
    failed = [r for r in results if r.error]
    for r in failed[:20]:
        console.print(f"[red]{r.article_id}[/]: {r.error.kind}: {r.error.message}", soft_wrap=True)
    if len(failed) > 20:
        console.print(f"[red]… and {len(failed) - 20} more failed articles[/]")
    gate = check_gate(
        result,
        fail_under if fail_under is not None else suite.fail_under,
        suite.task_fail_under if fail_under is None else None,
    )
    valid = result.summary.valid_output_rate
    if valid < suite.min_valid_output:
        gate.append(f"valid output {valid:.0%} < {suite.min_valid_output:.0%}")
    # a run that could not ask the model (replay miss, transport, input) never passes
    broken = [r.article_id for r in failed if r.error and r.error.kind != "invalid_output"]
    if broken:
        more = f" (+{len(broken) - 10} more)" if len(broken) > 10 else ""
        shown = ", ".join(broken[:10]) + more
        gate.append(f"articles that never reached a model answer: {shown}")
    return gate


@app.command("import")
def import_(
    format: Annotated[
        str,
        typer.Argument(help="spkatt2023, gepade, measeval, plover or smartdata"),
    ],
    src: Annotated[Path, typer.Argument(exists=True, help="the benchmark's data (file or folder)")],
    out: Annotated[Path, typer.Option(help="the suite folder to write, e.g. evals/suites/NAME")],
) -> None:
    """Convert a public benchmark into a suite: articles, gold files, suite.toml, README."""
    from extractor.eval import importers

    console = Console(stderr=True)
    try:
        converted = importers.run_import(format, src, out)
    except errors.ExtractorError as exc:
        raise _fail_usage(console, exc) from None
    docs = converted.documents
    n = {k: sum(len(getattr(d, k)) for d in docs) for k in KINDS}
    counts = ", ".join(f"{v} {k}" for k, v in n.items() if v) or "no records"
    console.print(f"imported {len(docs)} documents ({counts}) into {out}")
    for reason, count in sorted(converted.dropped.items()):
        console.print(f"  left out or approximated: {reason}: {count}")
