"""The baseline: a plain loop over the export with the standard ``json`` module.

Usage: ``python benchmarks/plain_loop.py CONFIG.json``, with the tap's settings
``api_url``, ``email``, ``api_token``, ``page_size`` and ``support_type_scope``.

It requests each page with ``requests``, decodes it with ``json.loads``, writes
each ticket as a Singer RECORD line made by ``json.dumps`` to stdout, and follows
``next_page`` until ``end_of_stream``. It keeps the tickets Zendesk repeats at page
boundaries and does no schema, state or retry work. At the end it writes one line
``records=N requests=M`` to stderr.
"""

from __future__ import annotations

import datetime
import json
import sys
import typing as t
from pathlib import Path

import requests

EXPORT_PATH = "/api/v2/incremental/tickets.json"


def export(config: dict, out: t.TextIO) -> tuple[int, int]:
    """Write every ticket of the export to ``out`` and count records and requests."""
    session = requests.Session()
    session.auth = (f"{config['email']}/token", config["api_token"])
    url = config["api_url"].rstrip("/") + EXPORT_PATH
    params: dict | None = {
        "start_time": 0,
        "per_page": config.get("page_size", 1000),
        "support_type_scope": config.get("support_type_scope", "agent"),
    }
    records = requests_made = 0
    while True:
        response = session.get(url, params=params, timeout=60)
        response.raise_for_status()
        requests_made += 1
        extracted = datetime.datetime.now(datetime.UTC).isoformat()
        page = json.loads(response.content)
        for ticket in page["tickets"]:
            message = {
                "type": "RECORD",
                "stream": "tickets",
                "record": ticket,
                "time_extracted": extracted,
            }
            out.write(json.dumps(message) + "\n")
        records += len(page["tickets"])
        if page["end_of_stream"] or not page.get("next_page"):
            return records, requests_made
        url, params = page["next_page"], None


def main(argv: list[str]) -> int:
    """Run the export with the settings in the file ``argv[0]``."""
    config = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    records, requests_made = export(config, sys.stdout)
    sys.stdout.flush()
    sys.stderr.write(f"records={records} requests={requests_made}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
