"""Leases in the store, on SQLite and on the real PostgreSQL: what several workers sharing one
store use so that no source is polled by two at once and the outbox has one deliverer."""

from __future__ import annotations

import threading
from datetime import timedelta

from monitor.store import Store
from tests.conftest import Clock

TTL = timedelta(seconds=60)


def test_a_lease_is_one_workers_until_it_expires_or_is_released(store: Store, clock: Clock) -> None:
    names = ["source:a", "source:b", "duty:delivery"]
    assert store.claim(names, "w1", clock(), TTL) == sorted(names)
    assert store.claim(names, "w2", clock(), TTL) == []  # held
    clock.advance(seconds=30)
    assert store.claim(["source:a"], "w1", clock(), TTL) == ["source:a"]  # renewed to +90 s
    clock.advance(seconds=31)  # b and the duty expired, a was renewed
    assert store.claim(names, "w2", clock(), TTL) == ["duty:delivery", "source:b"]
    store.release(["source:a"], "w2")  # not w2's: nothing happens
    assert store.lease("source:a")[0] == "w1" == store.leases()["source:a"][0]
    assert store.lease("source:never-claimed") == (None, None)
    store.release(["source:a"], "w1")
    assert store.leases()["source:a"] == (None, None)
    assert store.claim(["source:a"], "w2", clock(), TTL) == ["source:a"]
    assert store.claim([], "w1", clock(), TTL) == []


def test_workers_claiming_at_once_never_share_a_lease(postgres_url: str, clock: Clock) -> None:
    """Six workers on PostgreSQL (SQLite has one writer at a time, and one daemon per file)."""
    names = [f"source:{n:03}" for n in range(100)]
    stores = [Store(postgres_url) for _ in range(6)]
    start = threading.Barrier(len(stores))
    got: dict[str, list[str]] = {}

    def work(index: int) -> None:
        start.wait()
        mine: list[str] = []
        for chunk in range(0, 100, 10):  # many small claims, interleaved with the others
            mine += stores[index].claim(names[chunk : chunk + 10], f"w{index}", clock(), TTL)
        got[f"w{index}"] = mine

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    claimed = [name for mine in got.values() for name in mine]
    assert sorted(claimed) == names  # every lease taken, each by exactly one worker
    owners = stores[0].leases()
    assert len(owners) == 100
    assert all(owners[name][0] == worker for worker, mine in got.items() for name in mine)
    for opened in stores:
        opened.close()
