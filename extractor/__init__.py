"""Grounded Events, Claims and Figures from news articles.

    >>> import extractor
    >>> result = extractor.extract(text, model="openai:gpt-4o-mini")
    >>> result.figures[0].value, result.figures[0].span

Every record's `evidence` is a verbatim quote; `span` and `grounding` are computed by the
library, never by the model.
"""

from __future__ import annotations

from extractor.batch.engine import run_batch
from extractor.errors import (
    ConfigError,
    ExtractorError,
    InputError,
    ModelError,
    OutputInvalidError,
    ReplayMissError,
    ServiceError,
    TransportError,
    UsageError,
)
from extractor.engine import Extractor, Options, aextract, extract
from extractor.records import (
    ArticleExtraction,
    ArticleResult,
    Claim,
    Event,
    Figure,
    Grounding,
)

__all__ = [
    "ArticleExtraction",
    "ArticleResult",
    "Claim",
    "Client",
    "ConfigError",
    "Event",
    "Extractor",
    "ExtractorError",
    "Figure",
    "Grounding",
    "InputError",
    "ModelError",
    "Options",
    "OutputInvalidError",
    "ReplayMissError",
    "ServiceError",
    "TransportError",
    "UsageError",
    "aextract",
    "extract",
    "run_batch",
]


def __getattr__(name: str) -> object:
    """`extractor.Client` is imported on first use: most users never need httpx's client."""
    if name == "Client":
        from extractor.client import Client

        return Client
    raise AttributeError(f"module 'extractor' has no attribute {name!r}")
