"""Every query the service makes: keys, jobs, the article queue and the result lines.

The queue's guarantees come from the database, not from memory:

* A worker claims queued articles (or ones whose lease ran out) in one transaction; on
  PostgreSQL with `FOR UPDATE SKIP LOCKED`, so replicas never claim the same row. A claim is a
  lease: the worker renews it while it runs the article (`heartbeat`); a killed server's
  leases run out and another server (or the restarted one) claims those articles again.
* Finishing articles flips their rows to `done` only if they are not done yet, and in the same
  transaction bumps their jobs' counters and appends the result lines with the next `pos`es. The
  job row's lock orders those transactions, so `pos` values commit as 1, 2, 3 … without gaps:
  a reader that has lines up to `pos` N resumes with `?after=N` and misses nothing. An article
  finished twice (a lease stolen from a slow worker) keeps its first line only.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Engine,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from extractor.articles import Article, LoadFailure
from extractor.errors import InputError
from extractor.records import ArticleResult, Usage
from extractor.service.db import ApiKey, Job, JobArticle, JobResult, is_postgres
from extractor.wire import TERMINAL

KEY_PREFIX = "gne_"
_USAGE = tuple(Usage.model_fields)


# the queue's statements, built once: building them cost more than running them
_FLIP = (
    update(JobArticle)
    .where(JobArticle.id.in_(bindparam("ids", expanding=True)), JobArticle.state != "done")
    .values(state="done", worker=None, lease_until=None)
    .returning(JobArticle.id)
)
# the first articles of jobs still to run, with their job's status; `claim` adds the state
_CLAIMABLE = (
    select(JobArticle.id, Job.status)
    .join(Job, Job.id == JobArticle.job_id)
    .where(Job.status.in_(("queued", "running")))
    .order_by(JobArticle.id)
    .limit(bindparam("limit"))
)
_LEASE = (
    update(JobArticle)
    .where(JobArticle.id.in_(bindparam("ids", expanding=True)))
    .values(state="running", worker=bindparam("w"), lease_until=bindparam("until"))
    .returning(JobArticle.id, JobArticle.job_id, JobArticle.seq, JobArticle.payload)
)
_BUMP = (
    update(Job)
    .where(Job.id == bindparam("job"))
    .values(
        done=Job.done + bindparam("n_done"),
        failed=Job.failed + bindparam("n_failed"),
        **{f: getattr(Job, f) + bindparam(f"n_{f}") for f in _USAGE},
    )
    .returning(Job.done, Job.failed, Job.total, Job.status)
)


def hash_key(key: str) -> str:
    """Keys are 256 random bits, so a plain SHA-256 is enough (no dictionary to guess from)."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class KeyInfo:
    id: int
    name: str
    prefix: str
    rpm: int | None
    webhook_secret: str
    created_at: float
    revoked_at: float | None


@dataclass(frozen=True)
class NewKey:
    info: KeyInfo
    key: str


@dataclass(frozen=True)
class Claimed:
    """An article leased to this worker."""

    row_id: int
    job_id: str
    seq: int
    item: Article | LoadFailure


@dataclass(frozen=True)
class Finished:
    """What finishing one article changed: the job's new status if it just ended."""

    recorded: bool
    job_status: str | None = None


def _key_info(row: Any) -> KeyInfo:
    return KeyInfo(
        row.id, row.name, row.prefix, row.rpm, row.webhook_secret, row.created_at, row.revoked_at
    )


def encode_item(item: Article | LoadFailure) -> str:
    if isinstance(item, LoadFailure):
        return json.dumps({"id": item.id, "source": item.source, "error": str(item.error)})
    return json.dumps(
        {
            "id": item.id,
            "text": item.text,
            "title": item.title,
            "date": item.date,
            "language": item.language,
            "source": item.source,
        },
        ensure_ascii=False,
    )


def decode_item(payload: str) -> Article | LoadFailure:
    data = json.loads(payload)
    if "error" in data:
        return LoadFailure(data["id"], data["source"], InputError(data["error"]))
    return Article(**data)


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = is_postgres(engine)
        # two queries, each walking the (state, id) index in order and stopping at the limit:
        # one query with an OR had SQLite gather and sort every queued article at every claim,
        # which grew with the square of a job's size
        self._queued, self._expired = (
            _CLAIMABLE.where(*where).with_for_update(of=JobArticle, skip_locked=True)
            if self.postgres
            else _CLAIMABLE.where(*where)
            for where in (
                (JobArticle.state == "queued",),
                (JobArticle.state == "running", JobArticle.lease_until < bindparam("now")),
            )
        )

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    # --- keys --------------------------------------------------------------------------------

    def create_key(self, name: str, rpm: int | None = None) -> NewKey:
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        values = {
            "name": name,
            "prefix": key[:10],
            "key_hash": hash_key(key),
            "rpm": rpm,
            "webhook_secret": "whsec_" + secrets.token_urlsafe(32),
            "created_at": time.time(),
            "revoked_at": None,
        }
        with self.engine.begin() as conn:
            key_id = conn.execute(insert(ApiKey).values(values).returning(ApiKey.id)).scalar_one()
        return NewKey(KeyInfo(id=key_id, **{k: values[k] for k in _KEY_FIELDS}), key)

    def find_key(self, key: str) -> KeyInfo | None:
        """The live key with this secret, or None (unknown or revoked)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
            ).first()
        return _key_info(row) if row else None

    def list_keys(self) -> list[KeyInfo]:
        with self.engine.connect() as conn:
            return [_key_info(r) for r in conn.execute(select(ApiKey).order_by(ApiKey.id))]

    def revoke_key(self, name_or_prefix: str) -> list[KeyInfo]:
        """Revoke the live keys with this name or key prefix; returns those revoked."""
        match = or_(ApiKey.name == name_or_prefix, ApiKey.prefix == name_or_prefix[:10])
        if len(name_or_prefix) < 10:
            match = ApiKey.name == name_or_prefix
        with self.engine.begin() as conn:
            rows = conn.execute(
                update(ApiKey)
                .where(match, ApiKey.revoked_at.is_(None))
                .values(revoked_at=time.time())
                .returning(*ApiKey.__table__.c)
            ).all()
        return [_key_info(r) for r in rows]

    def local_key(self) -> KeyInfo:
        """The key requests run as under `--no-auth` (created once, never given out)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(ApiKey).where(ApiKey.name == "(no-auth)", ApiKey.revoked_at.is_(None))
            ).first()
        return _key_info(row) if row else self.create_key("(no-auth)").info

    # --- jobs --------------------------------------------------------------------------------

    def create_job(
        self,
        key_id: int,
        items: list[Article | LoadFailure],
        *,
        idempotency_key: str | None = None,
        webhook: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Store a job and its articles; returns (job, created). With an idempotency key that
        this key already used, returns that job instead (created False)."""
        if idempotency_key and (job := self._job_by_idempotency(key_id, idempotency_key)):
            return job, False
        job_id = uuid.uuid4().hex
        now = time.time()
        values: dict[str, Any] = {
            "id": job_id,
            "key_id": key_id,
            "status": "queued",
            "total": len(items),
            "done": 0,
            "failed": 0,
            "idempotency_key": idempotency_key,
            "webhook": webhook,
            "webhook_status": "pending" if webhook else None,
            "webhook_attempts": 0,
            "created_at": now,
            **{f: 0 for f in _USAGE},
        }
        rows = [
            {
                "job_id": job_id,
                "seq": seq,
                "article_id": item.id,
                "payload": encode_item(item),
                "state": "queued",
            }
            for seq, item in enumerate(items)
        ]
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(Job).values(values))
                conn.execute(insert(JobArticle), rows)
        except IntegrityError:
            if idempotency_key and (job := self._job_by_idempotency(key_id, idempotency_key)):
                return job, False  # a concurrent retry of the same submit won
            raise
        job = self.get_job(key_id, job_id)
        assert job is not None
        return job, True

    def _job_by_idempotency(self, key_id: int, idempotency_key: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(Job).where(Job.key_id == key_id, Job.idempotency_key == idempotency_key)
            ).first()
        return _job_dict(row) if row else None

    def get_job(self, key_id: int | None, job_id: str) -> dict[str, Any] | None:
        """The job, if it exists and belongs to `key_id` (None: any key, for the worker)."""
        query = select(Job).where(Job.id == job_id)
        if key_id is not None:
            query = query.where(Job.key_id == key_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _job_dict(row) if row else None

    def list_jobs(
        self, key_id: int, *, limit: int, before: int | None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of the key's jobs, newest first, and the cursor of the next page."""
        query = select(Job).where(Job.key_id == key_id)
        if before is not None:
            query = query.where(Job.number < before)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(Job.number.desc()).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return [_job_dict(r) for r in rows], (rows[-1].number if more else None)

    def cancel_job(self, key_id: int, job_id: str) -> dict[str, Any] | None:
        with self.engine.begin() as conn:
            cancelled = conn.execute(
                update(Job)
                .where(
                    Job.id == job_id, Job.key_id == key_id, Job.status.in_(("queued", "running"))
                )
                .values(status="cancelled", finished_at=time.time(), webhook_next_at=time.time())
            ).rowcount
            if cancelled:  # its queued articles leave the queue: claims would walk past them
                conn.execute(
                    update(JobArticle)
                    .where(JobArticle.job_id == job_id, JobArticle.state == "queued")
                    .values(state="cancelled")
                )
        return self.get_job(key_id, job_id)

    def results(self, job_id: str, after: int, limit: int = 500) -> list[tuple[int, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(JobResult.pos, JobResult.line)
                .where(JobResult.job_id == job_id, JobResult.pos > after)
                .order_by(JobResult.pos)
                .limit(limit)
            ).all()
        return [(r.pos, r.line) for r in rows]

    def job_articles(
        self, job_id: str, *, offset: int = 0, limit: int = 50
    ) -> list[tuple[int, Article | LoadFailure, str | None]]:
        """A job's articles in input order from `offset`, with their result lines if done."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(JobArticle.seq, JobArticle.payload, JobResult.line)
                .outerjoin(
                    JobResult,
                    and_(JobResult.job_id == JobArticle.job_id, JobResult.seq == JobArticle.seq),
                )
                .where(JobArticle.job_id == job_id)
                .order_by(JobArticle.seq)
                .offset(offset)
                .limit(limit)
            ).all()
        return [(r.seq, decode_item(r.payload), r.line) for r in rows]

    def job_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(Job.status, func.count()).group_by(Job.status)).all()
        return {status: count for status, count in rows}

    # --- the queue ---------------------------------------------------------------------------

    def claim(self, worker: str, limit: int, lease_s: float) -> list[Claimed]:
        now = time.time()
        with self.engine.begin() as conn:
            # queued articles and expired leases, the first `limit` by id (no id is in both)
            first: list[Any] = [
                *conn.execute(self._queued, {"limit": limit}),
                *conn.execute(self._expired, {"limit": limit, "now": now}),
            ]
            first = sorted(first)[:limit]  # (id, job status)
            if not first:
                return []
            rows = sorted(
                conn.execute(
                    _LEASE,
                    {"ids": [id_ for id_, _ in first], "w": worker, "until": now + lease_s},
                ).all()
            )
            if any(status == "queued" for _, status in first):
                conn.execute(
                    update(Job)
                    .where(Job.id.in_({r.job_id for r in rows}), Job.status == "queued")
                    .values(status="running", started_at=now)
                )
        return [Claimed(r.id, r.job_id, r.seq, decode_item(r.payload)) for r in rows]

    def heartbeat(self, worker: str, lease_s: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(JobArticle)
                .where(JobArticle.worker == worker, JobArticle.state == "running")
                .values(lease_until=time.time() + lease_s)
            )

    def requeue(self, worker: str | None = None, row_ids: list[int] | None = None) -> int:
        """Give running articles back to the queue: this worker's, these rows, or (both None,
        SQLite's single server starting up) every running one."""
        query = update(JobArticle).where(JobArticle.state == "running")
        if worker is not None:
            query = query.where(JobArticle.worker == worker)
        if row_ids is not None:
            query = query.where(JobArticle.id.in_(row_ids))
        with self.engine.begin() as conn:
            return conn.execute(
                query.values(state="queued", worker=None, lease_until=None)
            ).rowcount

    def finish(self, done: list[tuple[Claimed, ArticleResult]]) -> list[Finished]:
        """Record finished articles' result lines, one transaction for all of them (see the
        module docstring): one commit and a few statements a batch, not three an article."""
        now = time.time()
        lines = [result.model_dump_json() for _, result in done]  # before the job rows lock
        with self.engine.begin() as conn:
            flipped = set(conn.scalars(_FLIP, {"ids": sorted({c.row_id for c, _ in done})}))
            fresh: dict[str, list[int]] = {}  # job id -> indexes into `done`, first line only
            for i, (claimed, _) in enumerate(done):
                if claimed.row_id in flipped:
                    flipped.discard(claimed.row_id)
                    fresh.setdefault(claimed.job_id, []).append(i)
            ended: dict[int, str] = {}  # index of a job's last line -> the job's new status
            for job_id, indexes in sorted(fresh.items()):  # one lock order for every replica
                results = [done[i][1] for i in indexes]
                job = conn.execute(
                    _BUMP,
                    {
                        "job": job_id,
                        "n_done": len(indexes),
                        "n_failed": sum(r.error is not None for r in results),
                        **{f"n_{f}": sum(getattr(r.usage, f) for r in results) for f in _USAGE},
                    },
                ).one()
                first = job.done - len(indexes) + 1
                conn.execute(
                    insert(JobResult),
                    [
                        {"job_id": job_id, "pos": pos, "seq": done[i][0].seq, "line": lines[i]}
                        for pos, i in enumerate(indexes, start=first)
                    ],
                )
                if job.done >= job.total and job.status in ("queued", "running"):
                    status = "failed" if job.failed >= job.total else "succeeded"
                    conn.execute(
                        update(Job)
                        .where(Job.id == job_id)
                        .values(status=status, finished_at=now, webhook_next_at=now)
                    )
                    ended[indexes[-1]] = status
        recorded = {i for indexes in fresh.values() for i in indexes}
        return [Finished(i in recorded, ended.get(i)) for i in range(len(done))]

    # --- webhooks ----------------------------------------------------------------------------

    def due_webhooks(self, limit: int = 10) -> list[tuple[dict[str, Any], str]]:
        """Ended jobs whose webhook is due, with their key's signing secret."""
        now = time.time()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Job, ApiKey.webhook_secret)
                .join(ApiKey, ApiKey.id == Job.key_id)
                .where(
                    Job.webhook_status == "pending",
                    Job.status.in_(TERMINAL),
                    Job.webhook_next_at <= now,
                )
                .order_by(Job.number)
                .limit(limit)
            ).all()
        return [(_job_dict(r), r.webhook_secret) for r in rows]

    def claim_webhook(self, job_id: str, lease_s: float) -> bool:
        """Take a due delivery for `lease_s` seconds; False if another replica took it."""
        now = time.time()
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    update(Job)
                    .where(
                        Job.id == job_id,
                        Job.webhook_status == "pending",
                        Job.webhook_next_at <= now,
                    )
                    .values(webhook_next_at=now + lease_s)
                ).rowcount
            )

    def webhook_attempted(
        self, job_id: str, attempt: int, *, status: str, error: str | None, next_in: float | None
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(
                    webhook_attempts=attempt,
                    webhook_status=status,
                    webhook_error=error,
                    webhook_next_at=None if next_in is None else time.time() + next_in,
                )
            )


_KEY_FIELDS = ("name", "prefix", "rpm", "webhook_secret", "created_at", "revoked_at")


def _job_dict(job: Any) -> dict[str, Any]:
    """A jobs row (read through a Connection: plain columns) as the API shows it."""
    return {
        "id": job.id,
        "number": job.number,
        "status": job.status,
        "total": job.total,
        "done": job.done,
        "failed": job.failed,
        "usage": {f: getattr(job, f) for f in _USAGE},
        "webhook": None
        if job.webhook is None
        else {
            "url": job.webhook,
            "status": job.webhook_status,
            "attempts": job.webhook_attempts,
            "last_error": job.webhook_error,
        },
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }
