"""Recall and precision of the evidence aligner, old (commit 682927c) and new side by side.

Builds a ~200 kB text from the seed articles (their paragraphs in a shuffled order per copy),
then cuts quotes of 8-20 words from it with a fixed random seed:

- *dropped*: one interior word left out (never a number or a negation, which must not be
  dropped). Found = the aligner returns a span; right span = the text at that span is the
  passage the quote was cut from, exactly (no trailing space, no neighbouring word);
- *altered*: the passage with one number changed (x10), a negation inserted, or a capitalised
  word swapped for another from the text. Every one of these should be refused.

The aligner runs without a window, over the whole text (the Grounder narrows the fuzzy
search to the chunk the model saw, so this is the hard case). Also prints the time to index
the text once and the ms per quote.
Run: python bench/grounding_recall.py [--quotes 50] [--seed 11]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from legacy_aligner import Aligner as OldAligner  # noqa: E402

from extractor import numbers  # noqa: E402
from extractor.cleaning import clean  # noqa: E402
from extractor.grounding import Aligner  # noqa: E402

TEXT_CHARS = 200_000
_WORDS = re.compile(r"\S+")
_NEGATION = re.compile(r"^(nicht|kein\w*|nie|not|no|never)$", re.IGNORECASE)

Span = tuple[int, int] | None


def build_text(rng: random.Random) -> str:
    paragraphs = [
        p.strip()
        for path in sorted((ROOT / "seeds").glob("*.txt"))
        for p in clean(path.read_text(encoding="utf-8")).text.split("\n")
        if len(p.split()) > 3
    ]
    parts: list[str] = []
    size = 0
    while size < TEXT_CHARS:
        order = paragraphs[:]
        rng.shuffle(order)
        for p in order:
            parts.append(p)
            size += len(p) + 2
    return "\n\n".join(parts)[:TEXT_CHARS]


def passage(text: str, words: list[re.Match[str]], rng: random.Random) -> tuple[int, int]:
    """Word indexes [first, last] of a random passage of 8-20 words."""
    n = rng.randint(8, 20)
    first = rng.randrange(0, len(words) - n)
    return first, first + n - 1


def dropped_quotes(text: str, rng: random.Random, count: int) -> list[tuple[str, tuple[int, int]]]:
    words = list(_WORDS.finditer(text))
    out: list[tuple[str, tuple[int, int]]] = []
    while len(out) < count:
        first, last = passage(text, words, rng)
        drop = rng.randint(first + 1, last - 1)
        dropped = words[drop].group()
        if _NEGATION.search(dropped) or numbers.parse_number(dropped, "de") is not None:
            continue
        quote = " ".join(
            w.group() for i, w in enumerate(words[first : last + 1], first) if i != drop
        )
        out.append((quote, (words[first].start(), words[last].end())))
    return out


def altered_quotes(text: str, rng: random.Random, count: int) -> list[tuple[str, str]]:
    """(kind, quote) pairs: a changed number, an inserted negation, a swapped name."""
    words = list(_WORDS.finditer(text))
    names = sorted({w.group() for w in words if re.fullmatch(r"[A-ZÄÖÜ][a-zäöüß]{3,}", w.group())})
    kinds = ["number", "negation", "name"]
    out: list[tuple[str, str]] = []
    while len(out) < count:
        kind = kinds[len(out) % 3]
        first, last = passage(text, words, rng)
        tokens = [w.group() for w in words[first : last + 1]]
        if kind == "number":
            at = [i for i, t in enumerate(tokens) if re.search(r"\d", t)]
            if not at:
                continue
            i = rng.choice(at)
            tokens[i] = re.sub(r"\d+", lambda m: m.group() + "0", tokens[i], count=1)
        elif kind == "negation":
            tokens.insert(rng.randint(1, len(tokens) - 1), "nicht")
        else:
            at = [i for i, t in enumerate(tokens) if i > 0 and t in names]
            if not at:
                continue
            i = rng.choice(at)
            tokens[i] = rng.choice([n for n in names if n != tokens[i]])
        out.append((kind, " ".join(tokens)))
    return out


def run(align: Callable[[str], Span], quotes: list[str]) -> tuple[list[Span], float]:
    started = time.perf_counter()
    spans = [align(q) for q in quotes]
    return spans, (time.perf_counter() - started) * 1000 / len(quotes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quotes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    text = build_text(rng)
    dropped = dropped_quotes(text, rng, args.quotes)
    altered = altered_quotes(text, rng, args.quotes)

    started = time.perf_counter()
    old = OldAligner(text)
    old.folded  # noqa: B018 - built on first use; timed here, not per quote
    setup = {"old": time.perf_counter() - started}
    started = time.perf_counter()
    new = Aligner(text, language="de")
    new.words  # noqa: B018
    setup["new"] = time.perf_counter() - started
    aligners: dict[str, Callable[[str], Span]] = {
        "old": lambda q: old.align(q)[0],
        "new": lambda q: new.align(q).span,
    }
    rows: dict[str, dict[str, str]] = {}
    for name, align in aligners.items():
        spans, ms = run(align, [q for q, _ in dropped])
        found = sum(s is not None for s in spans)
        right = sum(
            s is not None and text[s[0] : s[1]] == text[a:b]
            for s, (_, (a, b)) in zip(spans, dropped, strict=True)
        )
        wrong, ms_altered = run(align, [q for _, q in altered])
        accepted = {
            kind: sum(s is not None for s, (k, _) in zip(wrong, altered, strict=True) if k == kind)
            for kind in ("number", "negation", "name")
        }
        per_kind = {kind: sum(k == kind for k, _ in altered) for kind in accepted}
        n = args.quotes
        rows[name] = {
            "dropped word: found": f"{found}/{n}",
            "dropped word: right span": f"{right}/{n}",
            **{
                f"altered {kind}: accepted": f"{accepted[kind]}/{per_kind[kind]}"
                for kind in accepted
            },
            "ms to index the text": f"{setup[name] * 1000:.0f}",
            "ms per quote (dropped)": f"{ms:.1f}",
            "ms per quote (altered)": f"{ms_altered:.1f}",
        }
    print(
        f"text {len(text):,} chars from seeds/, seed {args.seed}, quotes of 8-20 words; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(f"{'':28s}{'old':>10s}{'new':>10s}")
    for label in rows["old"]:
        print(f"{label:28s}{rows['old'][label]:>10s}{rows['new'][label]:>10s}")


if __name__ == "__main__":
    main()
