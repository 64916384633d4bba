"""The rules the codebase holds itself to: ruff-clean, and data flows one way (import-linter)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import ROOT


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(__import__("pathlib").Path(sys.executable).parent))
    assert found, f"{name} is not installed: pip install -e '.[dev]'"
    return found


@pytest.mark.slow
def test_ruff_clean():
    proc = subprocess.run(
        [_tool("ruff"), "check", "extractor", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_import_layers():
    proc = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
