"""Profile one export by the tap with cProfile, in-process, against the fake server.

Usage::

    .venv/bin/python benchmarks/profile_tap.py [--tickets 20000] [--sort tottime]

The fake server runs in a thread of this process, which cProfile does not profile,
so the listing shows the tap's own functions. Profiling slows Python calls down, so
compare the shares of functions here and take timings from ``run.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import sys
from pathlib import Path

from fake_zendesk import Account, FakeZendesk
from tap_zendesk_incremental.tap import TapZendeskIncremental

EMAIL = "bench@example.com"
API_TOKEN = "bench-token-3f8a"  # noqa: S105


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tickets", type=int, default=20_000, help="Tickets (default 20000)."
    )
    parser.add_argument(
        "--sort",
        default="tottime",
        help="pstats sort key, such as tottime or cumulative (default tottime).",
    )
    parser.add_argument(
        "--lines", type=int, default=40, help="Functions to list (default 40)."
    )
    return parser.parse_args(argv)


def profile_export(tickets: int) -> cProfile.Profile:
    """Run one export of ``tickets`` tickets under cProfile, stdout to /dev/null."""
    account = Account.generate(count=tickets, seed=7)
    with FakeZendesk(account, email=EMAIL, api_token=API_TOKEN) as server:
        config = {
            "api_url": server.url,
            "email": EMAIL,
            "api_token": API_TOKEN,
            "start_date": "2000-01-01T00:00:00Z",
            "support_type_scope": "all",
            "max_requests_per_minute": 2500,
        }
        tap = TapZendeskIncremental(config=config, validate_config=True)
        profiler = cProfile.Profile()
        with (
            Path(os.devnull).open("wb") as devnull,
            contextlib.redirect_stdout(io.TextIOWrapper(devnull)),
        ):
            profiler.runcall(tap.sync_all)
    return profiler


def main(argv: list[str] | None = None) -> int:
    """Profile one export and print the busiest functions."""
    args = parse_args(argv)
    profiler = profile_export(args.tickets)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats(args.sort).print_stats(args.lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
