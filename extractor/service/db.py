"""Tables, the engine for a `--db` URL, and migrations (Alembic, run on start or `db upgrade`).

Times are Unix seconds (floats) so that SQLite and PostgreSQL compare them alike, and leases
written by one replica are read correctly by another on the same machine or NTP-synced hosts.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import (
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from extractor.errors import UsageError

MIGRATIONS = Path(__file__).parent / "migrations"


class Base(DeclarativeBase):
    pass


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    #: the first characters of the key, shown by `keys list` so a key can be recognised
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    rpm: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: signs this key's webhooks (HMAC-SHA256); shown once, when the key is created
    webhook_secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("key_id", "idempotency_key"),)

    #: keyset for listing newest first; `id` is what clients see
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    cached: Mapped[int] = mapped_column(Integer, default=0)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    total_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_s: Mapped[float] = mapped_column(Float, default=0.0)
    webhook: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: pending | delivered | failed (null without a webhook)
    webhook_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    webhook_attempts: Mapped[int] = mapped_column(Integer, default=0)
    webhook_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_next_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class JobArticle(Base):
    """One input article of a job: queued, running (leased to a worker), done, or cancelled
    (its job was cancelled before it ran)."""

    __tablename__ = "job_articles"
    __table_args__ = (
        UniqueConstraint("job_id", "seq"),
        Index("ix_job_articles_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    #: position in the submitted input
    seq: Mapped[int] = mapped_column(Integer)
    article_id: Mapped[str] = mapped_column(Text)
    #: the parsed article (or its load failure) as JSON
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    worker: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[float | None] = mapped_column(Float, nullable=True)


class JobResult(Base):
    """One output line. `pos` numbers a job's lines 1, 2, 3 … in commit order: the cursor."""

    __tablename__ = "job_results"
    __table_args__ = (UniqueConstraint("job_id", "seq"),)

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    pos: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    line: Mapped[str] = mapped_column(Text)


def default_url() -> str:
    """`$EXTRACTOR_DB`, else a SQLite file in the user's data directory."""
    if env := os.environ.get("EXTRACTOR_DB"):
        return env
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("extractor", appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'service.db'}"


def make_engine(url: str | None = None) -> Engine:
    """An engine for `sqlite:///path` or `postgresql://…` (through psycopg 3)."""
    url = url or default_url()
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if not url.startswith("postgresql+psycopg://"):
        raise UsageError(f"--db must be sqlite:///PATH or postgresql://…, got {redact(url)}")
    return create_engine(url, pool_pre_ping=True, pool_size=10)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # WAL lets readers (result streams) run while the worker writes
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def redact(url: str) -> str:
    """A URL without its password, for messages and logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema (idempotent; safe with several replicas)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if is_postgres(engine):  # replicas starting at once migrate one after the other
            from sqlalchemy import text

            connection.execute(text("SELECT pg_advisory_xact_lock(727274)"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
