"""What `extractor eval score` costs for many articles: CPU and peak memory, 2 vs N articles.

Usage: python bench/eval_speed.py [-n 1000] [--repeat 5] [--other PATH]

Builds N gold articles (copies of the two seed gold files under new ids, each with its article
text) and N predictions (the offline baseline's answers for the seeds, under the same ids),
then runs `extractor eval score` in a child process for 2 and for N articles, alternating,
`--repeat` times each, and prints the median CPU time (user + system) and peak RSS side by side
with the load average. Targets: N articles cost at most N/1000 s of CPU more than 2 (1 s for
1,000), and peak memory stays under 200 MB. Exit status 0 when both hold.

The extra CPU is the median of each round's difference (N minus 2, run back to back): on a
shared VM a whole process sometimes runs 1.5 times slower, and a round's two runs share most of
such a spell. The difference of the two medians is printed next to it. With `--other PATH` (a
checkout of another commit, e.g. `git worktree add /tmp/prev HEAD~3`) each round also scores
the same files with that code, and its extra CPU is printed side by side.

Peak RSS is the child's own high-water mark (`VmHWM` in /proc/self/status, read as it exits).
The `ru_maxrss` that `wait4` reports is not: a child started from this process (fork or vfork,
then exec) inherits this process's high-water mark, which after building N articles is itself
over 200 MB. Where /proc is missing it falls back to `ru_maxrss`, and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from extractor.articles import load_article
from extractor.engine import Extractor, Options
from extractor.records import ArticleResult, GoldArticle

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "evals" / "gold"
#: issue 15: a thousand articles a second (1 s of CPU more for 1,000 articles than for 2)
MAX_EXTRA_CPU_S_PER_1000 = 1.0
MAX_RSS_MB = 200.0


async def _baseline(paths: list[Path]) -> list[ArticleResult]:
    async with Extractor(Options(model="baseline")) as ex:
        return [await ex.run_article(load_article(p)) for p in paths]


def build(folder: Path, n: int, preds: list[ArticleResult]) -> Path:
    """N copies of the seed gold (texts included) and N prediction lines; the predictions file."""
    golds = [GoldArticle.model_validate_json(p.read_text("utf-8")) for p in sorted(GOLD.glob("*"))]
    (folder / "evals" / "gold").mkdir(parents=True)
    (folder / "articles").mkdir()
    lines = []
    for i in range(n):
        gold, pred = golds[i % len(golds)], preds[i % len(preds)]
        article_id = f"{gold.article_id}-{i:05d}"
        shutil.copyfile(ROOT / gold.source, folder / "articles" / f"{article_id}.txt")
        copy = gold.model_copy(
            update={"article_id": article_id, "source": f"articles/{article_id}.txt"}
        )
        (folder / "evals" / "gold" / f"{article_id}.json").write_text(
            json.dumps(copy.model_dump(mode="json"), ensure_ascii=False), encoding="utf-8"
        )
        lines.append(pred.model_copy(update={"article_id": article_id}).model_dump_json())
    path = folder / "predictions.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# `extractor eval score` as the command runs it; the child writes its own peak RSS (kB) to the
# file named by its first argument when it exits
CHILD = """
import atexit, sys
peak_file = sys.argv.pop(1)

def peak() -> None:
    with open("/proc/self/status") as status, open(peak_file, "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))

atexit.register(peak)
from extractor.cli import main
sys.argv[0] = "extractor"
main()
"""
HAVE_PROC = Path("/proc/self/status").is_file()


def _command(folder: Path, predictions: Path, code: Path) -> tuple[list[str], dict[str, str]]:
    """The child's command line (its first argument: where it writes its peak RSS) and
    environment, with the package of the checkout `code`. Run it in `folder`: `python -c` puts
    its working directory first on the path, ahead of PYTHONPATH."""
    args = ["eval", "score", str(predictions), "--gold", str(folder / "evals" / "gold")]
    args += ["--report", str(folder / "report.json")]
    env = {**os.environ, "PYTHONPATH": f"{code}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return [sys.executable, "-c", CHILD, str(folder / "peak-kb"), *args], env


def instructions(folder: Path, predictions: Path, code: Path = ROOT) -> int:
    """Instructions one child executes (valgrind's callgrind, `Collected`): unlike CPU time,
    the same on every run of the same code, so a small change shows (a run takes ~40× longer)."""
    command, env = _command(folder, predictions, code)
    env["PYTHONHASHSEED"] = "0"
    callgrind = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    run = subprocess.run(
        callgrind + command,
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or found is None:
        raise SystemExit(f"eval score under valgrind failed: {run.stderr[-500:]}")
    return int(found.group(1))


def score_cost(folder: Path, predictions: Path, code: Path = ROOT) -> tuple[float, float]:
    """(CPU seconds, peak RSS in MB) of one `extractor eval score` child process, run with the
    package of the checkout `code`."""
    command, env = _command(folder, predictions, code)
    peak_file = folder / "peak-kb"
    peak_file.unlink(missing_ok=True)
    proc = subprocess.Popen(command, env=env, cwd=folder, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"eval score failed with exit {proc.returncode}")
    peak_kb = float(peak_file.read_text()) if HAVE_PROC else usage.ru_maxrss
    return usage.ru_utime + usage.ru_stime, peak_kb / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1000, help="articles in the large run")
    ap.add_argument("--repeat", type=int, default=5, help="rounds: runs of each size (median)")
    ap.add_argument("--other", type=Path, help="a checkout of other code to run side by side")
    ap.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions with valgrind instead (apt-get install valgrind)",
    )
    args = ap.parse_args()
    if args.instructions and shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind: apt-get install -y valgrind")
    seeds = [
        ROOT / g.source
        for g in (
            GoldArticle.model_validate_json(p.read_text("utf-8")) for p in sorted(GOLD.glob("*"))
        )
    ]
    preds = asyncio.run(_baseline(seeds))
    sizes = (2, args.n)
    runs: dict[int, list[tuple[float, float]]] = {n: [] for n in sizes}
    other: dict[int, list[float]] = {n: [] for n in sizes}
    report_mb: dict[int, float] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folders = {n: Path(tmp) / f"n{n}" for n in sizes}
        inputs = {n: build(folders[n], n, preds) for n in sizes}
        if args.instructions:
            return _print_instructions(args, folders, inputs)
        for _ in range(args.repeat):  # alternating, so load from elsewhere falls on both alike
            for n in sizes:
                runs[n].append(score_cost(folders[n], inputs[n]))
            for n in sizes if args.other else ():
                other[n].append(score_cost(folders[n], inputs[n], args.other)[0])
        report_mb = {n: (folders[n] / "report.json").stat().st_size / 1e6 for n in sizes}
    load_after = os.getloadavg()
    rows = [
        (n, statistics.median(c for c, _ in runs[n]), max(r for _, r in runs[n])) for n in sizes
    ]
    rss_kind = "VmHWM" if HAVE_PROC else "ru_maxrss (no /proc: includes this process's own peak)"
    print(
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
        f"CPU median of {args.repeat}, peak RSS ({rss_kind}) max of {args.repeat}"
    )
    print(f"{'articles':>8} {'CPU s':>8} {'peak RSS MB':>12} {'report MB':>10}")
    for n, cpu, rss in rows:
        print(f"{n:>8} {cpu:>8.2f} {rss:>12.1f} {report_mb[n]:>10.2f}")
    rounds = [big - small for (small, _), (big, _) in zip(*runs.values(), strict=True)]
    extra = statistics.median(rounds)
    max_extra = MAX_EXTRA_CPU_S_PER_1000 * args.n / 1000
    peak = max(r[2] for r in rows)
    print(f"extra CPU by round: {' '.join(f'{x:.2f}' for x in rounds)} s")
    if args.other:
        theirs = [big - small for small, big in zip(*other.values(), strict=True)]
        print(
            f"other code ({args.other}), same rounds: {' '.join(f'{x:.2f}' for x in theirs)} s, "
            f"median {statistics.median(theirs):.2f} s (this code {extra:.2f} s)"
        )
    print(
        f"extra CPU for {args.n} articles: {extra:.2f} s, median of rounds (difference of the "
        f"medians {rows[1][1] - rows[0][1]:.2f} s; target ≤ {max_extra:.1f} s); "
        f"peak RSS {peak:.0f} MB (target < {MAX_RSS_MB:.0f} MB)"
    )
    return 0 if extra <= max_extra and peak < MAX_RSS_MB else 1


def _print_instructions(
    args: argparse.Namespace, folders: dict[int, Path], inputs: dict[int, Path]
) -> int:
    codes = {"this code": ROOT, **({f"other ({args.other})": args.other} if args.other else {})}
    print(f"instructions (callgrind), {args.n} articles beyond 2, per article:")
    for label, code in codes.items():
        small, big = (instructions(folders[n], inputs[n], code) for n in sorted(folders))
        print(f"  {label}: {(big - small) / (args.n - 2) / 1e6:.2f} M")
    return 0


if __name__ == "__main__":
    sys.exit(main())
