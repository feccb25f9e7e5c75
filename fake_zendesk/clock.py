"""Clocks that drive the fake server's notion of now.

The server reads time only through a clock, so tests can move time forward instantly
with `VirtualClock` while demos and soak tests use `RealClock`.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """A source of epoch seconds that can also wait."""

    def time(self) -> float:
        """Return the current time in epoch seconds."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait for `seconds` of this clock's time."""
        ...


class RealClock:
    """The system clock: `time.time` and `time.sleep`."""

    def time(self) -> float:
        """Return the system time in epoch seconds."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for `seconds` real seconds."""
        time.sleep(seconds)


class VirtualClock:
    """A thread-safe clock that moves only when `advance` or `sleep` is called.

    `sleep` advances the clock instantly instead of blocking, so code under test that
    waits for a rate-limit window finishes at once.
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        """Create a clock that reads `start` epoch seconds until advanced.

        Args:
            start: Initial time in epoch seconds (default 2026-01-01T00:00:00Z).
        """
        self._now = float(start)
        self._lock = threading.Lock()

    def time(self) -> float:
        """Return the clock's current time in epoch seconds."""
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        """Advance the clock by `seconds` without blocking.

        Raises:
            ValueError: If `seconds` is negative.
        """
        self.advance(seconds)

    def advance(self, seconds: float) -> float:
        """Move the clock forward by `seconds` and return the new time.

        Raises:
            ValueError: If `seconds` is negative, because time never runs backwards.
        """
        if seconds < 0:
            message = f"cannot move a clock backwards by {seconds} seconds"
            raise ValueError(message)
        with self._lock:
            self._now += seconds
            return self._now
