"""Command line: serve a generated account until SIGTERM or SIGINT.

Example:
    python -m fake_zendesk --port 8765 --tickets 1000 --seed 7 \
        --email agent@example.com --api-token demo-token
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import TYPE_CHECKING

from fake_zendesk.account import Account
from fake_zendesk.server import FakeZendesk

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="fake-zendesk",
        description="Serve a generated Zendesk account on 127.0.0.1 for tests.",
    )
    _add_data_options(parser)
    _add_auth_options(parser)
    _add_behavior_options(parser)
    return parser.parse_args(argv)


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=int, default=0, help="TCP port; 0 (default) picks a free one."
    )
    parser.add_argument(
        "--tickets", type=int, default=1000, help="Number of tickets (default 1000)."
    )
    parser.add_argument(
        "--seed", type=int, default=7, help="Seed of the generated data (default 7)."
    )
    parser.add_argument(
        "--span-days",
        type=int,
        default=365,
        help="Days of ticket history before now (default 365).",
    )


def _add_auth_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--email",
        default="agent@example.com",
        help="Agent email for API token authentication (default agent@example.com).",
    )
    parser.add_argument(
        "--api-token",
        help="API token accepted as Basic '{email}/token:{api token}'.",
    )
    parser.add_argument(
        "--access-token",
        action="append",
        default=[],
        help="Static OAuth access token to accept; repeat for several.",
    )
    parser.add_argument(
        "--oauth-client",
        action="append",
        default=[],
        metavar="ID:SECRET",
        help="OAuth client allowed to call /oauth/tokens; repeat for several.",
    )


def _add_behavior_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rate-limit",
        type=int,
        help="Export requests allowed per minute (Zendesk allows 10; default: none).",
    )
    parser.add_argument(
        "--same-second",
        choices=("grow", "stall"),
        default="grow",
        help=(
            "What a page does when more tickets share its last second than fit: "
            "grow to include them (default) or stall, repeating the page forever."
        ),
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="Level of the server log on stderr (default WARNING).",
    )


def parse_clients(values: list[str]) -> dict[str, str]:
    """Turn `ID:SECRET` arguments into a client id to secret mapping.

    Raises:
        SystemExit: If a value has no colon.
    """
    clients = {}
    for value in values:
        client_id, separator, secret = value.partition(":")
        if not separator or not client_id:
            message = "invalid --oauth-client value: use the form ID:SECRET"
            raise SystemExit(message)
        clients[client_id] = secret
    return clients


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT and return the exit status 0."""
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    account = Account.generate(
        count=args.tickets, seed=args.seed, span_days=args.span_days
    )
    server = FakeZendesk(
        account,
        email=args.email,
        api_token=args.api_token,
        access_tokens=args.access_token,
        oauth_clients=parse_clients(args.oauth_client),
        rate_limit_per_minute=args.rate_limit,
        same_second=args.same_second,
        port=args.port,
    )
    stopped = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    url = server.start()
    sys.stdout.write(f"fake Zendesk listening on {url}\n")
    sys.stdout.flush()
    while not stopped.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
