"""Request pacing: Zendesk's per-minute export limit and every wait before a retry.

All waits of the tap go through one :class:`RequestPacer`, so each one is logged
as a single WARNING line with its length in seconds, and tests can run the tap on
a virtual clock.
"""

from __future__ import annotations

import collections
import time
import typing as t

from tap_zendesk_incremental.errors import RunStoppedError

if t.TYPE_CHECKING:
    import logging

WINDOW_SECONDS = 60.0
# Waits end this much after the window frees, so that a request never lands on
# the exact second the server still counts as full.
SAFETY_MARGIN_SECONDS = 0.25


class Clock(t.Protocol):
    """Source of epoch time and of sleeping, replaceable in tests."""

    def time(self) -> float:
        """Return the current epoch time in seconds."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""
        ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        """Return ``time.time()``."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Call ``time.sleep``."""
        time.sleep(seconds)


#: The clock every stream uses; tests replace it with a virtual one.
CLOCK: Clock = SystemClock()


class RequestPacer:
    """Spaces requests to stay within a per-minute limit and delays retries.

    The pacer keeps the send times of the requests in the last minute. Before a
    request it waits until the oldest of them leaves the window when the window
    is full, when Zendesk reported no requests remaining, or until a retry wait
    set by :meth:`defer` has passed.
    """

    def __init__(
        self,
        max_requests_per_minute: int,
        logger: logging.Logger,
        clock: Clock | None = None,
    ) -> None:
        """Create a pacer for ``max_requests_per_minute`` requests per minute."""
        self.limit = max_requests_per_minute
        self.logger = logger
        self.clock = clock or CLOCK
        self.sent: collections.deque[float] = collections.deque()
        self.not_before = 0.0
        self.not_before_reason = ""
        self.remaining: int | None = None
        self.total_wait = 0.0
        self.stop_signal: int | None = None
        self.sleeping = False

    def defer(self, seconds: float, reason: str) -> None:
        """Hold the next request for ``seconds`` from now, for ``reason``.

        The next :meth:`wait_turn` logs ``reason`` even when the wait is zero, so
        every retry leaves one WARNING line.
        """
        until = self.clock.time() + max(seconds, 0.0)
        if until >= self.not_before:
            self.not_before = until
            self.not_before_reason = reason

    def request_stop(self, signum: int) -> None:
        """Stop the run at the next point where its output is whole.

        Called from a signal handler. A wait before a request is such a point, so
        a pacer that is sleeping stops at once.

        Raises:
            RunStoppedError: If the pacer is sleeping.
        """
        self.stop_signal = signum
        if self.sleeping:
            raise RunStoppedError(signum)

    def check_stop(self) -> None:
        """Raise if a stop was requested.

        Raises:
            RunStoppedError: If a SIGTERM or SIGINT arrived.
        """
        if self.stop_signal is not None:
            raise RunStoppedError(self.stop_signal)

    def observe(self, remaining_header: str | None) -> None:
        """Record Zendesk's ``X-Rate-Limit-Remaining`` header of a response."""
        try:
            self.remaining = int(remaining_header) if remaining_header else None
        except ValueError:
            self.remaining = None

    def wait_turn(self) -> float:
        """Wait until the next request may be sent, then count it as sent.

        Returns:
            The seconds waited.
        """
        self.check_stop()
        now = self.clock.time()
        while self.sent and self.sent[0] <= now - WINDOW_SECONDS:
            self.sent.popleft()

        until, reason = self._next_slot(now)
        waited = max(until - now, 0.0)
        if waited > 0:
            self.logger.warning(
                "Waiting %.1f s before the next request: %s", waited, reason
            )
            self.sleeping = True
            try:
                self.clock.sleep(waited)
            finally:
                self.sleeping = False
            self.total_wait += waited
        elif reason:
            self.logger.warning("Sending the next request at once: %s", reason)

        self.sent.append(self.clock.time())
        self.remaining = None
        return waited

    def _next_slot(self, now: float) -> tuple[float, str]:
        until, reason = self.not_before, self.not_before_reason
        window_full = len(self.sent) >= self.limit
        if window_full or self.remaining == 0:
            oldest = self.sent[0] if self.sent else now
            frees = oldest + WINDOW_SECONDS + SAFETY_MARGIN_SECONDS
            if frees > until:
                until = frees
                window_reason = (
                    f"rate limit of {self.limit} export requests per minute"
                    if window_full
                    else "Zendesk reported no export requests remaining this minute"
                )
                # Keep the failed try in the line when the window outlasts its wait.
                reason = f"{reason}, and {window_reason}" if reason else window_reason
        self.not_before = 0.0
        self.not_before_reason = ""
        return until, reason
