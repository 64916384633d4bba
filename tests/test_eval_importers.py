"""Importers on small excerpts in each benchmark's format (tests/data/eval_import/README.md)."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from pathlib import Path

import pytest
from conftest import DATA, ROOT
from fake_openai import Step

from extractor import records
from extractor.eval.gold import load_gold
from extractor.eval.importers import IMPORTERS, import_once, run_import
from extractor.eval.importers.measeval import parse_value as parse_en
from extractor.eval.importers.smartdata import not_cardinal
from extractor.eval.importers.smartdata import parse_value as parse_de
from extractor.eval.report import Report
from extractor.eval.run import prepare
from extractor.eval.suite import load_suite

EXCERPTS = DATA / "eval_import"


def test_spkatt2023_maps_cue_source_message_and_form() -> None:
    converted = IMPORTERS["spkatt2023"].convert(EXCERPTS / "spkatt2023")
    (doc,) = converted.documents
    assert doc.id == "900"
    assert doc.text.splitlines()[1] == (
        "Die Bürgermeisterin Anna Beispiel sagte , der Weg werde im Mai fertig ."
    )
    indirect, direct = doc.claims
    assert (indirect.cue, indirect.claimant, indirect.speech) == (
        "sagte",
        "Die Bürgermeisterin Anna Beispiel",
        records.Speech.REPORTED,
    )
    assert indirect.message == "der Weg werde im Mai fertig ."
    # a separable verb: both cue tokens, in text order
    assert (direct.cue, direct.claimant, direct.speech) == (
        "gab an",
        "der Sprecher",
        records.Speech.DIRECT,
    )
    assert direct.evidence == "Wir sind froh “ , gab der Sprecher gestern an"
    assert doc.text[slice(*direct.span)] == direct.evidence
    assert converted.dropped == {"event without a cue": 1}


def test_gepade_maps_bio_roles_and_particles() -> None:
    converted = IMPORTERS["gepade"].convert(EXCERPTS / "gepade")
    (doc,) = converted.documents
    assert doc.id == "19074_Tagesordnungspunkt_12_FDP_Skudelny_ID197411500_17.01.2019"
    said, lies, draft = doc.claims
    assert (said.cue, said.claimant) == ("gesagt", "Sie")
    assert said.message.startswith("es Erst seit Februar")
    assert lies.cue == "liegt vor" and lies.claimant == ""  # particle joins its verb
    assert draft.cue == "Gesetzentwurf"  # a nominal cue with no other role
    assert all(doc.text[slice(*c.span)] == c.evidence for c in doc.claims)


def test_measeval_maps_quantities_units_and_entities() -> None:
    converted = IMPORTERS["measeval"].convert(EXCERPTS / "measeval")
    assert [d.id for d in converted.documents] == ["S0000-0001", "S0000-0002"]
    hard, thick, count, listed = converted.documents[0].figures
    assert (hard.text, hard.value, hard.unit, hard.measured) == ("3.19 ± 0.10", 3.19, "GPa", "film")
    assert hard.evidence == "3.19 ± 0.10 GPa"
    assert (thick.value, thick.unit, thick.qualifier) == (25.0, "nm", records.Qualifier.ABOUT)
    assert (count.text, count.value, count.unit) == ("three", 3.0, None)
    assert listed.value == 1.0  # a list is one Figure valued at its first number
    assert converted.dropped == {
        "Quantity whose offsets do not hold its text": 1,
        "list Quantity kept as one Figure (first value)": 1,
    }
    assert converted.documents[1].figures == []


@pytest.mark.parametrize(
    ("text", "value"),
    [("−25.9", -25.9), ("4.3 × 10−8", 4.3e-8), ("1,250", 1250.0), ("2e5", 2e5), ("two", 2.0)],
)
def test_measeval_values(text: str, value: float) -> None:
    assert parse_en(text) == pytest.approx(value)


def test_plover_folds_categories_and_keeps_repeated_ids_apart() -> None:
    converted = IMPORTERS["plover"].convert(EXCERPTS / "plover")
    ids = [d.id for d in converted.documents]
    assert ids == [
        "PLOVER-GSR01-DEMAND-0001",
        "PLOVER-GSR01-SANCTION-0010",
        "PLOVER-GSR01-DEMAND-0001-2",
    ]
    demand, fight = (d.events[0] for d in converted.documents[:2])
    assert demand.event_type == records.EventType.REQUEST  # DEMAND
    assert fight.event_type == records.EventType.ASSAULT  # FIGHT
    assert fight.actors == ["Russia"] and fight.recipients == ["Iran", "Turkey"]
    assert not fight.evidence.endswith(".")
    assert converted.dropped == {"category 'MYSTERY' outside the 16": 1}


def test_smartdata_keeps_cardinals_with_their_values() -> None:
    converted = IMPORTERS["smartdata"].convert(EXCERPTS / "smartdata")
    first, second = converted.documents
    assert first.id.startswith("sd-") and first.upstream_id == "http://example.org/test/1"
    assert [(f.text, f.value) for f in first.figures] == [
        ("12.000", 12000.0),
        ("6,9 Milliarden Dollar", 6.9e9),
        ("220 000", 220000.0),
    ]
    assert [(f.text, f.value) for f in second.figures] == [
        ("5 km", 5.0),
        ("zwei Tage", 2.0),
        ("elf Prozent", 11.0),
    ]
    assert converted.dropped == {
        "ordinal": 1,
        "clock time": 1,
        "DURATION without a number": 1,
        "phone number": 2,
        "code or model name": 1,
        "lone article 'ein'": 1,
    }
    # NUMBER mentions are flagged cardinal for `cardinal_recall`; DISTANCE and DURATION are not
    assert [f.flags for f in first.figures] == [["cardinal"]] * 3
    assert [f.flags for f in second.figures] == [[], [], ["cardinal"]]


@pytest.mark.parametrize(
    ("text", "mention", "reason"),
    [
        ("Es kamen 300 Leute.", "300", None),
        ("um etwa ein Zehntel", "ein Zehntel", "no number of at least two"),
        ("Es kamen Hunderte.", "Hunderte", "no number of at least two"),
        ("BMW X1 sDrive 18d im Test", "18d", "code, ordinal or clock time"),
        ("Deutschland 2. Grund der Mitteilung", "2", "list number or ordinal"),
        ("gemäß § 26 Abs. 1 WpHG", "26", "code after §, Art., Nr., Stufe or Platz"),
        ("Bei Stufe 3 geht sie", "3", "code after §, Art., Nr., Stufe or Platz"),
        ("Es waren 2.500 Gäste.", "2.500", None),
    ],
)
def test_smartdata_cardinal_rule(text: str, mention: str, reason: str | None) -> None:
    assert not_cardinal(mention, text, text.index(mention)) == reason


@pytest.mark.parametrize(("text", "value"), [("$5 Mio.", 5e6), ("hunderte", None), ("acht", 8.0)])
def test_smartdata_values(text: str, value: float | None) -> None:
    assert parse_de(text) == value


def test_import_writes_a_suite_that_runs(tmp_path: Path, cli) -> None:
    out = tmp_path / "plover"
    result = cli("eval", "import", "plover", EXCERPTS / "plover", "--out", out)
    assert result.exit_code == 0, result.output
    assert "imported 3 documents (3 events)" in result.output
    assert set(load_gold(out / "gold")) == {
        "PLOVER-GSR01-DEMAND-0001",
        "PLOVER-GSR01-SANCTION-0010",
        "PLOVER-GSR01-DEMAND-0001-2",
    }
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in readme and "DEMAND → REQUEST" in readme
    suite = load_suite(out)
    assert suite.types == ["events"] and suite.matching == "strict"
    report = tmp_path / "r.json"
    result = cli("eval", "run", "--suite", out, "--report", report)
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text(encoding="utf-8"))
    assert list(data["by_type"]) == ["events"]  # claims and figures are not scored here
    assert [t["name"] for t in data["task"]] == ["event_type"]
    assert set(data["modes"]) == {"lenient", "strict"}


def test_reimport_keeps_hand_set_gates(tmp_path: Path) -> None:
    out = tmp_path / "s"
    run_import("smartdata", EXCERPTS / "smartdata", out)
    toml = out / "suite.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "fail_under = 0.5\n", encoding="utf-8")
    run_import("smartdata", EXCERPTS / "smartdata", out)
    assert load_suite(out).fail_under == 0.5


def test_licensed_data_may_not_be_imported_into_the_repository(cli) -> None:
    out = ROOT / "evals" / "suites" / "measeval-converted"
    result = cli("eval", "import", "measeval", EXCERPTS / "measeval", "--out", out)
    assert result.exit_code == 2
    assert "may not enter the repository" in " ".join(result.output.split())
    assert not out.exists()


def test_import_usage_errors(tmp_path: Path, cli) -> None:
    result = cli("eval", "import", "bogus", EXCERPTS / "plover", "--out", tmp_path / "x")
    assert result.exit_code == 2 and "unknown format 'bogus'" in result.output
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine", encoding="utf-8")
    result = cli("eval", "import", "plover", EXCERPTS / "plover", "--out", tmp_path / "busy")
    assert result.exit_code == 2 and "is not an imported suite" in " ".join(result.output.split())
    result = cli("eval", "import", "smartdata", EXCERPTS / "plover", "--out", tmp_path / "y")
    assert result.exit_code == 2


def test_a_data_suite_runs_only_with_data(tmp_path: Path, cli) -> None:
    result = cli("eval", "run", "--suite", "measeval", "--report", tmp_path / "r.json")
    assert result.exit_code == 2
    assert "pass --data PATH" in " ".join(result.output.split())
    report = tmp_path / "r.json"
    result = cli(
        "eval",
        "run",
        "--suite",
        ROOT / "evals" / "suites" / "measeval",
        "--data",
        EXCERPTS / "measeval",
        "--work",
        tmp_path / "work",
        "--report",
        report,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text(encoding="utf-8"))
    assert list(data["by_type"]) == ["figures"] and data["meta"]["suite"] == "measeval"
    assert data["task"][0]["name"] == "quantity_overlap"
    assert (tmp_path / "work" / "measeval" / "gold" / "S0000-0001.json").is_file()


def _measeval_run(cli, work: Path, report: Path, *extra: str):
    return cli(
        "eval",
        "run",
        "--suite",
        "measeval",
        "--data",
        EXCERPTS / "measeval",
        "--work",
        work,
        "--report",
        report,
        *extra,
    )


def test_a_model_run_records_replays_and_reports_against_the_baseline(
    tmp_path: Path, cli, fake
) -> None:
    """`eval run --suite measeval --model openai:…` against any OpenAI-compatible server."""
    answer = json.dumps(json.loads((EXCERPTS / "answer_measeval.json").read_text("utf-8")))
    report = tmp_path / "model.json"
    with fake(default=Step(content=answer)) as server:
        result = _measeval_run(
            cli,
            tmp_path / "work",
            report,
            "--model",
            "openai:any-model",
            "--base-url",
            server.base_url,
            "--record",
            "--markdown",
            tmp_path / "model.md",
        )
        asked = len(server.requests)
        base_url = server.base_url
    assert result.exit_code == 0, result.output
    assert asked == 2  # one request per paragraph
    assert len(list((tmp_path / "work" / "measeval" / "replay").glob("*.json"))) == 2
    data = Report.model_validate_json(report.read_text(encoding="utf-8"))
    assert data.meta.model == "openai:any-model"
    assert data.by_type["figures"].tp == 3  # the scripted figures hit three of four quantities
    versus = data.vs_baseline
    assert versus is not None and versus.baseline.model == "baseline"
    assert versus.by_type["figures"].f1.b == data.by_type["figures"].f1
    assert "Against the offline baseline" in (tmp_path / "model.md").read_text(encoding="utf-8")
    # the recordings answer a second run offline (the server is gone), with the same scores
    again = tmp_path / "again.json"
    result = _measeval_run(
        cli,
        tmp_path / "work",
        again,
        "--model",
        "openai:any-model",
        "--base-url",
        base_url,
        "--replay",
    )
    assert result.exit_code == 0, result.output
    replayed = Report.model_validate_json(again.read_text(encoding="utf-8"))
    assert replayed.by_type == data.by_type and replayed.summary.cached_share == 1.0


def test_runs_share_one_import_of_unchanged_data(tmp_path: Path) -> None:
    """`eval run --data` imports once; it imports again when the data (or settings) change."""
    data = tmp_path / "data"
    shutil.copytree(EXCERPTS / "measeval", data)
    template = load_suite(ROOT / "evals" / "suites" / "measeval")
    out = tmp_path / "work" / "measeval"
    assert import_once("measeval", data, out, template)
    gold = sorted((out / "gold").iterdir())
    written = [p.stat().st_mtime_ns for p in gold]
    assert not import_once("measeval", data, out, template)
    assert [p.stat().st_mtime_ns for p in gold] == written
    changed = next(p for p in sorted(data.rglob("*")) if p.is_file())
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    assert import_once("measeval", data, out, template)
    gated = template.model_copy(update={"fail_under": 0.1})
    assert import_once("measeval", data, out, gated)
    assert not list(out.parent.glob(".measeval-import-*"))  # no staging folder left behind


def _prepare_and_read(work: str) -> int:
    suite = prepare(ROOT / "evals" / "suites" / "measeval", EXCERPTS / "measeval", Path(work))
    return len(load_gold(suite.gold_dir))  # checks every gold file against its article


@pytest.mark.slow  # starts four interpreters
def test_concurrent_runs_of_one_suite_all_read_it_whole(tmp_path: Path) -> None:
    """Runs started together used to delete and rewrite the shared import under each other."""
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        counts = pool.map(_prepare_and_read, [str(tmp_path)] * 8)
    assert counts == [counts[0]] * 8 and counts[0] > 0
