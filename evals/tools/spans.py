"""Labelling helper: fill each gold record's `span` from its evidence by exact search.

Usage: python evals/tools/spans.py evals/gold/<article_id>.json [--first]

Evidence must occur verbatim in the article. When it occurs more than once the tool stops,
unless the record already has a span pointing at one occurrence (kept) or --first is given
(the guide's rule: label the first occurrence). Rewrites the file validated by GoldArticle,
pretty-printed in model key order. Not part of the package.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from extractor.records import GoldArticle

ROOT = Path(__file__).resolve().parents[2]


def fill(path: Path, first: bool) -> list[str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    text = (ROOT / data["source"]).read_text(encoding="utf-8")
    problems: list[str] = []
    for kind in ("events", "claims", "figures"):
        for i, rec in enumerate(data.get(kind, [])):
            ev = rec["evidence"]
            starts = [j for j in range(len(text)) if text.startswith(ev, j)]
            span = rec.get("span")
            if span and text[span[0] : span[1]] == ev:
                continue
            if not starts or (len(starts) > 1 and not first):
                problems.append(f"{kind}[{i}] found at {starts or 'nowhere'}: {ev!r}")
                continue
            rec["span"] = [starts[0], starts[0] + len(ev)]
            rec["grounding"] = "exact"
            rec.setdefault("flags", [])
    if not problems:
        gold = GoldArticle.model_validate(data).model_dump(mode="json")
        path.write_text(json.dumps(gold, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gold", type=Path, nargs="+")
    ap.add_argument("--first", action="store_true", help="take the first of several matches")
    args = ap.parse_args()
    failed = 0
    for path in args.gold:
        for problem in fill(path, args.first):
            print(f"{path}: {problem}", file=sys.stderr)
            failed = 1
    return failed


if __name__ == "__main__":
    sys.exit(main())
