"""JSON Schemas of the record types: the language-neutral contract in `schemas/`.

Gold files and non-Python callers validate against these; a test fails when the committed
files drift from the Pydantic models. Regenerate with `extractor schemas`.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from extractor.records import (
    ArticleExtraction,
    ArticleResult,
    Claim,
    Event,
    ExtractionDraft,
    Figure,
    GoldArticle,
)

SCHEMAS: dict[str, type[BaseModel]] = {
    "event": Event,
    "claim": Claim,
    "figure": Figure,
    "article_extraction": ArticleExtraction,
    "article_result": ArticleResult,
    "gold_article": GoldArticle,
    "extraction_draft": ExtractionDraft,  # what the model is asked to fill
}


def render(model: type[BaseModel]) -> str:
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in SCHEMAS.items():
        path = directory / f"{name}.schema.json"
        path.write_text(render(model), encoding="utf-8")
        written.append(path)
    return written
