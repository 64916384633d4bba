"""Grounded Events, Claims and Figures from news articles.

    >>> import extractor
    >>> result = extractor.extract(text, model="openai:gpt-4o-mini")
    >>> result.figures[0].value, result.figures[0].span

Every record's `evidence` is a verbatim quote; `span` and `grounding` are computed by the
library, never by the model. Names are imported on first use (PEP 562), so `import extractor`
and `extractor --help` stay fast: model clients load only when a model is called.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from extractor.batch.engine import run_batch
    from extractor.client import Client
    from extractor.engine import Extractor, aextract, extract
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
    from extractor.model.limits import RateLimiter
    from extractor.options import Options
    from extractor.records import (
        ArticleExtraction,
        ArticleResult,
        Claim,
        Event,
        Figure,
        Grounding,
    )

#: public name -> module that defines it
_WHERE = {
    "ArticleExtraction": "extractor.records",
    "ArticleResult": "extractor.records",
    "Claim": "extractor.records",
    "Event": "extractor.records",
    "Figure": "extractor.records",
    "Grounding": "extractor.records",
    "ConfigError": "extractor.errors",
    "ExtractorError": "extractor.errors",
    "InputError": "extractor.errors",
    "ModelError": "extractor.errors",
    "OutputInvalidError": "extractor.errors",
    "ReplayMissError": "extractor.errors",
    "ServiceError": "extractor.errors",
    "TransportError": "extractor.errors",
    "UsageError": "extractor.errors",
    "Extractor": "extractor.engine",
    "aextract": "extractor.engine",
    "extract": "extractor.engine",
    "Options": "extractor.options",
    "RateLimiter": "extractor.model.limits",
    "run_batch": "extractor.batch.engine",
    "Client": "extractor.client",
}

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
    "RateLimiter",
    "ReplayMissError",
    "ServiceError",
    "TransportError",
    "UsageError",
    "aextract",
    "extract",
    "run_batch",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'extractor' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
