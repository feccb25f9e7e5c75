"""Fixtures: a fake Zendesk account and server on 127.0.0.1, on a virtual clock."""

from __future__ import annotations

import time

import pytest

from fake_zendesk import Account, FakeZendesk, VirtualClock
from tap_zendesk_incremental import pacing
from tests.helpers import API_TOKEN, EMAIL

ACCESS_TOKEN = "static-bearer-77c1d0e4"
CLIENT_ID = "tap-client"
CLIENT_SECRET = "client-secret-5b2e90aa"
TICKET_COUNT = 250


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> VirtualClock:
    """One virtual clock for the tap and the server: waits take no real time."""
    virtual = VirtualClock(start=float(int(time.time())))
    monkeypatch.setattr(pacing, "CLOCK", virtual)
    return virtual


@pytest.fixture
def account(clock: VirtualClock) -> Account:
    return Account.generate(count=TICKET_COUNT, seed=7, now=clock.time())


@pytest.fixture
def server(account: Account, clock: VirtualClock):
    fake = FakeZendesk(
        account,
        clock=clock,
        email=EMAIL,
        api_token=API_TOKEN,
        access_tokens={ACCESS_TOKEN},
        oauth_clients={CLIENT_ID: CLIENT_SECRET},
    )
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def config(server: FakeZendesk) -> dict:
    return {
        "api_url": server.url,
        "email": EMAIL,
        "api_token": API_TOKEN,
        "page_size": 50,
        "max_requests_per_minute": 1000,
        "max_retries": 4,
        "request_timeout": 5,
        "support_type_scope": "all",
    }
