"""Importers: public benchmarks converted into eval suites.

`extractor eval import FORMAT SRC --out DIR` writes `DIR/articles/<id>.txt`,
`DIR/gold/<id>.json` (one `GoldArticle` per document, evidence verbatim at its span),
`DIR/suite.toml` and `DIR/README.md` (source, licence, what maps to what and what is dropped).
Each format's module documents its mapping in its docstring; that text goes into the README.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path

from filelock import FileLock

from extractor import errors, records
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
#: in an imported suite: what it was imported from (see `import_once`)
STAMP = ".import.json"


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


def import_once(format: str, src: Path, out: Path, template: Suite) -> bool:
    """`run_import`, unless `out` already holds this very import: the same data files (path,
    size, modification time), suite settings and converter code. True when it imported.

    Runs of a suite share its import (`eval run --data`): an unchanged one is not rewritten,
    so a run never reads files that another run is replacing. `eval import` always rewrites
    (atomically, see `write_suite`)."""
    stamp = _stamp(format, src, template)
    out.parent.mkdir(parents=True, exist_ok=True)
    # one import at a time: runs started together wait for the first and then share it
    with FileLock(out.parent / f".{out.name}.lock"):
        try:
            if (out / STAMP).read_text(encoding="utf-8") == stamp:
                return False
        except (OSError, UnicodeDecodeError):
            pass
        run_import(format, src, out, template)
        (out / STAMP).write_text(stamp, encoding="utf-8")
    return True


def _stamp(format: str, src: Path, template: Suite) -> str:
    src = src.resolve()
    files = sorted(p for p in src.rglob("*") if p.is_file()) if src.is_dir() else [src]
    listing = hashlib.sha256()
    for path in files:
        listing.update(f"{path}\t{path.stat().st_size}\t{path.stat().st_mtime_ns}\n".encode())
    code = hashlib.sha256()
    converters = sorted(Path(__file__).parent.glob("*.py"))
    for module in [*converters, Path(records.__file__), Path(inspect.getfile(Suite))]:
        code.update(module.read_bytes())
    return json.dumps(
        {
            "format": format,
            "source": str(src),
            "files": {"count": len(files), "sha256 of path, size, mtime": listing.hexdigest()},
            "settings": template.model_dump(mode="json", exclude_unset=True, exclude=_LOCAL),
            "code": code.hexdigest(),
        },
        indent=1,
    )


__all__ = ["IMPORTERS", "Converted", "Importer", "import_once", "run_import"]
