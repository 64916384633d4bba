"""Same records: the offline baseline's records here and in another checkout, text by text.

A speed change to the analyzers (or to `numbers` / `chunking`, which they read) must not change
a single record. This script runs `analyzers.analyze` in two checkouts (this one and `--other
PATH`, e.g. `git worktree add /tmp/prev main`) over the seed articles, the texts
`baseline_speed.py` builds, every committed suite's articles, and any `--texts DIR` (a converted
suite such as `~/.cache/extractor/suites/measeval`), each with its suite's language and with the
language guessed, and prints how many texts differ (exit 1 if any) and the first differences.

    PYTHONPATH=. /work/main/.venv/bin/python bench/same_records.py --other /tmp/prev
        [--texts DIR ...] [--sizes 20,200,1000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _suite_texts(folder: Path) -> Iterator[tuple[str, str, str | None]]:
    """(id, text, language) for every article of a suite folder (or a plain folder of .txt)."""
    toml = folder / "suite.toml"
    lang = (
        tomllib.loads(toml.read_text(encoding="utf-8")).get("language") if toml.exists() else None
    )
    articles = folder / "articles" if (folder / "articles").is_dir() else folder
    for path in sorted(articles.glob("*.txt")):
        yield f"{folder.name}/{path.name}", path.read_text(encoding="utf-8"), lang


def texts(extra: list[Path], sizes: list[int]) -> Iterator[tuple[str, str, str | None]]:
    """Every text to compare, with the language to pass (each also runs with None)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from baseline_speed import build

    for path in sorted((ROOT / "seeds").glob("*.txt")):
        yield f"seeds/{path.name}", path.read_text(encoding="utf-8"), "de"
    for kind in ("news", "numbers"):
        for size in sizes:
            yield f"bench/{kind}-{size}kB", build(kind, size * 1000), "de"
    for suite in sorted((ROOT / "evals" / "suites").iterdir()):
        if (suite / "articles").is_dir():
            yield from _suite_texts(suite)
    for folder in extra:
        yield from _suite_texts(folder)


def dump(extra: list[Path], sizes: list[int], out: Path) -> None:
    """One JSON line per (text, language): the records `analyze` returns."""
    from extractor.analyzers import analyze

    with out.open("w", encoding="utf-8") as f:
        for name, text, lang in texts(extra, sizes):
            for language in dict.fromkeys([lang, None]):
                records = analyze(text, language).model_dump(mode="json")
                f.write(json.dumps({"id": name, "language": language, "records": records}) + "\n")


def _run(checkout: Path, extra: list[Path], sizes: str, out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--dump", str(out), "--sizes", sizes]
    for folder in extra:
        cmd += ["--texts", str(folder)]
    subprocess.run(cmd, env=env, check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--other", type=Path, help="the checkout to compare with")
    ap.add_argument("--texts", type=Path, action="append", default=[], help="a suite folder")
    ap.add_argument("--sizes", default="20,200,1000", help="bench text sizes in kB")
    ap.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.dump:
        dump(args.texts, sizes, args.dump)
        return 0
    if args.other is None:
        ap.error("--other PATH is required (a checkout of the code to compare with)")
    with tempfile.TemporaryDirectory() as tmp:
        here, there = Path(tmp) / "here.jsonl", Path(tmp) / "other.jsonl"
        _run(ROOT, args.texts, args.sizes, here)
        _run(args.other, args.texts, args.sizes, there)
        a = here.read_text(encoding="utf-8").splitlines()
        b = there.read_text(encoding="utf-8").splitlines()
    differ = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    records = sum(len(v) for line in a for v in json.loads(line)["records"].values())
    print(f"{len(a)} analyses ({records} records): {len(differ)} differ from {args.other}")
    for x, y in differ[:5]:
        left, right = json.loads(x), json.loads(y)
        print(f"- {left['id']} (language {left['language']})")
        for kind in ("events", "claims", "figures"):
            mine, theirs = left["records"][kind], right["records"][kind]
            if mine != theirs:
                print(f"  {kind}: {len(mine)} here, {len(theirs)} there")
                for r1, r2 in zip(mine, theirs, strict=False):
                    if r1 != r2:
                        print(f"    here:  {json.dumps(r1, ensure_ascii=False)[:300]}")
                        print(f"    there: {json.dumps(r2, ensure_ascii=False)[:300]}")
                        break
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
