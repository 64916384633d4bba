"""Read the review view's HTML back (stdlib `html.parser`): each text column's characters and the
`<mark>` highlights inside it, so a test can compare them with the article at each span."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Highlight:
    view: str
    records: list[str]
    start: int
    end: int
    classes: list[str]
    title: str
    text: str = ""


@dataclass
class View:
    """Per view id (`a0`, `a0-gold`, …): the text as a browser shows it, and its highlights."""

    texts: dict[str, str] = field(default_factory=dict)
    marks: list[Highlight] = field(default_factory=list)

    def of(self, view: str, tag: str | None = None) -> list[Highlight]:
        return [m for m in self.marks if m.view == view and (tag is None or tag in m.records)]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = View()
        self._text: str | None = None
        self._mark: Highlight | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "div" and a.get("id", "").startswith("text-"):
            self._text = a["id"].removeprefix("text-")
            self.out.texts[self._text] = ""
        elif tag == "mark" and "data-view" in a:
            assert self._text == a["data-view"], "a highlight outside its own text column"
            self._mark = Highlight(
                a["data-view"],
                a["data-records"].split(),
                int(a["data-start"]),
                int(a["data-end"]),
                a["class"].split(),
                a.get("title", ""),
            )
        elif self._text is not None:
            raise AssertionError(f"<{tag}> inside a text column changes its characters")

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark" and self._mark is not None:
            self.out.marks.append(self._mark)
            self._mark = None
        elif tag == "div":
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self.out.texts[self._text] += data
        if self._mark is not None:
            self._mark.text += data


def parse(page: str) -> View:
    parser = _Parser()
    parser.feed(page)
    parser.close()
    return parser.out
