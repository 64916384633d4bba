"""Print the suite table of evals/README.md: every suite run on the offline baseline.

Usage: python evals/tools/baseline_table.py [--data SUITE=PATH ...] [--work DIR]

Suites whose data stays out of the repository (measeval, spkatt2023-news) are run when
`--data NAME=PATH` gives their data, and listed as "needs --data" otherwise. One command
reproduces every number of the table; paste its output into evals/README.md.
Not part of the package.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from extractor.engine import Options
from extractor.eval.report import MatchMode, Report
from extractor.eval.run import prepare, run_suite
from extractor.eval.suite import load_suite

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "evals" / "suites"
ORDER = [
    "seeds-baseline",
    "gepade-spkatt",
    "plover-gsr",
    "smartdata",
    "measeval",
    "spkatt2023-news",
]


def _f1s(report: Report, mode: MatchMode) -> str:
    counts = report.modes.get(mode, {})
    return ", ".join(f"{kind} {c.f1:.3f}" for kind, c in counts.items())


def _task(report: Report) -> str:
    parts = []
    for m in report.task:
        if m.headline == "recall":
            text = f"{m.name} R {m.recall:.3f}"
        else:
            text = f"{m.name} P {m.precision or 0.0:.3f} R {m.recall:.3f} F1 {m.f1 or 0.0:.3f}"
        if m.values_right is not None:
            text += f", values right {m.values_right:.3f}"
        parts.append(text)
    return "; ".join(parts) or "–"


def row(name: str, data: Path | None, work: Path | None) -> str:
    committed = load_suite(SUITES / name)
    command = f"`extractor eval run --suite {name}"
    command += " --data PATH`" if committed.importer else "`"
    license = committed.license or "project (seed articles)"
    if committed.importer and data is None:
        return f"| {name} | {license} | – | needs --data | – | – | {command} |"
    suite = prepare(SUITES / name, data, work)
    report = run_suite(suite, Options(model="baseline"), vs_baseline=False).report
    size = f"{report.summary.articles} docs, " + ", ".join(
        f"{t.tp + t.fn} {kind}" for kind, t in report.by_type.items()
    )
    return (
        f"| {name} | {license} | {size} | {_f1s(report, MatchMode.STRICT)} | "
        f"{_f1s(report, MatchMode.LENIENT)} | {_task(report)} | {command} |"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", action="append", default=[], help="NAME=PATH for a data suite")
    ap.add_argument("--work", type=Path, default=None, help="where data suites are converted")
    args = ap.parse_args()
    data = dict(item.split("=", 1) for item in args.data)
    print("| suite | licence | size | baseline strict F1 | lenient F1 | task metric | command |")
    print("|---|---|---|---|---|---|---|")
    for name in ORDER:
        path = Path(data[name]) if name in data else None
        print(row(name, path, args.work), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
