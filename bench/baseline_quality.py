"""Quality of the offline baseline on the public dev halves in ../shared/peers/.

Prints, per benchmark, the headline metric issue 14 names, computed the way the peers' READMEs
describe, next to the same metric measured by this script on commit 682927c (before issue 14's
work; the issue's own figures differ a little where its counting did):

- SpkAtt-2023 news (claims): cue overlap P/R/F1, one claim to one gold annotation with a cue
  (a claim's cue words are located as whole words in its evidence, the k-th claim with the
  same cue word in a sentence taking the k-th occurrence);
- MeasEval (figures): quantity overlap P/R/F1 (a figure counts when its number text overlaps a
  gold Quantity, a Quantity is found when a figure overlaps it: a list or range is one
  Quantity), and the share of counted figures whose value is one of the numbers in the gold
  text (each item of "0, 1000 and 2000 ppm" is a right value);
- PLOVER GSR (events): event-type P/R/F1 with DEMAND->REQUEST, DISAPPROVE/INVESTIGATE->ACCUSE,
  FIGHT->ASSAULT folded;
- SmartData (German figures): recall of cardinal NUMBER mentions (GUIDELINES §5.1: no ordinals,
  clock times, phone numbers, list numbers, codes such as "X1", "3er" or "§ 26", no vague
  words without a number) and the share of found mentions whose value is right.

    PYTHONPATH=. /work/main/.venv/bin/python bench/baseline_quality.py [--peers DIR]
        [--only claims,figures,events,cardinals] [--misses N]

The analyzers come from PYTHONPATH: `PYTHONPATH=/path/to/other/checkout` measures other code
with the same metric. Development tool, not a test: the gold is read straight from the
upstream formats here; the official importers live in `extractor/eval/`. `--misses N` prints
N missed and N spurious examples per benchmark.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from text_to_num import text2num

from extractor import extract
from extractor.records import ArticleExtraction

PEERS = Path(__file__).resolve().parents[2] / "shared" / "peers"
#: the same metrics measured by this script on commit 682927c (before the work of issue 14)
REFERENCE = {
    "claims": "P .852 R .240 F1 .375",
    "figures": "P .645 R .974 F1 .776, values right .953",
    "events": "P .620 R .350 F1 .447",
    "cardinals": "recall .986, values right .935",
}


@dataclass
class Score:
    tp_pred: int = 0
    n_pred: int = 0
    tp_gold: int = 0
    n_gold: int = 0
    extra: dict[str, str] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)
    spurious: list[str] = field(default_factory=list)

    def prf(self) -> str:
        p = self.tp_pred / self.n_pred if self.n_pred else 0.0
        r = self.tp_gold / self.n_gold if self.n_gold else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return f"P {p:.3f} R {r:.3f} F1 {f:.3f}"


def run(text: str, language: str) -> ArticleExtraction:
    return extract(text, model="baseline", language=language)


def _word_spans(evidence: str, word: str, k: int = 0) -> tuple[int, int] | None:
    """The k-th whole-word occurrence of `word` (the first when there are fewer)."""
    hits = list(re.finditer(rf"(?<!\w){re.escape(word)}(?!\w)", evidence, re.IGNORECASE))
    return hits[min(k, len(hits) - 1)].span() if hits else None


# --- SpkAtt-2023 news: claims ---------------------------------------------------------------


def claims(peers: Path, k: int) -> Score:
    sc = Score()
    for path in sorted((peers / "spkatt2023-news" / "task2").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        lines, tok_at = [], []  # tok_at: (char start, char end, "sent:tok")
        pos = 0
        for sent in doc["Sentences"]:
            words = []
            for i, tok in enumerate(sent["Tokens"]):
                if words:
                    pos += 1
                tok_at.append((pos, pos + len(tok), f"{sent['SentenceId']}:{i}"))
                words.append(tok)
                pos += len(tok)
            lines.append(" ".join(words))
            pos += 1
        text = "\n".join(lines)
        gold = [set(a["Cue"]) for a in doc["Annotations"] if a["Cue"]]
        sc.n_gold += len(gold)
        used: set[int] = set()
        result = run(text, "de")
        nth: dict[tuple[object, str], int] = {}  # the k-th claim with one cue word takes the k-th
        for c in result.claims:
            sc.n_pred += 1
            toks: set[str] = set()
            a0 = c.span[0] if c.span else 0
            for word in c.cue.split():
                k = nth[(c.span, word.lower())] = nth.get((c.span, word.lower()), -1) + 1
                hit = _word_spans(c.evidence, word, k)
                if hit:
                    s, e = a0 + hit[0], a0 + hit[1]
                    toks |= {t for ts, te, t in tok_at if ts < e and s < te}
            match = next((i for i, g in enumerate(gold) if i not in used and g & toks), None)
            if match is None:
                sc.spurious.append(f"{c.cue!r} {c.claimant!r}: {c.evidence[:140]!r}")
                continue
            used.add(match)
            sc.tp_pred += 1
        sc.tp_gold += len(used)
        by_id = {s["SentenceId"]: n for n, s in enumerate(doc["Sentences"])}
        for i, g in enumerate(gold):
            if i not in used:
                where = sorted(tuple(int(x) for x in t.split(":")) for t in g)
                sents = doc["Sentences"]
                cue = " ".join(sents[by_id[si]]["Tokens"][ti] for si, ti in where)
                sc.misses.append(f"{cue!r}: {lines[by_id[where[0][0]]][:160]!r}")
    return sc


# --- MeasEval: figures ----------------------------------------------------------------------

_NUM = re.compile(r"(?<![\w.])[-−]?\d+(?:[.,]\d+)*(?:\s?[×x]\s?10\s?[-−]?\d+)?")


def _gold_values(s: str) -> list[float]:
    """Plain reading of every number in a gold quantity text (independent of our parser): a
    list or range ("0, 1000 and 2000 ppm", "66% to 88%") has several right values."""
    out: list[float] = []
    for m in _NUM.finditer(s.replace("\u2009", " ")):
        t = re.sub(r"\s", "", m.group()).replace("−", "-").replace("–", "-")
        exp = re.search(r"[×x]10(-?\d+)$", t)
        if exp:
            t = t[: exp.start()]
        try:
            v = float(t.replace(",", ""))
        except ValueError:
            continue
        out.append(v * 10 ** int(exp.group(1)) if exp else v)
    if not out:
        for w in re.findall(r"[A-Za-z]+", s):
            try:
                out.append(float(text2num(w.lower(), "en")))
            except ValueError:
                continue
    return out


def _close(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def figures(peers: Path, k: int) -> Score:
    """A figure counts when its number text overlaps a gold Quantity, and a Quantity is found
    when a figure overlaps it (MeasEval lists are one Quantity, so not one to one)."""
    sc = Score()
    right = matched = 0
    root = peers / "measeval"
    for doc_id in (root / "ids.txt").read_text().split():
        text = (root / "text" / f"{doc_id}.txt").read_text(encoding="utf-8")
        tsv = root / "tsv" / f"{doc_id}.tsv"
        gold = []
        if tsv.exists():
            for line in tsv.read_text(encoding="utf-8").splitlines()[1:]:
                cols = line.split("\t")
                if len(cols) > 6 and cols[2] == "Quantity":
                    gold.append((int(cols[3]), int(cols[4]), cols[6]))
        sc.n_gold += len(gold)
        found: set[int] = set()
        for f in run(text, "en").figures:
            sc.n_pred += 1
            a0 = f.span[0] if f.span else 0
            at = f.evidence.find(f.text)
            s = a0 + max(at, 0)
            e = s + len(f.text) if at >= 0 else a0 + len(f.evidence)
            hits = [i for i, g in enumerate(gold) if g[0] < e and s < g[1]]
            if not hits:
                sc.spurious.append(f"{text[s:e]!r} in {text[max(0, s - 40) : e + 30]!r}")
                continue
            found.update(hits)
            sc.tp_pred += 1
            matched += 1
            if any(_close(f.value, v) for i in hits for v in _gold_values(gold[i][2])):
                right += 1
            else:
                sc.misses.append(f"VALUE {f.value} {f.text!r} gold {gold[hits[0]][2]!r}")
        sc.tp_gold += len(found)
        for i, g in enumerate(gold):
            if i not in found:
                sc.misses.append(f"{g[2]!r} in {text[max(0, g[0] - 40) : g[1] + 30]!r}")
    sc.extra["values right"] = f"{right}/{matched} = {right / max(matched, 1):.3f}"
    return sc


# --- PLOVER GSR: events ---------------------------------------------------------------------

_FOLD = {"DEMAND": "REQUEST", "DISAPPROVE": "ACCUSE", "INVESTIGATE": "ACCUSE", "FIGHT": "ASSAULT"}


def events(peers: Path, k: int) -> Score:
    sc = Score()
    records = json.loads((peers / "plover-gsr" / "PLOVER_GSR_CAMEO.txt").read_text("utf-8"))
    for rec in records:
        if rec.get("event") == "DOCUMENT" or not rec.get("text"):
            continue
        want = _FOLD.get(rec["event"], rec["event"])
        got = [e.event_type.value for e in run(rec["text"], "en").events]
        sc.n_gold += 1
        sc.n_pred += len(got)
        hit = want in got
        sc.tp_gold += hit
        sc.tp_pred += hit
        if not hit:
            sc.misses.append(f"{want} got {got}: {rec['text'][:200]!r}")
        for g in got:
            if g != want:
                sc.spurious.append(f"{g} (gold {want}): {rec['text'][:200]!r}")
    return sc


# --- SmartData: German cardinals ------------------------------------------------------------

_SCALE = {"tausend": 1e3, "mio": 1e6, "million": 1e6, "millionen": 1e6, "mrd": 1e9,
          "milliarde": 1e9, "milliarden": 1e9, "billion": 1e12, "billionen": 1e12}  # fmt: skip
_NOT_CARDINAL = re.compile(
    r"^(?:\d{1,2}[:.]\d{2}|\d+\.|\d+er|[A-Za-z]+\d+\w*|\d+[A-Za-z]\w*|eine?[nmrs]?)$", re.I
)
_ORDINAL_WORD = re.compile(
    r"^(erst|zweit|dritt|viert|fünft|sechst|siebt|acht|neunt|zehnt|elft|zwölft|\w+zigst|"
    r"hundertst|tausendst)(e|er|en|es|em)$",
    re.I,
)


def _docs(root: Path) -> Iterator[dict]:
    for name in ("dev.json.gz", "test.json.gz"):
        with gzip.open(root / name, "rt", encoding="utf-8") as f:
            raw = f.read()
        dec, i = json.JSONDecoder(), 0
        while True:
            while i < len(raw) and raw[i].isspace():
                i += 1
            if i >= len(raw):
                break
            doc, i = dec.raw_decode(raw, i)
            yield doc


def _de_value(s: str) -> float | None:
    """Plain reading of a German gold number (digits, number word, scale word)."""
    s = s.replace("\u00a0", " ")
    m = re.search(r"\d{1,3}(?:[. ]\d{3})+(?!\d)(?:,\d+)?|\d+(?:,\d+)?", s)
    v: float | None = None
    if m:
        v = float(m.group().replace(".", "").replace(" ", "").replace(",", "."))
        rest = s[m.end() :]
    else:
        for w in re.finditer(r"[^\W\d_]+", s):
            try:
                v = float(text2num(w.group().lower(), "de"))
            except ValueError:
                continue
            rest = s[w.end() :]
            break
    if v is None:
        return None
    scale = re.match(r"\s*([^\W\d_]+)", rest)
    if scale and scale.group(1).lower() in _SCALE:
        v *= _SCALE[scale.group(1).lower()]
    return v


def _has_number(s: str) -> bool:
    """A digit or a number word of at least two: vague words (Hunderte, Tausende) are not
    figures (GUIDELINES §5.1)."""
    if re.search(r"\d", s):
        return True
    for w in re.findall(r"[^\W\d_]+", s):
        try:
            if text2num(w.lower(), "de") >= 2:
                return True
        except ValueError:
            continue
    return False


def _is_cardinal(t: str, text: str, start: int) -> bool:
    """What GUIDELINES §5.1 admits: no ordinals, clock times, phone numbers, list numbers,
    codes, '3er' or a lone indefinite article."""
    t = t.strip()
    if _NOT_CARDINAL.match(t) or _ORDINAL_WORD.match(t):
        return False
    if re.fullmatch(r"\d+", t) and text[start + len(t) : start + len(t) + 1] == ".":
        nxt = text[start + len(t) + 1 : start + len(t) + 3]
        if not nxt[:1].isdigit():
            return False  # "2." list number or ordinal
    if re.fullmatch(r"0\d+|\d+(?: \d+){2,}", t):
        return False  # phone numbers
    # codes (§5.1: "Artikel 5"): paragraph, article, number, level or house numbers
    return not re.search(
        r"(?:§|Abs\.|Art\.|Artikel|Nr\.|Stufe|Platz)\s*$", text[max(0, start - 12) : start]
    )


def cardinals(peers: Path, k: int) -> Score:
    sc = Score()
    found = right = 0
    kinds: dict[str, list[int]] = {}
    for doc in _docs(peers / "smartdata"):
        text = doc["text"]["string"]
        gold = []
        for c in (doc.get("conceptMentions") or {}).get("array", []):
            if c["type"] in ("NUMBER", "DISTANCE", "DURATION"):
                s, e = c["span"]["start"], c["span"]["end"]
                if _has_number(text[s:e]) and (
                    c["type"] != "NUMBER" or _is_cardinal(text[s:e], text, s)
                ):
                    gold.append((c["type"], s, e))
        if not gold:
            continue
        spans = []
        for f in run(text, "de").figures:
            a0 = f.span[0] if f.span else 0
            at = f.evidence.find(f.text)
            s = a0 + max(at, 0)
            spans.append((s, s + len(f.text) if at >= 0 else a0 + len(f.evidence), f.value))
        for typ, s, e in gold:
            hit = next((sp for sp in spans if sp[0] < e and s < sp[1]), None)
            counts = kinds.setdefault(typ, [0, 0])
            counts[1] += 1
            if hit is None:
                sc.misses.append(f"{typ} {text[s:e]!r} in {text[max(0, s - 40) : e + 30]!r}")
                continue
            counts[0] += 1
            found += 1
            want = _de_value(text[s:e])
            if _close(hit[2], want):
                right += 1
            else:
                sc.spurious.append(f"VALUE {hit[2]} for {text[s:e]!r} (read {want})")
    n, tp = kinds.get("NUMBER", [0, 0])[1], kinds.get("NUMBER", [0, 0])[0]
    sc.extra["cardinal NUMBER recall"] = f"{tp}/{n} = {tp / max(n, 1):.3f}"
    for typ, (a, b) in sorted(kinds.items()):
        if typ != "NUMBER":
            sc.extra[f"{typ} recall"] = f"{a}/{b}"
    sc.extra["values right"] = f"{right}/{found} = {right / max(found, 1):.3f}"
    sc.n_gold = n
    sc.tp_gold = tp
    return sc


BENCHES: dict[str, Callable[[Path, int], Score]] = {
    "claims": claims,
    "figures": figures,
    "events": events,
    "cardinals": cardinals,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peers", type=Path, default=PEERS)
    ap.add_argument("--only", default=",".join(BENCHES))
    ap.add_argument("--misses", type=int, default=0, help="print N misses and N spurious")
    args = ap.parse_args()
    if not args.peers.is_dir():
        print(f"no benchmark data at {args.peers}; pass --peers DIR", file=sys.stderr)
        return 2
    for name in args.only.split(","):
        t0 = time.process_time()
        sc = BENCHES[name](args.peers, args.misses)
        cpu = time.process_time() - t0
        extra = "; ".join(f"{k} {v}" for k, v in sc.extra.items())
        head = sc.prf() if name != "cardinals" else ""
        print(f"{name:10s} {head} {extra}  [before: {REFERENCE[name]}]  ({cpu:.1f} s CPU)")
        if args.misses:
            for m in sc.misses[: args.misses]:
                print("   miss ", m)
            for s in sc.spurious[: args.misses]:
                print("   extra", s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
