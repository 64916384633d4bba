"""The eval report as typed data: what `scoring.score` builds and every renderer reads.

The JSON written by `--report` is `Report.model_dump_json`; reading it back
(`Report.model_validate_json`) also accepts reports written before the typed report existed:
every field added since then has a default (`modes`, `task`, `meta.matching`, `meta.types`).

A scored run keeps its articles in an `ArticleStore` (their JSON in a temporary file), so the
report of thousands of articles does not hold thousands of models in memory.
"""

from __future__ import annotations

import codecs
import io
import json
import tempfile
from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any, Literal, TextIO, get_args

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, field_serializer

from extractor.records import ArticleError

Kind = Literal["events", "claims", "figures"]
KINDS: tuple[Kind, ...] = ("events", "claims", "figures")


#: lenient mode: the similarity from which a predicted record matches a gold one
MATCH_THRESHOLD = 0.5
#: the benchmark metrics `extractor/eval/tasks.py` computes
TaskName = Literal["cue_overlap", "quantity_overlap", "cardinal_recall", "event_type"]
TASK_NAMES: tuple[str, ...] = get_args(TaskName)


class MatchMode(StrEnum):
    """How strictly a prediction must agree with a gold record to count (see evals/README.md)."""

    LENIENT = "lenient"
    STRICT = "strict"


class _Model(BaseModel):
    # reports from older scorer versions may carry keys we no longer write
    model_config = ConfigDict(extra="ignore")


# --- one article -------------------------------------------------------------------------------


class RecordView(_Model):
    """What a person needs to see of a record: its label, its quote and where it sits."""

    label: str
    evidence: str
    span: tuple[int, int] | None
    grounding: str


class _GoldIndexed(_Model):
    gold_index: int


class _PredIndexed(_Model):
    pred_index: int


class MissedRecord(RecordView, _GoldIndexed):
    """A gold record no prediction matched (false negative)."""


class SpuriousRecord(RecordView, _PredIndexed):
    """A predicted record that matched no gold record (false positive)."""


class Pair(_Model):
    gold_index: int
    pred_index: int
    similarity: float
    fields: dict[str, bool] = Field(description="per-field agreement of the matched pair")
    gold: RecordView
    pred: RecordView


class TypeScore(_Model):
    """One record type in one article: counts, and the records behind them."""

    tp: int
    fp: int
    fn: int
    f1: float
    pairs: list[Pair] = Field(default_factory=list)
    missed: list[MissedRecord] = Field(default_factory=list)
    spurious: list[SpuriousRecord] = Field(default_factory=list)


class ArticleScore(_Model):
    error: ArticleError | None = None
    events: TypeScore | None = None
    claims: TypeScore | None = None
    figures: TypeScore | None = None

    def by_kind(self) -> dict[Kind, TypeScore]:
        """The scored record types, in report order (a suite may score only some)."""
        out: dict[Kind, TypeScore] = {}
        for kind in KINDS:
            score = getattr(self, kind)
            if score is not None:
                out[kind] = score
        return out


class ArticleStore(Mapping[str, ArticleScore]):
    """Scored articles by id, each kept as its indented JSON (`ArticleScore.model_dump_json(
    indent=2)`) in a temporary file and parsed again when asked for: memory stays flat however
    many articles a run scores, and `Report.write_json` copies the JSON through unparsed."""

    #: bytes kept in memory before the file moves to disk
    SPOOL_BYTES = 8 << 20

    def __init__(self) -> None:
        # open as long as the store lives (a report is read after scoring); closed with it
        self._file = tempfile.SpooledTemporaryFile(max_size=self.SPOOL_BYTES)  # noqa: SIM115
        self._where: dict[str, tuple[int, int]] = {}
        self._end = 0

    def add(self, article_id: str, data: bytes) -> None:
        """Keep one article's JSON; `sort` once all are in."""
        self._file.seek(self._end)
        self._file.write(data)
        self._where[article_id] = (self._end, len(data))
        self._end += len(data)

    def sort(self) -> None:
        """Iterate in article id order, as the report lists them."""
        self._where = dict(sorted(self._where.items()))

    def json(self, article_id: str) -> bytes:
        start, size = self._where[article_id]
        self._file.seek(start)
        return self._file.read(size)

    def __getitem__(self, article_id: str) -> ArticleScore:
        return ArticleScore.model_validate_json(self.json(article_id))

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._where

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, ArticleScore]:
        # a deep copy is for editing: a plain dict of fresh models
        return dict(self.items())


# --- the run -----------------------------------------------------------------------------------


class Counts(_Model):
    """Micro precision, recall and F1 with the counts they come from."""

    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


class TypeMetrics(Counts):
    """One record type over the run, in the report's matching mode."""

    macro_f1: float
    grounding_rate: float | None
    fields: dict[str, float | None] = Field(
        default_factory=dict, description="accuracy of each field over the matched pairs"
    )


class Tokens(_Model):
    prompt: int = 0
    completion: int = 0
    total: int = 0


class Latency(_Model):
    sum: float = 0.0
    p50: float | None = None
    p95: float | None = None


class Summary(_Model):
    articles: int
    predicted_articles: int
    valid_output_rate: float
    grounding_rate: float | None
    errors: dict[str, int] = Field(default_factory=dict)
    requests: int = 0
    cached_share: float | None = None
    tokens: Tokens = Field(default_factory=Tokens)
    cost_usd: float = 0.0
    latency_s: Latency = Field(default_factory=Latency)


class TaskMetric(_Model):
    """A benchmark's own headline metric, computed by our code from the same predictions."""

    name: str = Field(description="e.g. 'cue_overlap', 'quantity_overlap', 'event_type'")
    description: str
    precision: float | None = Field(description="None for a recall-only metric")
    recall: float
    f1: float | None = Field(description="None for a recall-only metric")
    tp: int = Field(description="gold records found (pairs, for a one-to-one metric)")
    fp: int | None = Field(description="predictions that do not count; None if not counted")
    fn: int
    counted: int | None = Field(
        default=None,
        description="predictions that count, when several may count for one gold record "
        "(precision's numerator; tp otherwise)",
    )
    values_right: float | None = Field(
        default=None, description="share of matched figures whose value equals gold's"
    )
    headline: Literal["f1", "recall"] = Field(
        default="f1", description="the value a `task_fail_under` gate compares"
    )

    def score(self) -> float:
        """The headline value (F1, or recall for a recall-only metric)."""
        value = self.recall if self.headline == "recall" else self.f1
        return value if value is not None else 0.0


class Meta(_Model):
    scorer_version: str
    threshold: float
    weights: dict[str, dict[str, float]] = Field(default_factory=dict)
    value_tolerance: dict[str, float] = Field(default_factory=dict)
    models: list[str] = Field(default_factory=list)
    prompt_versions: list[str] = Field(default_factory=list)
    missing_predictions: list[str] = Field(default_factory=list)
    unscored_predictions: list[str] = Field(default_factory=list)
    matching: MatchMode = MatchMode.LENIENT
    types: list[Kind] = Field(default_factory=lambda: list(KINDS))
    suite: str | None = None
    model: str | None = None


def _indented(data: object, level: int) -> str:
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return text.replace("\n", "\n" + " " * level)


class Report(_Model):
    """The whole report. `by_type` and `articles` follow `meta.matching`; `modes` holds the
    per-type counts of both matching modes side by side."""

    summary: Summary
    by_type: dict[Kind, TypeMetrics]
    articles: Mapping[str, ArticleScore] = Field(
        description="a dict when read from JSON, an `ArticleStore` when just scored"
    )
    meta: Meta
    modes: dict[MatchMode, dict[Kind, Counts]] = Field(default_factory=dict)
    task: list[TaskMetric] = Field(default_factory=list)
    vs_baseline: VersusBaseline | None = Field(
        default=None, description="this run (B) against the offline baseline (A) on the same suite"
    )

    @field_serializer("articles", mode="wrap")
    def _articles(
        self, articles: Mapping[str, ArticleScore], handler: SerializerFunctionWrapHandler
    ) -> Any:
        return handler(articles if isinstance(articles, dict) else dict(articles.items()))

    def to_json(self) -> str:
        out = io.StringIO()
        self.write_json(out)
        return out.getvalue()

    def write_json(self, out: TextIO) -> None:
        """The report as indented JSON, written article by article: a report of thousands of
        articles never exists as one string or one dict in memory."""
        names = [n for n in type(self).model_fields if n != "articles"]
        names.insert(names.index("meta"), "articles")
        out.write("{")
        for i, name in enumerate(names):
            out.write("," if i else "")
            out.write(f"\n  {json.dumps(name)}: ")
            if name != "articles":
                data = self.model_dump(mode="json", include={name})[name]
                out.write(_indented(data, 2))
                continue
            out.write("{")
            store = self.articles if isinstance(self.articles, ArticleStore) else None
            # a UTF-8 file takes the stored JSON as bytes, without decoding and encoding it again
            # (its line ends stay "\n" where a text file might write others: still the same JSON)
            utf8 = isinstance(out, io.TextIOWrapper) and codecs.lookup(out.encoding).name == "utf-8"
            raw = out.buffer if utf8 else None
            for j, article_id in enumerate(self.articles):
                out.write("," if j else "")
                out.write(f"\n    {json.dumps(article_id, ensure_ascii=False)}: ")
                if store is not None and raw is not None:
                    out.flush()
                    raw.write(store.json(article_id).replace(b"\n", b"\n    "))
                    continue
                data = (
                    store.json(article_id).decode("utf-8")
                    if store is not None
                    else self.articles[article_id].model_dump_json(indent=2)
                )
                out.write(data.replace("\n", "\n    "))
            out.write("\n  }" if self.articles else "}")
        out.write("\n}\n")


class SuiteSet(_Model):
    """Several suites run in one command (`eval run --suite A --suite B …`): one file, one
    table and one gate over them, so a model or prompt change is judged on all at once."""

    suites: dict[str, Report]

    def write_json(self, out: TextIO) -> None:
        """Each suite's report as `Report.write_json` writes it, inside one object."""
        out.write('{\n"suites": {')
        for i, (name, report) in enumerate(self.suites.items()):
            out.write(f"{',' if i else ''}\n{json.dumps(name, ensure_ascii=False)}: ")
            report.write_json(out)
        out.write("}\n}\n")


# --- comparing two runs ----------------------------------------------------------------------


class Delta(_Model):
    a: float | None
    b: float | None
    delta: float | None

    @classmethod
    def of(cls, a: float | None, b: float | None) -> Delta:
        return cls(a=a, b=b, delta=None if a is None or b is None else b - a)


class TypeDelta(_Model):
    precision: Delta
    recall: Delta
    f1: Delta
    macro_f1: Delta
    tp: Delta
    fp: Delta
    fn: Delta
    strict_f1: Delta | None = None
    fields: dict[str, Delta] = Field(default_factory=dict)


class RecordRef(_Model):
    index: int | None
    label: str
    evidence: str


class FieldChange(RecordRef):
    field: str
    a: bool
    b: bool


class Changes(_Model):
    """One article and record type: the gold records and spurious records that changed."""

    gained: list[RecordRef] = Field(default_factory=list)
    lost: list[RecordRef] = Field(default_factory=list)
    spurious_added: list[RecordRef] = Field(default_factory=list)
    spurious_removed: list[RecordRef] = Field(default_factory=list)
    fields_changed: list[FieldChange] = Field(default_factory=list)

    def any(self) -> bool:
        return bool(
            self.gained
            or self.lost
            or self.spurious_added
            or self.spurious_removed
            or self.fields_changed
        )


class Comparison(_Model):
    """Deltas B − A per type, field and run number, and the records that changed."""

    by_type: dict[Kind, TypeDelta]
    summary: dict[str, Delta]
    task: dict[str, Delta] = Field(default_factory=dict)
    articles: dict[str, dict[Kind, Changes]] = Field(default_factory=dict)
    only_in_a: list[str] = Field(default_factory=list)
    only_in_b: list[str] = Field(default_factory=list)
    regressions: list[str] = Field(default_factory=list)
    meta_a: Meta | None = None
    meta_b: Meta | None = None


class SuitesComparison(_Model):
    """Two runs over several suites: a comparison per suite both have."""

    suites: dict[str, Comparison]
    only_in_a: list[str] = Field(default_factory=list)
    only_in_b: list[str] = Field(default_factory=list)


class VersusBaseline(_Model):
    """How a model's run compares with the offline baseline's run on the same articles."""

    baseline: Meta
    by_type: dict[Kind, TypeDelta]
    task: dict[str, Delta] = Field(default_factory=dict)
    regressions: list[str] = Field(default_factory=list)


Report.model_rebuild()
