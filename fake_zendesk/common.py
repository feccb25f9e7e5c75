"""Helpers and id ranges shared by the data generators and the server."""

from __future__ import annotations

import random
import time
from datetime import datetime

DAY = 86_400

# Zendesk ids outgrew 32 bits long ago, so every generated id is above 2**31.
TICKET_ID_BASE = 35_000_000_000
USER_ID_BASE = 372_000_000_000
ORGANIZATION_ID_BASE = 360_000_000_000
GROUP_ID_BASE = 360_000_100_000
BRAND_ID_BASE = 360_000_200_000
TICKET_FIELD_ID_BASE = 360_000_300_000
FIELD_OPTION_ID_BASE = 360_000_400_000
TICKET_FORM_ID_BASE = 360_000_500_000
CUSTOM_STATUS_ID_BASE = 360_000_600_000
SATISFACTION_REASON_ID_BASE = 360_000_700_000
SHARING_AGREEMENT_ID_BASE = 360_000_800_000
SATISFACTION_RATING_ID_BASE = 361_000_000_000
METRIC_SET_ID_BASE = 362_000_000_000


def iso_time(epoch_seconds: float) -> str:
    """Format epoch seconds as Zendesk does: ISO 8601 in UTC with a `Z` suffix."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


def iso_date(epoch_seconds: float) -> str:
    """Format epoch seconds as a `YYYY-MM-DD` date, the value of date fields."""
    return time.strftime("%Y-%m-%d", time.gmtime(epoch_seconds))


def parse_iso_time(value: str) -> int:
    """Parse an ISO 8601 timestamp such as `2026-01-01T00:00:00Z` to epoch seconds."""
    return int(datetime.fromisoformat(value).timestamp())


def mix(*numbers: int) -> int:
    """Hash integers to a well-spread 64-bit integer, the same in every process.

    Metric sets and other derived values use it instead of `random.Random` so they
    can be computed on demand, cheaply, from a ticket id.
    """
    state = 0x9E3779B97F4A7C15
    for number in numbers:
        state = (state ^ (number & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9
        state &= 0xFFFFFFFFFFFFFFFF
        state ^= state >> 31
    return state


def seeded_random(seed: int | str) -> random.Random:
    """Return a generator whose output depends only on `seed`.

    The fake data must be reproducible, not unpredictable, so `random` fits.
    """
    return random.Random(seed)  # noqa: S311 - reproducible test data, not secrets


def chance(rng: random.Random, probability: float) -> bool:
    """Return True with the given probability."""
    return rng.random() < probability
