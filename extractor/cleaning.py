"""Clean markup out of article text for the prompt, keeping a map back to the original.

Real articles arrive with leftover HTML (seed `004_…` has an inline `<span>` and the same
photo caption twice). The model should not see that noise, but every span the library
reports must index the text exactly as the user gave it, so each cleaned character remembers
where it came from.

Rules, in order:
1. HTML/XML tags are removed and their inner text kept; `<script>`/`<style>` blocks and
   comments are removed whole. A run of tags containing a block-level tag (`<p>`, `<br>`,
   `<div>`, ...) becomes one space when it stands between two non-space characters, so words
   are not glued together. Only known HTML element names count as tags, which keeps text
   such as "a < b" or "<Name>" in prose intact.
2. HTML entities (`&amp;`, `&nbsp;`, `&#8222;`, ...) are decoded with `html.unescape`; an
   entity needs its closing `;` (so "AT&T" stays as it is). `\\r\\n` and a lone `\\r`
   become `\\n`.
3. A line that repeats the previous non-empty line (after steps 1-2 and whitespace
   normalisation) is dropped: the duplicated caption.
4. Runs of spaces and tabs become one space (newlines are kept).
Everything else is kept character for character, so most quotes read the same in both texts.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

from extractor.textnorm import MappedText, Runs

# fmt: off
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details",
    "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2",
    "h3", "h4", "h5", "h6", "head", "header", "hr", "html", "iframe", "img", "li", "main", "meta",
    "nav", "noscript", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot",
    "th", "thead", "title", "tr", "ul", "link", "script", "style"
})
# fmt: on
# fmt: off
_INLINE_TAGS = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em", "font", "i",
    "ins", "kbd", "label", "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub",
    "sup", "time", "tt", "u", "var", "wbr", "picture", "source"
})
# fmt: on
_TAG_NAMES = "|".join(sorted(_BLOCK_TAGS | _INLINE_TAGS, key=len, reverse=True))
_ATTRS = r"""(?:\s+[\w:.@-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'<>=`]+))?)*\s*/?"""
_MARKUP = (
    r"<script\b[^>]*>.*?</script\s*>"
    r"|<style\b[^>]*>.*?</style\s*>"
    r"|<!--.*?-->"
    r"|<!\[CDATA\[.*?\]\]>"
    r"|<!doctype\b[^<>]*>"
    r"|<\?xml\b[^<>]*\?>"
    rf"|</?(?:{_TAG_NAMES})\b{_ATTRS}>"
)
#: one run of adjacent tags (group "tags"), an entity (group "ent"), or a carriage return; the
#: lookahead lets the scan pass every other position without trying each alternative
_PASS1 = re.compile(
    r"(?=[<&\r])"
    rf"(?:(?P<tags>(?:{_MARKUP})+)"
    r"|(?P<ent>&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});)"
    r"|(?P<cr>\r\n?))",
    re.IGNORECASE | re.DOTALL,
)
_TAG_NAME = re.compile(r"<\s*/?\s*([A-Za-z][A-Za-z0-9]*)")
_SPACE_RUN = re.compile(r"[ \t]{2,}|\t")

# An edit replaces s[start:end] with `new`.
_Edit = tuple[int, int, str]


@dataclass(frozen=True)
class CleanText(MappedText):
    """Cleaned text plus, for every cleaned character, where it came from in the original."""


def clean(text: str) -> CleanText:
    """Clean `text` for the prompt (rules in the module docstring)."""
    s, starts, ends = text, Runs.identity(len(text)), {}
    for edits_of in (_markup_edits, _duplicate_line_edits, _space_edits):
        edits = edits_of(s)
        if edits:
            s, starts, ends = _apply(s, edits, starts, ends)
    return CleanText(s, starts, ends)


def _markup_edits(s: str) -> list[_Edit]:
    edits: list[_Edit] = []
    for m in _pass1(s):
        a, b = m.span()
        if m.lastgroup == "tags":
            edits.append((a, b, " " if _separates(s, m.group(), a, b) else ""))
        elif m.lastgroup == "ent":
            decoded = html.unescape(m.group())
            if decoded != m.group():
                edits.append((a, b, decoded))
        else:
            edits.append((a, b, "\n"))
    return edits


def _pass1(s: str) -> Iterator[re.Match[str]]:
    """`_PASS1.finditer(s)`, tried only where a "<", "&" or CR is: `str.find` finds those at
    C speed, where the regex engine would look at every character (plain text has none)."""
    starts: list[int] = []
    for mark in "<&\r":
        at = s.find(mark)
        while at >= 0:
            starts.append(at)
            at = s.find(mark, at + 1)
    end = 0
    for at in sorted(starts):
        if at >= end and (m := _PASS1.match(s, at)):
            end = m.end()
            yield m


def _separates(s: str, tags: str, a: int, b: int) -> bool:
    """A block-level tag run between two non-space characters must leave a space."""
    if a == 0 or b == len(s) or s[a - 1].isspace() or s[b].isspace():
        return False
    return any(name.lower() in _BLOCK_TAGS for name in _TAG_NAME.findall(tags))


def _duplicate_line_edits(s: str) -> list[_Edit]:
    edits: list[_Edit] = []
    previous = ""
    pos = 0
    for line in s.split("\n"):
        key = " ".join(line.split())
        if key:
            if key == previous:
                # drop the line together with the newline before it
                edits.append((pos - 1, pos + len(line), ""))
            previous = key
        pos += len(line) + 1
    return edits


def _space_edits(s: str) -> list[_Edit]:
    if "  " not in s and "\t" not in s:
        return []  # the usual case, found at C speed
    return [(m.start(), m.end(), " ") for m in _SPACE_RUN.finditer(s)]


def _apply(
    s: str, edits: list[_Edit], starts: Runs, ends: dict[int, int]
) -> tuple[str, Runs, dict[int, int]]:
    """Apply sorted, non-overlapping edits to `s` and carry the map to the original along.

    The map is kept as runs (`Runs`): a kept stretch copies the runs under it, a replacement
    is one run, so a million-character text costs a few entries per edit, not one per char.
    """
    end_keys = sorted(ends)

    def end_of(i: int) -> int:
        return ends.get(i, starts[i] + 1)

    pieces: list[str] = []
    runs = Runs()
    new_ends: dict[int, int] = {}
    size = 0  # of the new text so far
    prev = 0

    def keep(lo: int, hi: int) -> None:
        """Copy s[lo:hi] unchanged, with its runs and sparse end entries."""
        nonlocal size
        if hi <= lo:
            return
        pieces.append(s[lo:hi])
        shift = size - lo
        for at, source, step in starts.within(lo, hi):
            runs.add(at + shift, source, step)
        if end_keys:
            first, last = bisect.bisect_left(end_keys, lo), bisect.bisect_left(end_keys, hi)
            for k in end_keys[first:last]:
                new_ends[k + shift] = ends[k]
        size += hi - lo

    for a, b, new in edits:
        keep(prev, a)
        if new:
            origin, origin_end = starts[a], end_of(b - 1)
            runs.add(size, origin, 0)
            if origin_end != origin + 1:
                new_ends.update(dict.fromkeys(range(size, size + len(new)), origin_end))
            size += len(new)
            pieces.append(new)
        prev = b
    keep(prev, len(s))
    return "".join(pieces), runs.close(size, starts[len(s)]), new_ends
