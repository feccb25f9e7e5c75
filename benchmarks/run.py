"""Benchmark the tap against the fake Zendesk server on 127.0.0.1.

Usage::

    .venv/bin/python benchmarks/run.py [--tickets 100000] [--mode throughput]
    .venv/bin/python benchmarks/run.py --mode ratelimit

``throughput`` runs the tap and a plain ``json`` loop as subprocesses with stdout
to /dev/null and prints their speed, CPU time, peak memory and requests side by
side. ``ratelimit`` runs the tap in-process under a 10 requests per minute limit on
a virtual clock and prints its wall time against the lower bound for the requests
it made. docs/benchmarks.md explains each figure.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

from benchmarks.ratelimit import RateLimitResult, run_ratelimit
from benchmarks.throughput import (
    ProgramRun,
    ThroughputResult,
    minimum_requests_formula,
    run_throughput,
)

PER_TICKETS = 10_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tickets",
        type=int,
        default=100_000,
        help="Tickets in the generated account (default 100000).",
    )
    parser.add_argument(
        "--mode",
        choices=("throughput", "ratelimit"),
        default="throughput",
        help="What to measure (default throughput).",
    )
    parser.add_argument(
        "--page-size",
        type=int,
        default=1000,
        help="Tickets per export page, from 1 to 1000 (default 1000).",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="Runs of each program in throughput mode; medians are shown (default 3).",
    )
    return parser.parse_args(argv)


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, or the platform's name."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return platform.processor() or "unknown CPU"
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    """Describe the machine and interpreter of this run."""
    return (
        f"Machine: {os.cpu_count()} cores, {cpu_model()}; "
        f"Python {platform.python_version()} on {platform.system()}"
    )


def program_row(name: str, run: ProgramRun) -> str:
    """Format one program's figures as a table row."""
    rate = run.records / run.wall_seconds
    cpu = run.cpu_seconds / run.records * PER_TICKETS
    return (
        f"{name:<18}{run.wall_seconds:>8.2f}{rate:>12,.0f}{cpu:>12.3f}"
        f"{run.max_rss_mib:>10.1f}{run.requests:>10}{run.records:>10}"
        f"{run.startup_seconds:>10.2f}"
    )


def ratio_row(tap: ProgramRun, plain: ProgramRun) -> str:
    """Format the tap's figures divided by the plain loop's."""
    tap_rate = tap.records / tap.wall_seconds
    plain_rate = plain.records / plain.wall_seconds
    tap_cpu = tap.cpu_seconds / tap.records
    plain_cpu = plain.cpu_seconds / plain.records
    return (
        f"{'tap / plain loop':<18}{tap.wall_seconds / plain.wall_seconds:>8.2f}"
        f"{tap_rate / plain_rate:>12.2f}{tap_cpu / plain_cpu:>12.2f}"
        f"{tap.max_rss_mib / plain.max_rss_mib:>10.2f}"
        f"{tap.requests / plain.requests:>10.2f}"
    )


def throughput_lines(result: ThroughputResult, repeat: int) -> list[str]:
    """Format the throughput table and the figures below it."""
    tap, plain = result.tap, result.plain
    formula = minimum_requests_formula(result.tickets, result.page_size)
    small = result.small_tap.max_rss_mib
    growth = (tap.max_rss_mib / small - 1) * 100
    first_record_ms = result.first_record_seconds * 1000
    return [
        machine_line(),
        (
            f"Account: {result.tickets:,} tickets, {result.average_ticket_bytes:,.0f} "
            f"bytes of JSON per ticket on average; page size {result.page_size}; "
            f"medians of {repeat} runs"
        ),
        "",
        (
            f"{'program':<18}{'wall s':>8}{'tickets/s':>12}{'CPU s/10k':>12}"
            f"{'RSS MiB':>10}{'requests':>10}{'records':>10}{'startup s':>10}"
        ),
        program_row("tap", tap),
        program_row("plain json loop", plain),
        ratio_row(tap, plain),
        "",
        (
            f"Requests: tap {tap.requests}; pages in the export's next_page chain "
            f"{plain.requests} (the plain loop's count); ceil(N / page size) + 1 = "
            f"{formula}"
        ),
        (
            f"Peak RSS of the tap: {small:.1f} MiB at {result.small_tickets:,} "
            f"tickets, {tap.max_rss_mib:.1f} MiB at {result.tickets:,} tickets "
            f"({growth:+.1f}%)"
        ),
        (
            f"First RECORD on the tap's stdout {first_record_ms:.0f} ms after its "
            "first export request reached the server"
        ),
    ]


def ratelimit_lines(result: RateLimitResult) -> list[str]:
    """Format the figures of the rate-limited export."""
    over = 0.0
    if result.bound_seconds:
        over = (result.virtual_seconds / result.bound_seconds - 1) * 100
    formula = minimum_requests_formula(result.tickets, result.page_size)
    rows = [
        ("export requests", f"{result.requests}"),
        ("ceil(N / page size) + 1", f"{formula}"),
        ("HTTP 429 responses", f"{result.too_many_requests}"),
        ("records", f"{result.records}"),
        ("virtual s, first to last request", f"{result.virtual_seconds:.2f}"),
        ("virtual s, whole run", f"{result.run_virtual_seconds:.2f}"),
        ("lower bound s", f"{result.bound_seconds:.2f}"),
        ("over the bound", f"{over:.2f}%"),
        ("real s", f"{result.real_seconds:.2f}"),
    ]
    return [
        machine_line(),
        (
            f"Account: {result.tickets:,} tickets; page size {result.page_size}; "
            "limit 10 export requests per rolling 60 s; virtual clock"
        ),
        "",
        *(f"{name:<34}{value:>12}" for name, value in rows),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmark and print its table."""
    args = parse_args(argv)
    if args.mode == "ratelimit":
        lines = ratelimit_lines(run_ratelimit(args.tickets, args.page_size))
    else:
        result = run_throughput(args.tickets, args.page_size, args.repeat)
        lines = throughput_lines(result, args.repeat)
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
