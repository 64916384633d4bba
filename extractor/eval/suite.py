"""An eval suite: a folder with `suite.toml` naming articles, gold, model, gates and scoring.

A suite built from data that may not enter the repository (SpkAtt-2023, MeasEval) names an
`importer` instead of articles and gold: `extractor eval run --suite NAME --data PATH` converts
the data into a work folder outside the repository first and runs the converted suite there.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from extractor import errors
from extractor.eval.report import KINDS, Kind, MatchMode

SUITE_FILE = "suite.toml"
#: where `--suite NAME` is looked up when NAME is not a folder
SUITES_DIR = Path("evals") / "suites"
#: where suites whose data stays out of the repository are converted to
DEFAULT_WORK = Path.home() / ".cache" / "extractor" / "suites"


class Suite(BaseModel):
    """The keys of `suite.toml`; paths are relative to the suite folder."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str | None = None
    articles: list[Path] = Field(default_factory=list)
    gold: Path | None = None
    replay: Path = Path("replay")
    model: str | None = None
    language: str | None = Field(
        default=None, description="language of every article, when the benchmark fixes it"
    )
    #: new suites match strictly; the seed suites say `matching = "lenient"` and why
    matching: MatchMode = MatchMode.STRICT
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    types: list[Kind] = Field(default_factory=lambda: list(KINDS))
    task: list[str] = Field(default_factory=list, description="benchmark task metrics to add")
    fail_under: float | None = Field(default=None, ge=0.0, le=1.0)
    task_fail_under: dict[str, float] = Field(default_factory=dict)
    min_valid_output: float = Field(default=1.0, ge=0.0, le=1.0)
    options: dict[str, Any] = Field(default_factory=dict)
    importer: str | None = Field(
        default=None, description="for data kept out of the repo: the importer to run on --data"
    )
    license: str | None = None
    source: str | None = None

    directory: Path = Field(default=Path("."), exclude=True)

    def path(self, relative: Path) -> Path:
        return relative if relative.is_absolute() else self.directory / relative

    @property
    def article_paths(self) -> list[Path]:
        return [self.path(a) for a in self.articles]

    @property
    def gold_dir(self) -> Path:
        if self.gold is None:
            raise errors.UsageError(f"suite {self.name} has no gold folder")
        return self.path(self.gold)

    @property
    def replay_dir(self) -> Path:
        return self.path(self.replay)


def find_suite(name_or_dir: Path) -> Path:
    """The suite folder: `name_or_dir` itself, or `evals/suites/NAME` of this checkout."""
    if name_or_dir.is_dir():
        return name_or_dir
    if len(name_or_dir.parts) == 1:
        for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
            candidate = root / SUITES_DIR / name_or_dir
            if (candidate / SUITE_FILE).is_file():
                return candidate
    raise errors.UsageError(
        f"no suite {name_or_dir}: pass --suite DIR (a folder with {SUITE_FILE}) or the name of "
        f"a folder under {SUITES_DIR}"
    )


def load_suite(directory: Path) -> Suite:
    """Read and check `directory/suite.toml`."""
    path = directory / SUITE_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise errors.UsageError(f"no suite at {path}: pass --suite DIR with a suite.toml") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.UsageError(f"cannot read {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise errors.UsageError(f"{path} is not valid TOML: {exc}") from exc
    try:
        suite = Suite.model_validate({**data, "directory": directory})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise errors.UsageError(f"{path}: {where}: {first['msg']}") from None
    if suite.importer is None and (not suite.articles or suite.gold is None):
        raise errors.UsageError(f"{path} lacks `articles` and `gold` (or an `importer`)")
    return suite


def suite_toml(suite: Suite, comment: str = "") -> str:
    """The TOML text of a suite written by an importer (flat keys and one [options] table)."""
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    data = suite.model_dump(mode="json", exclude_defaults=True, exclude={"directory"})
    data["matching"] = suite.matching.value  # said even when it is the default
    options = data.pop("options", {})
    task_fail = data.pop("task_fail_under", {})
    for key, value in data.items():
        lines.append(f"{key} = {_toml_value(value)}")
    for table, values in (("task_fail_under", task_fail), ("options", options)):
        if values:
            lines += ["", f"[{table}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
