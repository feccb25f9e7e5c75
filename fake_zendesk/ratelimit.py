"""The per-minute request limit of Zendesk's incremental export endpoints."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fake_zendesk.clock import Clock

WINDOW_SECONDS = 60.0
# Reported in `X-Rate-Limit` when no export limit is configured: the account-wide
# limit of Zendesk's Professional plan, shown as fully available.
NOMINAL_LIMIT = 700


@dataclass(frozen=True)
class RateDecision:
    """The outcome of one request: allowed or not, and what the headers report."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int = 0


class RateLimiter:
    """Allow at most `limit` requests per rolling 60 seconds of clock time.

    Rejected requests do not count. With `limit` None every request is allowed.
    Thread-safe.
    """

    def __init__(self, limit: int | None, clock: Clock) -> None:
        """Create a limiter.

        Args:
            limit: Requests allowed per 60 seconds, or None for no limit.
            clock: Clock that measures the window.

        Raises:
            ValueError: If `limit` is less than 1.
        """
        if limit is not None and limit < 1:
            message = f"rate limit must be at least 1 request per minute, got {limit}"
            raise ValueError(message)
        self._limit = limit
        self._clock = clock
        self._served: deque[float] = deque()
        self._lock = threading.Lock()

    def peek(self) -> RateDecision:
        """Report the window without counting a request."""
        if self._limit is None:
            return RateDecision(
                allowed=True, limit=NOMINAL_LIMIT, remaining=NOMINAL_LIMIT
            )
        with self._lock:
            self._expire(self._clock.time())
            remaining = self._limit - len(self._served)
        return RateDecision(
            allowed=remaining > 0, limit=self._limit, remaining=remaining
        )

    def _expire(self, now: float) -> None:
        while self._served and self._served[0] <= now - WINDOW_SECONDS:
            self._served.popleft()

    def acquire(self) -> RateDecision:
        """Count one request if the window has room, and report the window."""
        if self._limit is None:
            return RateDecision(
                allowed=True, limit=NOMINAL_LIMIT, remaining=NOMINAL_LIMIT
            )
        with self._lock:
            now = self._clock.time()
            self._expire(now)
            if len(self._served) >= self._limit:
                wait = self._served[0] + WINDOW_SECONDS - now
                retry_after = max(1, math.ceil(wait))
                return RateDecision(
                    allowed=False,
                    limit=self._limit,
                    remaining=0,
                    retry_after=retry_after,
                )
            self._served.append(now)
            remaining = self._limit - len(self._served)
            return RateDecision(allowed=True, limit=self._limit, remaining=remaining)
