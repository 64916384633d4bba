"""The record types: what a model fills in (drafts) and what the library hands out (records).

Drafts are what the model sees as its response schema: every string and list is bounded so a
small local model under grammar-constrained decoding always terminates. Records add what only
the library may set: the character `span` of the evidence in the article as given (the
`evidence` a record hands out is the article's text at that span), the `grounding` status,
`flags` for anything a check in code found wrong, and the model's own `quote` when it differs.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

Short = Annotated[str, Field(max_length=120)]
Text = Annotated[str, Field(max_length=400)]
Quote = Annotated[str, Field(min_length=1, max_length=600)]


class EventType(StrEnum):
    """PLOVER's 16 event categories (Open Event Data Alliance, successor to CAMEO)."""

    AGREE = "AGREE"
    CONSULT = "CONSULT"
    SUPPORT = "SUPPORT"
    CONCEDE = "CONCEDE"
    COOPERATE = "COOPERATE"
    AID = "AID"
    RETREAT = "RETREAT"
    REQUEST = "REQUEST"
    ACCUSE = "ACCUSE"
    REJECT = "REJECT"
    THREATEN = "THREATEN"
    PROTEST = "PROTEST"
    SANCTION = "SANCTION"
    MOBILIZE = "MOBILIZE"
    COERCE = "COERCE"
    ASSAULT = "ASSAULT"


class Speech(StrEnum):
    DIRECT = "direct"
    REPORTED = "reported"


class Hedging(StrEnum):
    """How the article presents the claim's truth, not whether it is true."""

    CONFIRMED = "confirmed"
    ALLEGED = "alleged"
    DENIED = "denied"


class Qualifier(StrEnum):
    """MeasEval-style modifier of a reported quantity."""

    EXACT = "exact"
    ABOUT = "about"
    UP_TO = "up_to"
    AT_LEAST = "at_least"
    MORE_THAN = "more_than"
    LESS_THAN = "less_than"
    ESTIMATE = "estimate"
    RANGE = "range"


class Grounding(StrEnum):
    """How the evidence was found in the article: the first that matched, best first."""

    EXACT = "exact"
    NORMALIZED = "normalized"  # after whitespace / case / quote / hyphen normalisation
    FUZZY = "fuzzy"  # best approximate match above the threshold
    NOT_FOUND = "not_found"


class Magnitude(BaseModel):
    dead: int | None = Field(default=None, ge=0, description="people killed")
    injured: int | None = Field(default=None, ge=0, description="people injured")
    size: int | None = Field(default=None, ge=0, description="size of the force or crowd involved")


# --- drafts: the model's response schema --------------------------------------------------


class EventDraft(BaseModel):
    """Something that happened (or was done) in the world."""

    event_type: EventType = Field(description="PLOVER category")
    summary: Text = Field(description="one short sentence: who did what to whom")
    actors: list[Short] = Field(default_factory=list, max_length=6, description="who acted")
    recipients: list[Short] = Field(
        default_factory=list, max_length=6, description="who was acted upon"
    )
    location: Short | None = None
    time_text: Short | None = Field(default=None, description="the time as written")
    date: str | None = Field(
        default=None,
        pattern=r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$",
        description="ISO date or partial date (YYYY, YYYY-MM, YYYY-MM-DD) when resolvable",
    )
    magnitude: Magnitude = Field(default_factory=Magnitude)
    evidence: Quote = Field(description="shortest verbatim quote from the article")


class ClaimDraft(BaseModel):
    """Somebody asserts something."""

    claimant: Short = Field(description="who makes the claim, as named in the article")
    claimant_role: Short | None = Field(default=None, description="office or function")
    cue: Short = Field(description="the attribution cue, e.g. 'erklärte', 'laut', 'warned'")
    message: Text = Field(description="what is claimed")
    speech: Speech = Field(description="direct (quoted) or reported speech")
    hedging: Hedging = Field(default=Hedging.ALLEGED)
    evidence: Quote = Field(description="shortest verbatim quote from the article")


class FigureDraft(BaseModel):
    """A number the article reports."""

    text: Short = Field(description="the number as written, e.g. '11.000' or 'drei'")
    value: float | None = Field(default=None, description="the number as a plain value")
    unit: Short | None = Field(default=None, description="ISO currency, SI unit or counted noun")
    measured: Short = Field(description="what the number counts or measures")
    qualifier: Qualifier = Field(default=Qualifier.EXACT)
    attributed_to: Short | None = Field(default=None, description="source of the number")
    evidence: Quote = Field(description="shortest verbatim quote from the article")


class ExtractionDraft(BaseModel):
    """The model's whole answer for one article (or one chunk of it)."""

    events: list[EventDraft] = Field(default_factory=list, max_length=25)
    claims: list[ClaimDraft] = Field(default_factory=list, max_length=25)
    figures: list[FigureDraft] = Field(default_factory=list, max_length=25)


# --- records: what the library hands out -----------------------------------------------------


class Grounded(BaseModel):
    """Fields the library computes; a model never sets them."""

    span: tuple[int, int] | None = Field(
        default=None, description="[start, end) character offsets of evidence in the input"
    )
    grounding: Grounding = Grounding.NOT_FOUND
    #: unbounded, unlike a draft's: the article's text at `span` may hold markup the quote lacks
    evidence: str = Field(
        min_length=1,
        description="the article's text at `span`; the model's quote when not found",
    )
    flags: list[str] = Field(
        default_factory=list, description="problems found in code, e.g. 'value_mismatch'"
    )
    quote: str | None = Field(
        default=None,
        description="the model's quote, when it differs from `evidence` (the text at `span`)",
    )

    @model_serializer(mode="wrap")
    def _omit_unset_quote(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Leave `quote` out unless set, so a record grounded as quoted reads as before."""
        data: dict[str, Any] = handler(self)
        if data.get("quote", "") is None:
            del data["quote"]
        return data


class Event(Grounded, EventDraft):
    pass


class Claim(Grounded, ClaimDraft):
    pass


class Figure(Grounded, FigureDraft):
    pass


class ArticleExtraction(BaseModel):
    """Grounded records for one article."""

    events: list[Event] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list)

    def all_records(self) -> list[Event | Claim | Figure]:
        return [*self.events, *self.claims, *self.figures]


RECORD_TYPES: dict[str, type[Event | Claim | Figure]] = {
    "events": Event,
    "claims": Claim,
    "figures": Figure,
}


class Usage(BaseModel):
    """Tokens and time for one article, summed over every attempt (re-asks and retries)."""

    requests: int = 0
    cached: int = Field(default=0, description="requests answered from cache or replay")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = Field(default=0.0, description="wall time spent waiting on the model")

    def add(self, other: Usage) -> None:
        for name in type(self).model_fields:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class ArticleError(BaseModel):
    kind: str
    message: str


class ArticleResult(ArticleExtraction):
    """One output line: every input article ends as exactly one of these."""

    model_config = ConfigDict(extra="forbid")

    article_id: str
    model: str
    prompt_version: str | None = None
    language: str | None = None
    usage: Usage = Field(default_factory=Usage)
    uncovered_figures: list[str] = Field(
        default_factory=list, description="numbers in the text that no Figure covers"
    )
    error: ArticleError | None = None


class GoldArticle(BaseModel):
    """A hand-labelled gold file: `evals/gold/<article_id>.json`."""

    model_config = ConfigDict(extra="forbid")

    article_id: str
    source: str = Field(description="path of the article, relative to the repository root")
    events: list[Event] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list)
