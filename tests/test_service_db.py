"""The service's database: URLs, migrations (Alembic) and password redaction."""

from __future__ import annotations

import sqlite3

import pytest

from extractor.errors import UsageError
from extractor.service.db import make_engine, redact


def test_db_upgrade_creates_the_tables_and_is_idempotent(tmp_path, cli):
    path = tmp_path / "nested" / "service.db"
    for _ in range(2):
        result = cli("db", "upgrade", "--db", f"sqlite:///{path}")
        assert result.exit_code == 0, result.output
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = db.execute("SELECT version_num FROM alembic_version").fetchall()
    assert {"api_keys", "jobs", "job_articles", "job_results"} <= tables
    assert version == [("0001",)]


def test_the_default_database_follows_extractor_db(tmp_path, monkeypatch):
    monkeypatch.setenv("EXTRACTOR_DB", f"sqlite:///{tmp_path / 'env.db'}")
    assert make_engine().url.database == str(tmp_path / "env.db")


def test_other_databases_are_refused_without_showing_the_password():
    with pytest.raises(UsageError, match="sqlite:///PATH or postgresql") as refused:
        make_engine("mysql://user:s3cret@host/db")
    assert "s3cret" not in str(refused.value)
    assert redact("postgresql://u:s3cret@h:5432/d") == "postgresql://u:***@h:5432/d"
