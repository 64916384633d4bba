"""Importers: public benchmarks converted into eval suites.

`extractor eval import FORMAT SRC --out DIR` writes `DIR/articles/<id>.txt`,
`DIR/gold/<id>.json` (one `GoldArticle` per document, evidence verbatim at its span),
`DIR/suite.toml` and `DIR/README.md` (source, licence, what maps to what and what is dropped).
Each format's module documents its mapping in its docstring; that text goes into the README.
"""

from __future__ import annotations

from pathlib import Path

from extractor import errors
from extractor.eval.importers.base import Converted, Importer, write_suite
from extractor.eval.importers.measeval import MEASEVAL
from extractor.eval.importers.plover import PLOVER
from extractor.eval.importers.smartdata import SMARTDATA
from extractor.eval.importers.spkatt import GEPADE, SPKATT2023
from extractor.eval.suite import SUITE_FILE, Suite, load_suite

IMPORTERS: dict[str, Importer] = {
    imp.format: imp for imp in (SPKATT2023, GEPADE, MEASEVAL, PLOVER, SMARTDATA)
}
#: suite.toml keys an importing suite may not set for its converted copy
_LOCAL = {"directory", "importer", "articles", "gold", "replay"}


def run_import(format: str, src: Path, out: Path, template: Suite | None = None) -> Converted:
    """Convert `src` in `format` into a suite at `out`.

    `template` (a committed suite.toml that names this importer), else the suite.toml of an
    earlier import into `out`, overrides the importer's defaults: gates set by hand survive a
    re-import.
    """
    importer = IMPORTERS.get(format)
    if importer is None:
        raise errors.UsageError(f"unknown format {format!r}; pick from {', '.join(IMPORTERS)}")
    if not src.exists():
        raise errors.UsageError(f"no such file or directory: {src}")
    suite = importer.suite
    if template is None and (out / SUITE_FILE).is_file():
        template = load_suite(out)
    if template is not None:
        settings = template.model_dump(exclude_unset=True, exclude=_LOCAL)
        suite = suite.model_copy(update=settings)
    converted = importer.convert(src)
    write_suite(importer, converted, out, suite)
    return converted


__all__ = ["IMPORTERS", "Converted", "Importer", "run_import"]
