from __future__ import annotations

from conftest import ROOT

from extractor.schemas import SCHEMAS, render


def test_committed_schemas_match_the_models():
    drifted = [
        name
        for name, model in SCHEMAS.items()
        if (ROOT / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8") != render(model)
    ]
    assert drifted == [], f"schemas/ drifted for {drifted}: run `extractor schemas`"


def test_draft_schema_bounds_every_string_and_list():
    """Small local models under a grammar only terminate when every string/list is bounded."""
    schema = SCHEMAS["extraction_draft"].model_json_schema()
    unbounded = []

    def walk(node, path):
        if isinstance(node, dict):
            bounds = {"maxLength", "enum", "pattern"}
            if node.get("type") == "string" and not bounds & node.keys():
                unbounded.append(path)
            if node.get("type") == "array" and "maxItems" not in node:
                unbounded.append(path)
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}/{i}")

    walk(schema, "")
    assert unbounded == []
