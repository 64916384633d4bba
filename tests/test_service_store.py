"""The job queue in the database: what a claim takes, that it stays cheap on a long queue, and
that results are recorded in batches with gap-free line numbers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import event

from extractor.articles import Article
from extractor.engine import Extractor, Options
from extractor.records import ArticleError, ArticleResult, Usage
from extractor.service.db import make_engine, upgrade
from extractor.service.store import Claimed, Finished, Store
from extractor.service.worker import JobWorker


def _store(folder: Path, steps: list[int] | None = None) -> Store:
    """A store on a new SQLite file; `steps` counts SQLite's VM steps (in tens)."""
    folder.mkdir()
    engine = make_engine(f"sqlite:///{folder / 'db.sqlite'}")
    if steps is not None:

        def count() -> int:
            steps[0] += 1
            return 0  # go on

        event.listen(engine, "connect", lambda conn, _: conn.set_progress_handler(count, 10))
    upgrade(engine)
    return Store(engine)


def _job(store: Store, n: int, prefix: str = "a") -> tuple[int, str]:
    """(key id, job id) of a new job of `n` articles."""
    key = store.create_key(f"k{prefix}").info
    items = [Article(id=f"{prefix}{i}", text="Berlin. 3 Soldaten.") for i in range(n)]
    job, _ = store.create_job(key.id, items)
    return key.id, job["id"]


def test_a_claim_takes_expired_leases_and_queued_articles_in_order(tmp_path: Path) -> None:
    store = _store(tmp_path / "db")
    _job(store, 10)
    first = store.claim("w1", 4, lease_s=-1.0)  # their leases run out at once
    assert [c.item.id for c in first] == ["a0", "a1", "a2", "a3"]
    again = store.claim("w2", 6, lease_s=30.0)
    assert [c.item.id for c in again] == [f"a{i}" for i in range(6)]
    assert [c.item.id for c in store.claim("w3", 10, lease_s=30.0)] == ["a6", "a7", "a8", "a9"]
    assert store.claim("w3", 10, lease_s=30.0) == []


def test_a_claim_costs_the_same_however_long_the_queue(tmp_path: Path) -> None:
    """It gathered and sorted every queued article: a job's claims grew with its size squared."""
    cost = {}
    for n in (100, 3000):
        steps = [0]
        store = _store(tmp_path / str(n), steps)
        _job(store, n)
        steps[0] = 0
        claimed = store.claim("w", 8, lease_s=30.0)
        cost[n] = steps[0]
        assert [c.item.id for c in claimed] == [f"a{i}" for i in range(8)]
    assert cost[3000] < 2 * cost[100], cost


def test_a_cancelled_job_leaves_the_queue(tmp_path: Path) -> None:
    """Its queued articles stayed queued, and every claim walked past them."""
    cost = {}
    for cancel in (0, 3000):
        steps = [0]
        store = _store(tmp_path / str(cancel), steps)
        if cancel:
            key_id, job_id = _job(store, cancel)
            assert store.cancel_job(key_id, job_id)["status"] == "cancelled"
        _job(store, 1, prefix="b")
        steps[0] = 0
        assert [c.item.id for c in store.claim("w", 8, lease_s=30.0)] == ["b0"]
        cost[cancel] = steps[0]
    assert cost[3000] < 2 * cost[0] + 5, cost


def _result(claimed: Claimed, error: bool = False) -> ArticleResult:
    return ArticleResult(
        article_id=claimed.item.id,
        model="baseline",
        usage=Usage(requests=1, prompt_tokens=10),
        error=ArticleError(kind="model", message="no answer") if error else None,
    )


def test_a_batch_of_results_gets_consecutive_lines_and_an_article_keeps_its_first(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path / "db")
    key_id, job_id = _job(store, 5)
    claimed = store.claim("w", 5, lease_s=30.0)
    first = store.finish([(claimed[0], _result(claimed[0])), (claimed[1], _result(claimed[1]))])
    assert first == [Finished(True), Finished(True)]
    # a stolen lease's second result, the same article twice, and the job's last two
    again = [claimed[1], claimed[2], claimed[2], claimed[3], claimed[4]]
    outcome = store.finish([(c, _result(c, error=c is claimed[4])) for c in again])
    recorded, ended = Finished(True), Finished(True, "succeeded")
    assert outcome == [Finished(False), recorded, Finished(False), recorded, ended]
    lines = store.results(job_id, 0)
    assert [pos for pos, _ in lines] == [1, 2, 3, 4, 5]
    ids = [json.loads(line)["article_id"] for _, line in lines]
    assert ids == ["a0", "a1", "a2", "a3", "a4"]
    job = store.get_job(key_id, job_id)
    assert job is not None and (job["done"], job["failed"], job["status"]) == (5, 1, "succeeded")
    assert job["usage"]["requests"] == 5 and job["usage"]["prompt_tokens"] == 50


def test_the_worker_claims_and_records_in_batches(tmp_path: Path) -> None:
    """A claim and a finish each cost a transaction and several statements; one of each per
    article made the service's jobs cost twice what `extractor batch` does."""
    statements = [0]
    store = _store(tmp_path / "db")

    def count(*_: object) -> None:
        statements[0] += 1

    event.listen(store.engine, "before_cursor_execute", count)
    _, job_id = _job(store, 64)

    async def run() -> None:
        ended = asyncio.Event()
        async with Extractor(Options(model="baseline", use_cache=False)) as extractor:
            worker = JobWorker(store, extractor, concurrency=8, on_job_end=lambda *_: ended.set())
            statements[0] = 0
            worker.start()
            await asyncio.wait_for(ended.wait(), 60)
            await worker.stop(1)

    asyncio.run(run())
    lines = store.results(job_id, 0)
    assert sorted(json.loads(line)["article_id"] for _, line in lines) == sorted(
        f"a{i}" for i in range(64)
    )
    # 52 here; with one article a claim and a finish, 6 an article; before batching, 8
    assert statements[0] < 2 * 64, statements[0]


class _BlinkingStore(Store):
    """A store whose first write of results fails, as when the database blinks."""

    blinked = False

    def finish(self, done: list[tuple[Claimed, ArticleResult]]) -> list[Finished]:
        if not self.blinked:
            self.blinked = True
            raise OSError("database unreachable")
        return super().finish(done)


def test_articles_whose_results_could_not_be_written_run_again_at_once(tmp_path: Path) -> None:
    """They waited for their lease to run out (30 s), renewed all the while by the heartbeat."""
    store = _store(tmp_path / "db")
    blinking = _BlinkingStore(store.engine)
    _, job_id = _job(store, 16)

    async def run() -> None:
        ended = asyncio.Event()
        async with Extractor(Options(model="baseline", use_cache=False)) as extractor:
            worker = JobWorker(
                blinking, extractor, concurrency=4, lease_s=30.0, on_job_end=lambda *_: ended.set()
            )
            worker.start()
            await asyncio.wait_for(ended.wait(), 15)
            await worker.stop(1)

    asyncio.run(run())
    assert blinking.blinked
    ids = [json.loads(line)["article_id"] for _, line in store.results(job_id, 0)]
    assert sorted(ids) == sorted(f"a{i}" for i in range(16))
