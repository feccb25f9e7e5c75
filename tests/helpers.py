"""Running the tap in-process and over the CLI, and reading its Singer messages."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tap_zendesk_incremental.tap import TapZendeskIncremental

EMAIL = "agent@example.com"
API_TOKEN = "tok-4f9a1c2e8b7d"


@dataclass
class Run:
    """Messages of one tap run, in order."""

    messages: list[dict] = field(default_factory=list)
    exit_code: int = 0
    stderr: str = ""

    def records(self, stream: str = "tickets") -> list[dict]:
        return [
            m["record"]
            for m in self.messages
            if m["type"] == "RECORD" and m["stream"] == stream
        ]

    @property
    def states(self) -> list[dict]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def last_state(self) -> dict | None:
        return self.states[-1] if self.states else None

    def bookmarks(self, stream: str = "tickets") -> list[int | None]:
        return [
            s.get("bookmarks", {}).get(stream, {}).get("replication_key_value")
            for s in self.states
        ]

    def versions(self, stream: str = "tickets") -> list[tuple[int, int]]:
        return [(r["id"], r["generated_timestamp"]) for r in self.records(stream)]


def parse_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run_in_process(
    config: dict, state: dict | None = None, catalog: dict | None = None
) -> Run:
    """Run a sync in this process and collect its stdout messages."""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    tap = TapZendeskIncremental(
        config=config, state=state, catalog=catalog, validate_config=True
    )
    with contextlib.redirect_stdout(stream):
        tap.sync_all()
    stream.flush()
    return Run(messages=parse_lines(raw.getvalue().decode("utf-8")))


def run_cli(
    config: dict,
    state: dict | None = None,
    *,
    extra_args: tuple[str, ...] = (),
    env: dict | None = None,
    timeout: float = 120,
    catalog: dict | None = None,
) -> Run:
    """Run the tap's command line in a subprocess."""
    with tempfile.TemporaryDirectory() as folder:
        config_path = Path(folder, "config.json")
        config_path.write_text(json.dumps(config))
        args = [
            sys.executable,
            "-m",
            "tap_zendesk_incremental",
            "--config",
            str(config_path),
        ]
        if state is not None:
            state_path = Path(folder, "state.json")
            state_path.write_text(json.dumps(state))
            args += ["--state", str(state_path)]
        if catalog is not None:
            catalog_path = Path(folder, "catalog.json")
            catalog_path.write_text(json.dumps(catalog))
            args += ["--catalog", str(catalog_path)]
        args += list(extra_args)
        completed = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
            check=False,
        )
    return Run(
        messages=parse_lines(completed.stdout),
        exit_code=completed.returncode,
        stderr=completed.stderr,
    )


def catalog_selecting(config: dict, *streams: str) -> dict:
    """Return the discovered catalog with only ``streams`` selected."""
    tap = TapZendeskIncremental(config=config, validate_config=False)
    catalog = tap.catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


def state_with_bookmark(value: object, stream: str = "tickets") -> dict:
    return {
        "bookmarks": {
            stream: {
                "replication_key": "generated_timestamp",
                "replication_key_value": value,
            }
        }
    }
