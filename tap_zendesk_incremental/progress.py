"""One INFO line per export page, so a long run shows where it is."""

from __future__ import annotations

import datetime
import typing as t

if t.TYPE_CHECKING:
    import logging

    from tap_zendesk_incremental.pacing import RequestPacer


class ExportProgress:
    """Tracks how far the export is through its time range.

    The range runs from the first ``start_time`` to ``end_date``, or to one minute
    before the run started. The estimate of the time left assumes the pace of the
    pages so far, waits for the rate limit included, holds for the rest.
    """

    def __init__(
        self,
        logger: logging.Logger,
        range_start: int,
        range_end: int,
        pacer: RequestPacer,
    ) -> None:
        """Start measuring at the current time of the pacer's clock."""
        self.logger = logger
        self.range_start = range_start
        self.range_end = max(range_end, range_start + 1)
        self.pacer = pacer
        self.started_at = pacer.clock.time()
        self.tickets = 0
        self.pages = 0

    def fraction(self, position: int) -> float:
        """Return the share of the time range covered up to ``position``."""
        covered = (position - self.range_start) / (self.range_end - self.range_start)
        return min(max(covered, 0.0), 1.0)

    def seconds_left(self, fraction: float) -> float | None:
        """Estimate the seconds left at the pace so far; None before any progress."""
        if fraction <= 0:
            return None
        elapsed = self.pacer.clock.time() - self.started_at
        return elapsed * (1 - fraction) / fraction

    def page_started(self, tickets: list[dict]) -> None:
        """Move the range's start to the first ticket when the export starts earlier.

        Without ``start_date`` the export starts at epoch 0, decades before the
        account's first ticket, which would make every fraction look near 100%.
        """
        if self.pages == 0 and tickets:
            first = tickets[0]["generated_timestamp"]
            if self.range_start < first < self.range_end:
                self.range_start = first

    def page_done(self, position: int) -> None:
        """Count a page and log the progress line with the tickets emitted so far."""
        self.pages += 1
        fraction = self.fraction(position)
        left = self.seconds_left(fraction)
        moment = datetime.datetime.fromtimestamp(position, tz=datetime.UTC)
        self.logger.info(
            "Page %d: %d tickets so far, export at %s (%.1f%% of the range), "
            "about %s left",
            self.pages,
            self.tickets,
            moment.strftime("%Y-%m-%d %H:%M:%S UTC"),
            fraction * 100,
            "unknown" if left is None else f"{left:.0f} s",
        )
