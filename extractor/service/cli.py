"""`extractor serve`, `extractor keys create|list|revoke` and `extractor db upgrade`."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from extractor import cli_options as opt
from extractor.cli_options import err
from extractor.errors import UsageError

if TYPE_CHECKING:
    from extractor.service.store import Store

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="EXTRACTOR_DB",
        help="sqlite:///PATH or postgresql://USER:PASS@HOST/DB. Default: a SQLite file in "
        "the user's data directory.",
    ),
]

keys_app = typer.Typer(help="API keys of the service.", no_args_is_help=True)
db_app = typer.Typer(help="The service's database.", no_args_is_help=True)


def mount(app: typer.Typer) -> None:
    """Add `serve`, `keys` and `db` to the `extractor` command."""
    app.command()(serve)
    app.add_typer(keys_app, name="keys")
    app.add_typer(db_app, name="db")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to bind.")] = 8000,
    db: DbOpt = None,
    model: opt.ModelOpt = None,
    base_url: opt.BaseUrlOpt = None,
    mode: opt.ModeOpt = None,
    prompt_version: opt.PromptVersionOpt = None,
    output_language: opt.OutputLanguageOpt = None,
    drop_ungrounded: opt.DropUngroundedOpt = False,
    follow_up_uncovered: opt.FollowUpOpt = False,
    cache: opt.CacheOpt = None,
    no_cache: opt.NoCacheOpt = False,
    concurrency: Annotated[
        int, typer.Option(min=1, help="Job articles in flight at once, per server.")
    ] = 4,
    rpm: Annotated[
        float | None, typer.Option(min=0.001, help="Model requests per minute, whole server.")
    ] = None,
    tpm: Annotated[
        float | None, typer.Option(min=1, help="Model tokens per minute, whole server.")
    ] = None,
    max_retries: opt.MaxRetriesOpt = 2,
    timeout: opt.TimeoutOpt = 120.0,
    deadline: opt.DeadlineOpt = 600.0,
    max_attempts: opt.MaxAttemptsOpt = 6,
    max_tokens: opt.MaxTokensOpt = 4096,
    chunk_chars: opt.ChunkCharsOpt = 12000,
    max_body_mb: Annotated[
        float, typer.Option(min=0.001, help="Larger request bodies get 413.")
    ] = 10.0,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="No keys needed; only on a loopback address.")
    ] = False,
    grace: Annotated[
        float,
        typer.Option(min=0, help="Seconds SIGTERM waits for running articles; then requeued."),
    ] = 20.0,
    lease: Annotated[
        float,
        typer.Option(min=1, help="Seconds a claimed article stays leased without a heartbeat."),
    ] = 30.0,
    webhook_attempts: Annotated[
        int, typer.Option(min=1, help="Tries per job webhook before it is marked failed.")
    ] = 5,
    webhook_backoff: Annotated[
        float, typer.Option(min=0.01, help="Seconds before the first webhook retry; doubles.")
    ] = 5.0,
    gold: Annotated[
        Path | None,
        typer.Option(help="Gold files (<article_id>.json) shown beside predicted on review pages."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
) -> None:
    """Run the HTTP API (FastAPI on uvicorn): /v1/extract, /v1/jobs, /metrics, review pages."""
    import uvicorn

    from extractor.model.limits import RateLimiter
    from extractor.service.app import ServiceSettings, create_app
    from extractor.service.observe import log_config

    if no_auth and not _is_loopback(host):
        raise opt.usage_exit(
            UsageError(f"--no-auth is allowed only on a loopback address, not {host}")
        )
    params = locals()
    try:
        limiter = RateLimiter(rpm, tpm) if rpm or tpm else None
        extractor = opt.extractor_from(params, limiter=limiter)  # bad options exit 2 now
    except UsageError as exc:
        raise opt.usage_exit(exc) from None
    settings = ServiceSettings(
        db_url=db,
        make_extractor=lambda: extractor,
        concurrency=concurrency,
        max_body_mb=max_body_mb,
        no_auth=no_auth,
        grace_s=grace,
        lease_s=lease,
        webhook_attempts=webhook_attempts,
        webhook_backoff_s=webhook_backoff,
        gold_dir=gold,
    )
    app = create_app(settings)
    if no_auth:
        err.print(f"warning: --no-auth: anyone on this machine can use http://{host}:{port}")
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=log_config(log_level),
        timeout_graceful_shutdown=max(grace, 0.1),
        access_log=False,
    )
    service = app.state.service

    class Server(uvicorn.Server):
        """SIGTERM drains the job worker at once, and a graceful stop exits 0."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            self._captured_signals = []  # not re-raised after shutdown: exit 0
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().call_soon_threadsafe(service.drain)

    Server(config).run()


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who or what the key is for.")],
    rpm: Annotated[
        int | None, typer.Option(min=1, help="Requests per minute this key may make.")
    ] = None,
    db: DbOpt = None,
) -> None:
    """Create a key. The key is printed once, as the last line; only its hash is stored."""
    store = _store(db)
    new = store.create_key(name, rpm)
    err.print(f"created key {new.info.prefix}… for {name!r}; it is not shown again")
    print(f"webhook secret: {new.info.webhook_secret}")
    print(new.key)


@keys_app.command("list")
def keys_list(db: DbOpt = None) -> None:
    """Every key: prefix, name, rpm, created, revoked."""
    for key in _store(db).list_keys():
        created = datetime.fromtimestamp(key.created_at, UTC).isoformat(timespec="seconds")
        revoked = (
            "revoked " + datetime.fromtimestamp(key.revoked_at, UTC).isoformat(timespec="seconds")
            if key.revoked_at
            else "active"
        )
        rpm = f"{key.rpm} rpm" if key.rpm else "no rpm limit"
        print(f"{key.prefix}…\t{key.name}\t{rpm}\tcreated {created}\t{revoked}")


@keys_app.command("revoke")
def keys_revoke(
    name_or_prefix: Annotated[str, typer.Argument(help="A key's name, or its first 10 chars.")],
    db: DbOpt = None,
) -> None:
    """Revoke keys by name or prefix: their requests get 401 from then on."""
    revoked = _store(db).revoke_key(name_or_prefix)
    if not revoked:
        raise opt.usage_exit(UsageError(f"no active key named or starting {name_or_prefix!r}"))
    for key in revoked:
        err.print(f"revoked {key.prefix}… ({key.name})")


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None) -> None:
    """Create or migrate the tables (`serve` does this on start too)."""
    from extractor.service.db import make_engine, redact, upgrade

    engine = make_engine(db)
    upgrade(engine)
    err.print(f"database {redact(engine.url.render_as_string(hide_password=False))} is up to date")


def _store(db: str | None) -> Store:
    from extractor.service.db import make_engine, upgrade
    from extractor.service.store import Store

    try:
        engine = make_engine(db)
    except UsageError as exc:
        raise opt.usage_exit(exc) from None
    upgrade(engine)
    return Store(engine)
