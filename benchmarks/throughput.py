"""Throughput mode: the tap and the plain loop as subprocesses against one server.

The fake Zendesk server runs in a thread of the benchmark process, on 127.0.0.1,
without a rate limit. Each measured program runs in its own process, started through
``launch.py`` so that its CPU time and peak memory are its own.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from fake_zendesk import Account, FakeZendesk

BENCHMARKS = Path(__file__).resolve().parent
EMAIL = "bench@example.com"
API_TOKEN = "bench-token-3f8a"  # noqa: S105
EXPORT_PREFIX = "/api/v2/incremental/"
TICKET_RECORD_START = b'{"type":"RECORD","stream":"tickets"'
# The SDK's record counter metric of the tickets stream, logged at the stream's end.
TAP_RECORDS = re.compile(
    rb'"metric":\s*"record_count",\s*"value":\s*(\d+),\s*"tags":\s*\{\s*'
    rb'"stream":\s*"tickets"'
)
PLAIN_RECORDS = re.compile(rb"records=(\d+) requests=\d+")
READ_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class ProgramRun:
    """Measurements of one run of a measured program.

    Attributes:
        wall_seconds: Wall time from the start of the process to its end.
        cpu_seconds: User plus system CPU time of the process.
        max_rss_mib: Peak resident memory of the process in MiB.
        requests: Export requests the server received during the run.
        records: RECORD messages written.
        startup_seconds: Time from the start of the process to the arrival of its
            first export request at the server.
    """

    wall_seconds: float
    cpu_seconds: float
    max_rss_mib: float
    requests: int
    records: int
    startup_seconds: float


@dataclass(frozen=True)
class ThroughputResult:
    """Median figures of the tap and the plain loop on one account."""

    tickets: int
    page_size: int
    average_ticket_bytes: float
    tap: ProgramRun
    plain: ProgramRun
    first_record_seconds: float
    small_tickets: int
    small_tap: ProgramRun


class BenchServer:
    """A generated account served by the fake Zendesk server on 127.0.0.1.

    It notes the arrival time (``time.monotonic``) of every export request, which
    is comparable with the launcher's start time because both read the same
    system-wide clock.
    """

    def __init__(self, tickets: int, page_size: int, workdir: Path) -> None:
        """Generate the account; entering the context starts serving it."""
        self.tickets = tickets
        self.page_size = page_size
        self.workdir = workdir
        self.account = Account.generate(count=tickets, seed=7)
        self.server = FakeZendesk(self.account, email=EMAIL, api_token=API_TOKEN)
        self.arrivals: list[float] = []
        self.server.on_request(self._note_arrival)
        self.config_path = workdir / f"config-{tickets}.json"

    def _note_arrival(self, _server: FakeZendesk, _number: int) -> None:
        self.arrivals.append(time.monotonic())

    def __enter__(self) -> Self:
        """Start serving and write the settings file both programs read."""
        url = self.server.start()
        config = {
            "api_url": url,
            "email": EMAIL,
            "api_token": API_TOKEN,
            "start_date": "2000-01-01T00:00:00Z",
            "page_size": self.page_size,
            "support_type_scope": "all",
            "max_requests_per_minute": 2500,
        }
        self.config_path.write_text(json.dumps(config), encoding="utf-8")
        return self

    def __exit__(self, *_exc_info: object) -> None:
        """Stop serving."""
        self.server.stop()

    def export_request_count(self) -> int:
        """Count the export requests received so far."""
        return sum(
            request.path.startswith(EXPORT_PREFIX) for request in self.server.requests
        )

    def average_ticket_bytes(self) -> float:
        """Return the mean size of a ticket's JSON as the server sends it."""
        with self.account.lock:
            sizes = [len(entry.blob) for entry in self.account.scan((0, 0))]
        return sum(sizes) / len(sizes)


def tap_command(bench: BenchServer) -> list[str]:
    """Return the command line of the tap against ``bench``."""
    config = str(bench.config_path)
    return [sys.executable, "-m", "tap_zendesk_incremental", "--config", config]


def plain_command(bench: BenchServer) -> list[str]:
    """Return the command line of the plain loop against ``bench``."""
    return [sys.executable, str(BENCHMARKS / "plain_loop.py"), str(bench.config_path)]


def start_launcher(
    command: list[str], workdir: Path, stdout: int
) -> tuple[subprocess.Popen, Path, Path]:
    """Start ``command`` through ``launch.py``.

    Returns:
        The launcher process, the path of its report and the path of the log.
    """
    report_path = workdir / "launch.json"
    log_path = workdir / "stderr.log"
    launcher = [sys.executable, str(BENCHMARKS / "launch.py"), str(report_path)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603
            [*launcher, *command], stdout=stdout, stderr=log
        )
    return process, report_path, log_path


def finish_launcher(
    process: subprocess.Popen, report_path: Path, log_path: Path
) -> tuple[dict, bytes]:
    """Wait for the launcher and return its report and the program's stderr.

    Raises:
        RuntimeError: If the program failed, with the end of its stderr.
    """
    process.wait()
    log = log_path.read_bytes()
    if process.returncode != 0:
        tail = log[-3000:].decode("utf-8", "replace")
        msg = f"benchmark program failed with exit status {process.returncode}:\n{tail}"
        raise RuntimeError(msg)
    return json.loads(report_path.read_text(encoding="utf-8")), log


def measure(
    bench: BenchServer, command: list[str], records_pattern: re.Pattern[bytes]
) -> ProgramRun:
    """Run one program with stdout to /dev/null and measure it.

    ``records_pattern`` finds the count of RECORD messages in the program's stderr.

    Raises:
        RuntimeError: If the program failed or logged no count of records.
    """
    requests_before = bench.export_request_count()
    arrivals_before = len(bench.arrivals)
    process, report_path, log_path = start_launcher(
        command, bench.workdir, subprocess.DEVNULL
    )
    report, log = finish_launcher(process, report_path, log_path)
    counts = records_pattern.findall(log)
    if not counts:
        msg = f"no count of records in the stderr of {' '.join(command)}"
        raise RuntimeError(msg)
    return ProgramRun(
        wall_seconds=report["wall_seconds"],
        cpu_seconds=report["user_seconds"] + report["system_seconds"],
        max_rss_mib=report["max_rss_kib"] / 1024,
        requests=bench.export_request_count() - requests_before,
        records=int(counts[-1]),
        startup_seconds=bench.arrivals[arrivals_before] - report["started_monotonic"],
    )


def measure_first_record(bench: BenchServer) -> float:
    """Return the seconds from the tap's first export request to its first RECORD.

    The tap's stdout is a pipe in this run. The benchmark notes when the first line
    with a RECORD message arrives, then reads the rest of the output to the end.
    """
    arrivals_before = len(bench.arrivals)
    process, report_path, log_path = start_launcher(
        tap_command(bench), bench.workdir, subprocess.PIPE
    )
    first_record = None
    for line in process.stdout:
        if line.startswith(TICKET_RECORD_START):
            first_record = time.monotonic()
            break
    while process.stdout.read(READ_CHUNK_BYTES):
        pass
    finish_launcher(process, report_path, log_path)
    if first_record is None:
        msg = "the tap wrote no RECORD message"
        raise RuntimeError(msg)
    return first_record - bench.arrivals[arrivals_before]


def median_run(runs: list[ProgramRun]) -> ProgramRun:
    """Return the median of each figure over ``runs``."""
    return ProgramRun(
        wall_seconds=statistics.median(run.wall_seconds for run in runs),
        cpu_seconds=statistics.median(run.cpu_seconds for run in runs),
        max_rss_mib=statistics.median(run.max_rss_mib for run in runs),
        requests=round(statistics.median(run.requests for run in runs)),
        records=round(statistics.median(run.records for run in runs)),
        startup_seconds=statistics.median(run.startup_seconds for run in runs),
    )


def run_throughput(tickets: int, page_size: int, repeat: int) -> ThroughputResult:
    """Measure the tap and the plain loop, then the tap on a tenth of the tickets."""
    with tempfile.TemporaryDirectory(prefix="zendesk-bench-") as folder:
        workdir = Path(folder)
        bench = BenchServer(tickets, page_size, workdir)
        tap, plain, first_record = compare_programs(bench, repeat)
        average_bytes = bench.average_ticket_bytes()
        del bench

        small_tickets = max(tickets // 10, 1)
        small = BenchServer(small_tickets, page_size, workdir)
        small_tap = median_run(run_tap(small, repeat))
    return ThroughputResult(
        tickets=tickets,
        page_size=page_size,
        average_ticket_bytes=average_bytes,
        tap=tap,
        plain=plain,
        first_record_seconds=first_record,
        small_tickets=small_tickets,
        small_tap=small_tap,
    )


def compare_programs(
    bench: BenchServer, repeat: int
) -> tuple[ProgramRun, ProgramRun, float]:
    """Run the tap and the plain loop in turns, then time the tap's first RECORD.

    Returns:
        The median runs of the tap and of the plain loop, and the median seconds
        to the tap's first RECORD.
    """
    tap_runs, plain_runs = [], []
    with bench:
        for _ in range(repeat):
            tap_runs.append(measure(bench, tap_command(bench), TAP_RECORDS))
            plain_runs.append(measure(bench, plain_command(bench), PLAIN_RECORDS))
        first_records = [measure_first_record(bench) for _ in range(repeat)]
    return (
        median_run(tap_runs),
        median_run(plain_runs),
        statistics.median(first_records),
    )


def run_tap(bench: BenchServer, repeat: int) -> list[ProgramRun]:
    """Run the tap ``repeat`` times."""
    with bench:
        return [measure(bench, tap_command(bench), TAP_RECORDS) for _ in range(repeat)]


def minimum_requests_formula(tickets: int, page_size: int) -> int:
    """Return ceil(tickets / page_size) + 1: every full page plus the final one."""
    return math.ceil(tickets / page_size) + 1
