"""Running a suite: convert its data if it lives outside the repo, predict, score.

The CLI (`extractor eval run`) and `evals/tools/baseline_table.py` share these steps, so a
number in `evals/README.md` comes from the same code as the command that reproduces it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from extractor import errors, records
from extractor.articles import Article, LoadFailure, iter_articles
from extractor.engine import Extractor, Options, run_sync
from extractor.eval import importers, render, scoring
from extractor.eval.report import MatchMode, Report
from extractor.eval.suite import DEFAULT_WORK, Suite, find_suite, load_suite
from extractor.eval.tasks import evaluate
from extractor.runner import run_in_order


def prepare(suite_dir: Path, data: Path | None = None, work: Path | None = None) -> Suite:
    """The suite to run: as committed, or converted from `data` when it names an importer."""
    suite = load_suite(find_suite(suite_dir))
    if suite.importer is None:
        return suite
    if data is None:
        raise errors.UsageError(
            f"suite {suite.name} is built from data that is not in the repository "
            f"({suite.license or 'see its README'}): pass --data PATH to your copy "
            f"(format: {suite.importer}; see {suite.directory / 'README.md'})"
        )
    out = (work or DEFAULT_WORK) / suite.name
    importers.import_once(suite.importer, data, out, template=suite)
    return load_suite(out)


async def predict(
    suite: Suite, extractor: Extractor, concurrency: int = 1
) -> list[records.ArticleResult]:
    """One result per suite article; the suite's language is given to articles without one."""

    def with_language(item: Article | LoadFailure) -> Article | LoadFailure:
        if isinstance(item, Article) and suite.language and not item.language:
            item.language = suite.language
        return item

    try:
        stream = (with_language(item) for item in iter_articles(suite.article_paths))
        return [r async for r in run_in_order(extractor, stream, concurrency)]
    finally:
        await extractor.aclose()


@dataclass
class SuiteRun:
    gold: Mapping[str, records.GoldArticle]
    results: list[records.ArticleResult]
    report: Report


def run_suite(
    suite: Suite,
    options: Options,
    *,
    matching: MatchMode | None = None,
    concurrency: int = 1,
    vs_baseline: bool = True,
) -> SuiteRun:
    """Predict and score one suite; a model other than the baseline is also compared with it."""
    gold = scoring.load_gold(suite.gold_dir)
    extractor = Extractor(options)

    def scored(results: list[records.ArticleResult], label: str) -> Report:
        report = evaluate(
            results,
            gold,
            matching=matching or suite.matching,
            threshold=suite.threshold,
            types=suite.types,
            task=suite.task,
            language=suite.language,
        )
        report.meta.suite, report.meta.model = suite.name, label
        return report

    results = run_sync(lambda: predict(suite, extractor, concurrency))
    report = scored(results, extractor.model_label)
    if vs_baseline and extractor.spec.provider != "baseline":
        base = Extractor(Options(model="baseline"))
        base_report = scored(run_sync(lambda: predict(suite, base, concurrency)), base.model_label)
        report.vs_baseline = render.versus_baseline(base_report, report)
    return SuiteRun(gold, results, report)
