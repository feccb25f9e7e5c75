"""Soak: 20,000 tickets, 10 requests a minute, a fault in about one request of five."""

from __future__ import annotations

import collections
import math

import pytest

from fake_zendesk import RETRIABLE_FAULTS, Account
from tests.helpers import run_in_process
from tests.reliability import Servers, export_requests, tap_config

TICKETS = 20_000
PAGE_SIZE = 100
FAULT_RATE = 0.2
FAULT_SEED = 20_240_601
RATE_LIMIT = 10
# Three seconds that each contain more tickets than a page, from bulk updates.
BULK_SECONDS = 3
BULK_SIZE = 250


@pytest.fixture
def servers(clock):
    pool = Servers(clock)
    yield pool
    pool.stop_all()


def soak_account(now: float) -> Account:
    account = Account.generate(count=TICKETS, seed=5, now=now)
    ids = account.ids()
    for number in range(BULK_SECONDS):
        chosen = ids[number * 5000 : number * 5000 + BULK_SIZE]
        account.bulk_update(chosen, at=int(now) - 3600 * (number + 1))
    return account


class FaultCounter:
    """Counter of the faults the server injects, by kind and status."""

    def __init__(self, server) -> None:
        self.taken: collections.Counter = collections.Counter()
        self._take = server.faults.take
        server.faults.take = self.take

    def take(self):
        fault = self._take()
        if fault is not None:
            self.taken[fault.kind, fault.status_code] += 1
        return fault

    def total(self) -> int:
        return sum(self.taken.values())


@pytest.mark.parametrize("same_second", ["grow", "stall"])
def test_soak_with_random_faults(servers, clock, same_second):
    account = soak_account(clock.time())
    clean_server = servers.start(account, same_second=same_second)
    clean = run_in_process(tap_config(clean_server, page_size=PAGE_SIZE))
    clean_requests = len(export_requests(clean_server))
    server = servers.start(
        account, same_second=same_second, rate_limit_per_minute=RATE_LIMIT
    )
    server.faults.random(FAULT_RATE, seed=FAULT_SEED, kinds=RETRIABLE_FAULTS)
    counter = FaultCounter(server)
    config = tap_config(
        server, page_size=PAGE_SIZE, max_retries=10, max_requests_per_minute=RATE_LIMIT
    )

    run = run_in_process(config)

    assert sorted(run.versions()) == account.versions()
    assert len(run.versions()) == TICKETS
    assert run.bookmarks() == clean.bookmarks()
    assert len(export_requests(server)) == clean_requests + counter.total()
    assert clean_requests >= math.ceil(TICKETS / PAGE_SIZE)
    assert counter.total() >= 0.15 * clean_requests
    kinds = {kind for kind, _ in counter.taken}
    assert kinds == {"status", "reset", "truncated"}
    statuses = {status for kind, status in counter.taken if kind == "status"}
    assert statuses == {429, 500, 502, 503, 504}
    # Every 429 was an injected fault: pacing kept within the server's limit.
    rate_limited = [r for r in export_requests(server) if r.status == 429]
    assert len(rate_limited) == counter.taken["status", 429]
