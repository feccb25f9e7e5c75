"""The Singer SDK's standard tap tests, run against a fake Zendesk account."""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from fake_zendesk import Account, FakeZendesk, RealClock
from tap_zendesk_incremental.tap import TapZendeskIncremental
from tests.helpers import API_TOKEN, EMAIL, catalog_selecting

_clock = RealClock()
_server = FakeZendesk(
    Account.generate(count=120, seed=11, now=_clock.time()),
    clock=_clock,
    email=EMAIL,
    api_token=API_TOKEN,
)
_server.start()
atexit.register(_server.stop)

SAMPLE_CONFIG = {
    "api_url": _server.url,
    "email": EMAIL,
    "api_token": API_TOKEN,
    "page_size": 40,
    "max_requests_per_minute": 1000,
    "support_type_scope": "all",
}

ALL_STREAMS = (
    "tickets",
    "ticket_fields",
    "users",
    "groups",
    "organizations",
    "brands",
    "ticket_metrics",
)

TestTapZendeskIncremental = get_tap_test_class(
    tap_class=TapZendeskIncremental,
    config=SAMPLE_CONFIG,
    catalog=catalog_selecting(SAMPLE_CONFIG, *ALL_STREAMS),
    suite_config=SuiteConfig(max_records_limit=100),
)
