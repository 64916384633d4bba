"""The API contract: `schemas/openapi.json` is the app's document, and Schemathesis fuzzes every
operation of the running server (no 5xx; status, content type and body match the document)."""

from __future__ import annotations

import json

import pytest
import schemathesis
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from service_server import ServiceProcess, create_key

from extractor.service.app import render_openapi


def test_committed_openapi_matches_the_app():
    committed = (ROOT / "schemas" / "openapi.json").read_text(encoding="utf-8")
    assert committed == render_openapi(), "schemas/openapi.json drifted: run `extractor schemas`"


def test_every_error_answer_is_documented_as_problem_json():
    document = json.loads(render_openapi())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code, answer in operation["responses"].items():
                if code[0] in "45":
                    assert list(answer["content"]) == ["application/problem+json"], (path, method)
            if path.startswith("/v1"):
                assert {"401", "422", "429", "500"} <= operation["responses"].keys()


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx, value):  # the document says "a string of JSON lines": send it as it is
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    server = ServiceProcess.in_folder(tmp_path_factory.mktemp("fuzz"), "--model", "baseline")
    with server:
        server.key = create_key(server.db, "fuzz")
        yield server


@pytest.mark.slow
def test_fuzz_every_operation(fuzzed):
    api = schemathesis.openapi.from_url(f"{fuzzed.url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) == 10  # every method of every path

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def call(case):
            case.call_and_validate(
                headers={"Authorization": f"Bearer {fuzzed.key}"},
                checks=[
                    not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
                timeout=30,
            )

        call()
    access = [json.loads(line) for line in fuzzed.log.splitlines() if '"msg": "request"' in line]
    called = {(line["method"], line["route"]) for line in access}
    assert {(op.method.upper(), op.path) for op in operations} <= called
    assert len(access) >= 5 * len(operations)
