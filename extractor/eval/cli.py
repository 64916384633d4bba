"""`extractor eval …`: score a predictions file against gold, and compare two reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from extractor import errors, records
from extractor.eval import render as reports
from extractor.eval import scoring

app = typer.Typer(
    help="Score predictions against hand-labelled gold and compare eval reports.",
    no_args_is_help=True,
)


def find_repo_root(gold_dir: Path) -> Path:
    """Gold `source` paths are relative to the folder that holds `evals/`."""
    resolved = gold_dir.resolve()
    for parent in [resolved, *resolved.parents]:
        if parent.name == "evals":
            return parent.parent
    return resolved.parent


def article_texts(
    gold: dict[str, records.GoldArticle], gold_dir: Path, articles_dir: Path | None = None
) -> tuple[dict[str, str], list[str]]:
    """(article_id -> text, warnings) for the HTML page; a missing text is a warning only.

    Without `articles_dir`, each gold `source` is read relative to the repository root. With it,
    `articles_dir/<source>`, `articles_dir/<file name of source>` and `articles_dir/<id>.txt`
    are tried in turn.
    """
    root = find_repo_root(gold_dir)
    texts: dict[str, str] = {}
    warnings: list[str] = []
    for article_id, article in gold.items():
        source = Path(article.source)
        if articles_dir is None:
            candidates = [root / source]
        else:
            candidates = [
                articles_dir / source,
                articles_dir / source.name,
                articles_dir / f"{article_id}.txt",
            ]
        path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            warnings.append(
                f"article text for {article_id} not found (tried {', '.join(map(str, candidates))})"
            )
            continue
        try:
            texts[article_id] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            warnings.append(f"cannot read article text {path}: {exc}")
    return texts, warnings


def write_outputs(
    report: dict[str, Any],
    report_path: Path | None,
    markdown_path: Path | None,
    html_path: Path | None,
    articles: dict[str, str],
) -> None:
    """Write whichever of the JSON report, Markdown summary and HTML page were asked for."""
    outputs: list[tuple[Path | None, Any]] = [
        (report_path, lambda: json.dumps(report, indent=2, ensure_ascii=False) + "\n"),
        (markdown_path, lambda: reports.markdown_summary(report)),
        (html_path, lambda: reports.html_report(report, articles)),
    ]
    for path, render in outputs:
        if path is None:
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(), encoding="utf-8")
        except OSError as exc:
            raise errors.UsageError(f"cannot write {path}: {exc}; pick a writable path") from exc


def check_gate(report: dict[str, Any], fail_under: float | None) -> list[str]:
    """One message per record type whose micro F1 is below `fail_under`."""
    if fail_under is None:
        return []
    return [
        f"{kind} F1 {report['by_type'][kind]['f1']:.3f} < {fail_under:.3f}"
        for kind in scoring.KINDS
        if report["by_type"][kind]["f1"] < fail_under
    ]


def _fail_usage(console: Console, exc: errors.ExtractorError) -> typer.Exit:
    console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
    return typer.Exit(2)


ExistingFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]


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
        typer.Option(min=0.0, max=1.0, help="similarity a pair needs to count as a match"),
    ] = scoring.MATCH_THRESHOLD,
) -> None:
    """Score an existing predictions file against gold; write the report."""
    console = Console()
    try:
        preds = scoring.load_predictions(predictions)
        gold_articles = scoring.load_gold(gold)
        result = scoring.score(preds, gold_articles, threshold=threshold)
        texts: dict[str, str] = {}
        if html is not None:
            texts, warnings = article_texts(gold_articles, gold, articles)
            for warning in warnings:
                console.print(f"[yellow]warning:[/] {warning}", soft_wrap=True)
        write_outputs(result, report, markdown, html, texts)
    except errors.ExtractorError as exc:
        raise _fail_usage(console, exc) from exc
    console.print(reports.terminal_table(result))
    for article_id in result["meta"]["unscored_predictions"]:
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
    console = Console()
    try:
        diff = reports.compare(scoring.load_report(a), scoring.load_report(b))
        if markdown is not None:
            markdown.parent.mkdir(parents=True, exist_ok=True)
            markdown.write_text(reports.compare_markdown(diff), encoding="utf-8")
    except errors.ExtractorError as exc:
        raise _fail_usage(console, exc) from exc
    except OSError as exc:
        raise _fail_usage(console, errors.UsageError(f"cannot write {markdown}: {exc}")) from exc
    console.print(reports.compare_table(diff))


DEFAULT_SUITE = Path("evals/suites/seeds")


def load_suite(directory: Path) -> dict[str, Any]:
    """A suite is a folder with `suite.toml`: articles, gold, model, thresholds, options."""
    import tomllib

    path = directory / "suite.toml"
    try:
        suite = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise errors.UsageError(f"no suite at {path}: pass --suite DIR with a suite.toml") from None
    except tomllib.TOMLDecodeError as exc:
        raise errors.UsageError(f"{path} is not valid TOML: {exc}") from exc
    for key in ("articles", "gold"):
        if key not in suite:
            raise errors.UsageError(f"{path} lacks `{key}`")
    suite["articles"] = [directory / a for a in suite["articles"]]
    suite["gold"] = directory / suite["gold"]
    suite["replay"] = directory / suite.get("replay", "replay")
    return suite


@app.command()
def run(
    suite_dir: Annotated[
        Path, typer.Option("--suite", help="suite folder with suite.toml")
    ] = DEFAULT_SUITE,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="model spec; default: the suite's")
    ] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible server")] = None,
    replay: Annotated[
        bool, typer.Option("--replay", help="answer only from the suite's committed recordings")
    ] = False,
    record: Annotated[
        bool, typer.Option("--record", help="(re-)record the suite's replay data")
    ] = False,
    report: Annotated[Path, typer.Option(help="where to write the JSON report")] = Path(
        "eval-report.json"
    ),
    predictions: Annotated[
        Path | None, typer.Option(help="also keep the predictions JSONL here")
    ] = None,
    markdown: Annotated[Path | None, typer.Option(help="also write a Markdown summary")] = None,
    html: Annotated[Path | None, typer.Option(help="also write an HTML page")] = None,
    fail_under: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="overrides the suite's fail_under")
    ] = None,
) -> None:
    """Run a model over a suite's articles and score the result."""
    import asyncio

    from extractor.articles import iter_articles
    from extractor.engine import Extractor, Options
    from extractor.runner import run_in_order

    console = Console(stderr=True)
    try:
        suite = load_suite(suite_dir)
        if replay and record:
            raise errors.UsageError("--replay and --record exclude each other")
        gold = scoring.load_gold(suite["gold"])
        options = Options(
            model=model or suite.get("model"),
            base_url=base_url,
            replay_dir=suite["replay"] if replay else None,
            record_dir=suite["replay"] if record else None,
            use_cache=not (replay or record),
            **suite.get("options", {}),
        )
        extractor = Extractor(options)
        items = iter_articles(suite["articles"])
    except (errors.ExtractorError, TypeError) as exc:
        err = exc if isinstance(exc, errors.ExtractorError) else errors.UsageError(str(exc))
        raise _fail_usage(console, err) from None

    async def go() -> list[records.ArticleResult]:
        try:
            return [r async for r in run_in_order(extractor, items)]
        finally:
            await extractor.aclose()

    results = asyncio.run(go())
    if predictions is not None:
        predictions.parent.mkdir(parents=True, exist_ok=True)
        predictions.write_text(
            "".join(r.model_dump_json() + "\n" for r in results), encoding="utf-8"
        )
    result = scoring.score(results, gold, threshold=suite.get("threshold", scoring.MATCH_THRESHOLD))
    result["meta"]["suite"] = suite.get("name", str(suite_dir))
    result["meta"]["model"] = extractor.model_label
    texts, _ = article_texts(gold, suite["gold"])
    try:
        write_outputs(result, report, markdown, html, texts)
    except errors.UsageError as exc:
        raise _fail_usage(console, exc) from None
    console.print(reports.terminal_table(result))
    failed = [r for r in results if r.error]
    for r in failed:
        console.print(f"[red]{r.article_id}[/]: {r.error.kind}: {r.error.message}", soft_wrap=True)
    gate = check_gate(result, fail_under if fail_under is not None else suite.get("fail_under"))
    valid = result["summary"]["valid_output_rate"]
    if valid < suite.get("min_valid_output", 1.0):
        gate.append(f"valid output {valid:.0%} < {suite.get('min_valid_output', 1.0):.0%}")
    # a run that could not ask the model (replay miss, transport, input) never passes
    broken = [r.article_id for r in failed if r.error and r.error.kind != "invalid_output"]
    if broken:
        gate.append(f"articles that never reached a model answer: {', '.join(broken)}")
    for line in gate:
        console.print(f"[bold red]gate:[/] {line}")
    raise typer.Exit(1 if gate else 0)
