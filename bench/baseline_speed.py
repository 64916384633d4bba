"""Speed of the offline baseline: CPU time per text size, ordinary and number-dense news.

Texts are built from the seed articles: "news" repeats the seeds' paragraphs; "numbers"
repeats only their sentences that hold a number, each followed by a line of figures in the
seeds' own formats, so most tokens are numbers. For each size the script prints the CPU time
of `analyzers.analyze` (the baseline) and of `extract(model="baseline")` (baseline plus
cleaning and grounding), the throughput, and next to it the reference of the same run: the
20 kB time scaled linearly to that size. A ratio near 1 means linear growth. With `--other
PATH` (a checkout of another commit, e.g. `git worktree add /tmp/prev HEAD~3`) the same texts
are also run through that code in a subprocess, side by side.

    PYTHONPATH=. /work/main/.venv/bin/python bench/baseline_speed.py [--sizes 20,200,1000]
        [--repeat 3] [--other PATH] [--no-gc]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
_FIGURES_LINE = (
    "Verluste: 1.200 Soldaten, 3,5 Mio. Euro, 12 Prozent, 600.000 Tonnen, rund 2.000 US-Dollar, "
    "zwischen 200 und 300 Fahrzeuge, 45 km, 7,5 % und bis zu 11.000 Mann."
)


def build(kind: str, size: int) -> str:
    """A text of about `size` characters from the seeds."""
    paragraphs = [p for f in SEEDS for p in f.read_text(encoding="utf-8").split("\n") if p.strip()]
    if kind == "numbers":
        sentences = [s for p in paragraphs for s in re.split(r"(?<=[.!?])\s+", p)]
        units = [f"{s}\n{_FIGURES_LINE}" for s in sentences if re.search(r"\d", s)]
    else:
        units = paragraphs
    parts: list[str] = []
    total = 0
    i = 0
    while total < size:
        parts.append(units[i % len(units)])
        total += len(parts[-1]) + 2
        i += 1
    return "\n\n".join(parts)[:size]


def cpu(fn, text: str, repeat: int) -> float:
    """Median CPU seconds of `fn(text)` over `repeat` runs."""
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn(text)
        times.append(time.process_time() - t0)
    return sorted(times)[len(times) // 2]


def measure(sizes: list[int], repeat: int) -> dict[str, dict[str, float]]:
    from extractor import extract
    from extractor.analyzers import analyze

    def analyze_de(text: str) -> object:
        return analyze(text, "de")

    def extract_de(text: str) -> object:
        return extract(text, model="baseline", language="de")

    analyze_de(build("news", 2000))  # warm up: imports, lexicons, the lemmatizer's dictionary
    out: dict[str, dict[str, float]] = {}
    for kind in ("news", "numbers"):
        for size in sizes:
            text = build(kind, size * 1000)
            out[f"{kind} {size}"] = {
                "analyze": cpu(analyze_de, text, repeat),
                "extract": cpu(extract_de, text, repeat if size < 1000 else 1),
            }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="20,200,1000", help="kB, comma-separated")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--other", type=Path, help="a checkout of other code to run side by side")
    ap.add_argument(
        "--no-gc",
        action="store_true",
        help="without the cyclic garbage collector: growth of the code alone (the collector's "
        "full passes grow with the heap, and a 1 MB article keeps tens of thousands of records)",
    )
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.no_gc:
        gc.disable()
    here = measure(sizes, args.repeat)
    if args.json:
        print(json.dumps(here))
        return 0
    other = None
    if args.other:
        env = {**os.environ, "PYTHONPATH": str(args.other)}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--json", "--sizes", args.sizes,
               "--repeat", str(args.repeat)] + (["--no-gc"] if args.no_gc else [])  # fmt: skip
        run = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        other = json.loads(run.stdout.strip().splitlines()[-1])
    print(
        f"load average {os.getloadavg()[0]:.2f}; CPU seconds, medians of {args.repeat}"
        + ("; garbage collector off" if args.no_gc else "")
    )
    head = f"{'text':14s} {'step':8s} {'CPU s':>8s} {'MB/s':>7s} {'20 kB x n':>10s} {'ratio':>6s}"
    print(head + (f" {'other':>8s}" if other else ""))
    for key, steps in here.items():
        kind, size = key.split()
        base = here[f"{kind} {sizes[0]}"]
        for step, t in steps.items():
            scaled = base[step] * int(size) / sizes[0]
            mbs = int(size) / 1000 / t if t else float("inf")
            line = f"{kind + ' ' + size + ' kB':14s} {step:8s} {t:8.3f} {mbs:7.2f} {scaled:10.3f}"
            line += f" {t / scaled if scaled else 0:6.2f}"
            if other:
                line += f" {other[key][step]:8.3f}"
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
