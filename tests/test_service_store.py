"""The job queue in the database: what a claim takes, and that it stays cheap on a long queue."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event

from extractor.articles import Article
from extractor.service.db import make_engine, upgrade
from extractor.service.store import Store


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
