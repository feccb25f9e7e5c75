"""end_date windows and the per-page progress line, on the virtual clock."""

from __future__ import annotations

import datetime
import logging
import re

import requests

from fake_zendesk import VirtualClock
from tap_zendesk_incremental.pacing import (
    SAFETY_MARGIN_SECONDS,
    WINDOW_SECONDS,
    RequestPacer,
)
from tap_zendesk_incremental.progress import ExportProgress
from tests.helpers import API_TOKEN, EMAIL, run_in_process, state_with_bookmark
from tests.test_sideloads import in_scope

EXPORT_PATH = "/api/v2/incremental/tickets.json"
# At two requests per minute, every second request waits for a full window.
WAIT_SECONDS = WINDOW_SECONDS + SAFETY_MARGIN_SECONDS
PROGRESS_LINE = re.compile(
    r"Page (\d+): (\d+) tickets so far, export at (.+ UTC) "
    r"\(([\d.]+)% of the range\), about (.+) left"
)


def iso(epoch: int) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_text(epoch: int) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def exported_versions(account, config: dict) -> list[tuple[int, int]]:
    """Versions that the export returns under the config's support_type_scope."""
    return sorted(
        (ticket_id, stamp)
        for ticket_id, stamp in account.versions()
        if in_scope(account, config, ticket_id)
    )


def export_requests(server) -> list:
    return [r for r in server.requests if r.path.startswith("/api/v2/incremental/")]


def progress_lines(caplog) -> list[tuple[str, ...]]:
    return [
        match.groups()
        for record in caplog.records
        if (match := PROGRESS_LINE.fullmatch(record.getMessage()))
    ]


def replay_pages(server, config: dict, start_time: int) -> list[tuple[int, int]]:
    """Read the export directly and return each page's new ticket count and end_time.

    A ticket version counts once: the copies repeated at page boundaries do not.
    """
    session = requests.Session()
    session.auth = (f"{EMAIL}/token", API_TOKEN)
    pages = []
    seen = set()
    while True:
        params = {
            "start_time": start_time,
            "per_page": config["page_size"],
            "support_type_scope": config.get("support_type_scope", "agent"),
        }
        body = session.get(server.url + EXPORT_PATH, params=params, timeout=5).json()
        versions = {(t["id"], t["generated_timestamp"]) for t in body["tickets"]}
        pages.append((len(versions - seen), body["end_time"]))
        seen |= versions
        if body["end_of_stream"]:
            return pages
        start_time = body["end_time"]


# end_date


def test_end_date_stops_before_window_end(server, account, config):
    seconds = sorted({stamp for _, stamp in exported_versions(account, config)})
    end = seconds[len(seconds) // 2]
    config["end_date"] = iso(end)

    run = run_in_process(config)

    expected = [v for v in exported_versions(account, config) if v[1] < end]
    assert sorted(run.versions()) == expected
    assert run.bookmarks()[-1] == end


def test_end_date_windows_cover_export(server, account, config):
    seconds = sorted({stamp for _, stamp in exported_versions(account, config)})
    first_end, second_end = seconds[70], seconds[180]
    config["end_date"] = iso(first_end)
    first = run_in_process(config)
    config["end_date"] = iso(second_end)
    before = len(export_requests(server))

    second = run_in_process(config, state=first.last_state)

    assert export_requests(server)[before].query["start_time"] == str(first_end)
    delivered = set(first.versions()) | set(second.versions())
    assert delivered == {
        v for v in exported_versions(account, config) if v[1] < second_end
    }
    assert second.bookmarks()[-1] == second_end


def test_end_date_at_bookmark_sends_nothing(server, account, config):
    seconds = sorted({stamp for _, stamp in exported_versions(account, config)})
    bookmark = seconds[100]
    config["end_date"] = iso(seconds[50])

    run = run_in_process(config, state=state_with_bookmark(bookmark))

    assert run.records() == []
    assert export_requests(server) == []
    assert run.bookmarks()[-1] == bookmark


def test_future_end_date_exports_all(server, account, clock, config):
    config["end_date"] = iso(int(clock.time()) + 86_400)

    run = run_in_process(config)

    assert sorted(run.versions()) == exported_versions(account, config)
    assert run.bookmarks()[-1] == max(stamp for _, stamp in run.versions())


def test_end_date_moves_sideload_bookmarks(server, account, config):
    seconds = sorted({stamp for _, stamp in exported_versions(account, config)})
    end = seconds[120]
    config["end_date"] = iso(end)
    config["sideloads"] = ["users", "metric_sets"]

    run = run_in_process(config)

    final = run.last_state["bookmarks"]
    assert final["tickets"]["replication_key_value"] == end
    assert final["users"]["replication_key_value"] == end
    assert final["ticket_metrics"]["replication_key_value"] == end
    ticket_ids = {ticket_id for ticket_id, _ in run.versions()}
    metric_ticket_ids = {
        record["ticket_id"] for record in run.records("ticket_metrics")
    }
    assert ticket_ids <= metric_ticket_ids


# Progress line


class FakeLogger(logging.Logger):
    """A logger that keeps its records, for unit tests of ExportProgress."""

    def __init__(self) -> None:
        super().__init__("test.progress", logging.INFO)
        self.lines: list[str] = []

    def handle(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def make_progress(range_start: int, range_end: int):
    clock = VirtualClock(start=10_000.0)
    logger = FakeLogger()
    pacer = RequestPacer(10, logger, clock=clock)
    return ExportProgress(logger, range_start, range_end, pacer), clock, logger


def test_progress_line_figures():
    progress, clock, logger = make_progress(0, 1_000)

    clock.advance(30)
    progress.tickets += 10
    progress.page_done(250)
    clock.advance(30)
    progress.tickets += 5
    progress.page_done(600)

    assert len(logger.lines) == 2
    assert logger.lines[0] == (
        "Page 1: 10 tickets so far, export at 1970-01-01 00:04:10 UTC "
        "(25.0% of the range), about 90 s left"
    )
    assert logger.lines[1] == (
        "Page 2: 15 tickets so far, export at 1970-01-01 00:10:00 UTC "
        "(60.0% of the range), about 40 s left"
    )


def test_progress_unknown_before_any_advance():
    progress, clock, logger = make_progress(5_000, 6_000)

    clock.advance(12)
    progress.page_done(5_000)

    assert logger.lines == [
        (
            "Page 1: 0 tickets so far, export at 1970-01-01 01:23:20 UTC "
            "(0.0% of the range), about unknown left"
        )
    ]


def test_progress_range_starts_at_first_ticket():
    progress, _, _ = make_progress(0, 1_000)

    progress.page_started([{"id": 1, "generated_timestamp": 600}])

    assert progress.range_start == 600
    assert progress.fraction(800) == 0.5


def test_progress_fraction_clamped():
    progress, _, _ = make_progress(100, 200)

    assert progress.fraction(50) == 0.0
    assert progress.fraction(150) == 0.5
    assert progress.fraction(250) == 1.0


def test_progress_empty_range_has_one_second():
    progress, _, logger = make_progress(100, 100)

    progress.page_done(100)

    assert progress.range_end == 101
    assert "(0.0% of the range)" in logger.lines[0]


def test_progress_lines_during_run(server, account, config, clock, caplog):
    """Each page logs its figures, and the rate limit makes time pass on the clock."""
    caplog.set_level(logging.INFO)
    seconds = sorted({stamp for _, stamp in exported_versions(account, config)})
    start, end = seconds[10], seconds[-10]
    per_page = 30
    config.update(
        start_date=iso(start),
        end_date=iso(end),
        page_size=per_page,
        max_requests_per_minute=2,
    )
    started = clock.time()

    run_in_process(config)

    lines = progress_lines(caplog)
    pages = replay_pages(server, config, start)
    full_pages = []
    for count, page_end in pages:
        if page_end >= end:
            break
        full_pages.append((count, page_end))
    assert len(lines) == len(full_pages)
    assert len(lines) >= 4

    tickets = 0
    for number, (line, (count, page_end)) in enumerate(
        zip(lines, full_pages, strict=True), 1
    ):
        tickets += count
        fraction = (page_end - start) / (end - start)
        waited = WAIT_SECONDS * ((number - 1) // 2)
        left = waited * (1 - fraction) / fraction
        assert line[0] == str(number)
        assert line[1] == str(tickets)
        assert line[2] == utc_text(page_end)
        assert line[3] == f"{fraction * 100:.1f}"
        assert line[4] == f"{left:.0f} s"
    assert clock.time() - started >= WAIT_SECONDS * (len(lines) // 2)
