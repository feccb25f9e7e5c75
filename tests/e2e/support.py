"""Drivers for the end-to-end tests: the fake server, the Meltano CLI and the databases.

Every process runs on this machine and every server listens on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from fake_zendesk import Account, FakeZendesk

if TYPE_CHECKING:
    from collections.abc import Callable

REPO = Path(__file__).resolve().parents[2]
EMAIL = "agent@example.com"
API_TOKEN = "demo-token"
LISTENING = re.compile(r"fake Zendesk listening on (http://127\.0\.0\.1:\d+)")
SERVER_START_SECONDS = 30
RUN_TIMEOUT_SECONDS = 300


def find_meltano() -> Path | None:
    """Return the `meltano` executable beside this Python, or the one on PATH."""
    beside = Path(sys.executable).with_name("meltano")
    if beside.exists():
        return beside
    found = shutil.which("meltano")
    return Path(found) if found else None


def loader_python(loader: str) -> Path:
    """Return the Python interpreter of a loader that `meltano install` set up."""
    return REPO / ".meltano" / "loaders" / loader / "venv" / "bin" / "python"


class AdminClient:
    """The fake server's `/_fake/` admin endpoints, reached at `self.url`."""

    url: str

    def _call(self, method: str, path: str) -> dict:
        request = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def update(self, count: int) -> list[int]:
        """Change `count` tickets and return their ids."""
        return self._call("POST", f"/_fake/update?count={count}")["ticket_ids"]

    def create(self, count: int) -> list[int]:
        """Create `count` tickets and return their ids."""
        return self._call("POST", f"/_fake/create?count={count}")["ticket_ids"]

    def delete(self, count: int) -> list[int]:
        """Delete `count` tickets and return their ids."""
        return self._call("POST", f"/_fake/delete?count={count}")["ticket_ids"]

    def tickets(self) -> dict[int, dict]:
        """Return the current version of every ticket, deleted ones too, by id."""
        body = self._call("GET", "/_fake/tickets")
        return {ticket["id"]: ticket for ticket in body["tickets"]}


class FakeServer(AdminClient):
    """A `python -m fake_zendesk` process on a free port of 127.0.0.1."""

    def __init__(self, tickets: int, seed: int, log_path: Path) -> None:
        """Start the server with `tickets` generated tickets and wait for its URL.

        Raises:
            RuntimeError: If the server exits or prints no URL within 30 seconds.
        """
        command = [
            sys.executable,
            "-m",
            "fake_zendesk",
            "--port",
            "0",
            "--tickets",
            str(tickets),
            "--seed",
            str(seed),
            "--email",
            EMAIL,
            "--api-token",
            API_TOKEN,
        ]
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self.url = self._read_url()

    def _read_url(self) -> str:
        deadline = time.monotonic() + SERVER_START_SECONDS
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            match = LISTENING.search(line)
            if match:
                return match.group(1)
        self.stop()
        message = (
            "fake Zendesk printed no 'listening on' line; its log is in "
            f"{self._log.name}"
        )
        raise RuntimeError(message)

    def stop(self) -> None:
        """Stop the server with SIGTERM, then SIGKILL after 10 seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


class PausingServer(AdminClient):
    """A fake server in this process that can hold export requests.

    A run against it stops in the middle of the export for as long as the test
    needs, which makes killing a run mid-export repeatable.
    """

    def __init__(self, tickets: int, seed: int) -> None:
        """Start serving `tickets` generated tickets without holding requests."""
        self._lock = threading.Lock()
        self._requests = 0
        self._limit: int | None = None
        self._resumed = threading.Event()
        self._server = FakeZendesk(
            Account.generate(count=tickets, seed=seed),
            email=EMAIL,
            api_token=API_TOKEN,
        )
        self._server.on_request(self._hold)
        self.url = self._server.start()

    def _hold(self, _server: FakeZendesk, _number: int) -> None:
        with self._lock:
            self._requests += 1
            must_wait = self._limit is not None and self._requests > self._limit
        if must_wait:
            self._resumed.wait(timeout=120)

    def pause_after(self, requests: int) -> None:
        """Serve `requests` more export requests, then hold the rest until resumed.

        Held requests wait for :meth:`resume`, or for at most 120 seconds.
        """
        with self._lock:
            self._limit = self._requests + requests
        self._resumed.clear()

    def resume(self) -> None:
        """Serve held and later export requests without waiting."""
        with self._lock:
            self._limit = None
        self._resumed.set()

    def stop(self) -> None:
        """Release held requests and stop serving."""
        self.resume()
        self._server.stop()


@dataclass
class RunResult:
    """The outcome of one `meltano` command."""

    args: list[str]
    returncode: int
    stdout: str
    events: list[dict] = field(default_factory=list)

    def records_read(self, extractor: str = "tap-zendesk-incremental") -> int:
        """Sum the `record_count` metrics that the extractor logged for tickets."""
        total = 0
        for event in self.events:
            metric = event.get("metric_info")
            # `meltano run` names the plugin in `string_id`, `meltano elt` in `name`.
            source = event.get("string_id") or event.get("name")
            if source != extractor or not isinstance(metric, dict):
                continue
            if metric.get("metric") != "record_count":
                continue
            if metric.get("tags", {}).get("stream") == "tickets":
                total += int(metric["value"])
        return total

    def log_tail(self, lines: int = 40) -> str:
        """Return the last log events as text, for assertion messages."""
        texts = []
        for event in self.events[-lines:]:
            source = event.get("string_id") or "meltano"
            texts.append(f"[{source}] {event.get('level')}: {event.get('event')}")
        return "\n".join(texts)


def parse_events(text: str) -> list[dict]:
    """Decode Meltano's JSON log lines and keep other lines as plain events."""
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            event = {"event": line}
        if not isinstance(event, dict):
            event = {"event": line}
        events.append(event)
    return events


def copy_project(target: Path) -> Path:
    """Copy the repository's Meltano project to `target` and return `target`.

    The copy has the repository's meltano.yml and links to the plugins installed
    in the repository's `.meltano/`. Meltano rewrites `.meltano/run/` on every
    command, so a project of its own keeps a test apart from any other Meltano
    command running in the repository.
    """
    meltano_dir = target / ".meltano"
    meltano_dir.mkdir(parents=True)
    shutil.copy(REPO / "meltano.yml", target / "meltano.yml")
    for plugin_type in ("extractors", "loaders"):
        (meltano_dir / plugin_type).symlink_to(REPO / ".meltano" / plugin_type)
    return target


class Meltano:
    """The `meltano` CLI in a copy of the project, with one test's environment."""

    def __init__(self, executable: Path, project: Path, env: dict[str, str]) -> None:
        """Keep the executable, the project folder and the environment."""
        self.executable = executable
        self.project = project
        self.env = env

    def command(self, *args: str) -> list[str]:
        """Return the full command line for `meltano ARGS` with JSON logs."""
        return [str(self.executable), "--log-format=json", *args]

    def run(self, *args: str, check: bool = True) -> RunResult:
        """Run `meltano ARGS` to completion.

        Raises:
            AssertionError: If `check` and the command fails.
        """
        command = self.command(*args)
        completed = subprocess.run(
            command,
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
            check=False,
        )
        result = RunResult(
            args=list(args),
            returncode=completed.returncode,
            stdout=completed.stdout,
            events=parse_events(completed.stderr),
        )
        if check and completed.returncode != 0:
            message = (
                f"meltano {' '.join(args)} exited with {completed.returncode}:\n"
                f"{result.log_tail()}"
            )
            raise AssertionError(message)
        return result

    def run_and_kill(
        self, *args: str, when: Callable[[list[str]], bool], timeout: float = 120
    ) -> RunResult:
        """Start `meltano ARGS` and SIGKILL its process group once `when` is true.

        `when` gets the log lines so far and is checked every 0.2 seconds.

        Raises:
            AssertionError: If the run ends, or `timeout` seconds pass, first.
        """
        process = subprocess.Popen(
            self.command(*args),
            cwd=self.project,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        # The reader thread appends each log line as it arrives.
        lines: list[str] = []
        reader = threading.Thread(target=lines.extend, args=(process.stderr,))
        reader.start()
        deadline = time.monotonic() + timeout
        killed = False
        while process.poll() is None and time.monotonic() < deadline:
            if when(list(lines)):
                os.killpg(process.pid, signal.SIGKILL)
                killed = True
                break
            time.sleep(0.2)
        if not killed and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        returncode = process.wait(timeout=60)
        reader.join(timeout=60)
        result = RunResult(list(args), returncode, "", parse_events("".join(lines)))
        if not killed:
            message = (
                f"meltano {' '.join(args)} ended, or ran {timeout} s, before the "
                f"kill condition held:\n{result.log_tail()}"
            )
            raise AssertionError(message)
        return result

    def state(self, state_id: str) -> dict:
        """Return the stored state of `state_id` (`meltano state get`)."""
        result = self.run("state", "get", state_id)
        return json.loads(result.stdout)


STATE_STORED = "Incremental state has been updated"


def state_stored(lines: list[str]) -> bool:
    """Tell whether Meltano has logged that it stored a STATE from the loader.

    The loader sends STATE only after it has written the rows before it.
    """
    return any(STATE_STORED in line for line in lines)


def bookmark(state: dict) -> int | None:
    """Return the tickets stream's `generated_timestamp` bookmark in a state."""
    tickets = state.get("singer_state", {}).get("bookmarks", {}).get("tickets", {})
    return tickets.get("replication_key_value")


class Postgres:
    """The PostgreSQL database named by the standard PG* environment variables."""

    def __init__(self, env: dict[str, str]) -> None:
        """Keep the connection environment for psql."""
        self.env = env

    @classmethod
    def from_environment(cls) -> tuple[Postgres | None, str]:
        """Return a connected database, or None and the reason it is unusable."""
        names = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")
        missing = [name for name in names if not os.environ.get(name)]
        if missing:
            return None, f"{', '.join(missing)} not set (see scripts/postgres.sh)"
        if shutil.which("psql") is None:
            return None, "psql not found (install Debian's postgresql-client)"
        database = cls(dict(os.environ))
        try:
            database.query("SELECT 1")
        except RuntimeError as error:
            return None, f"PostgreSQL is not reachable: {error}"
        return database, ""

    def query(self, sql: str) -> list[str]:
        """Run one statement with psql and return its output rows as text.

        Raises:
            RuntimeError: If psql fails.
        """
        completed = subprocess.run(
            ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if completed.returncode != 0:
            message = f"psql failed on {sql!r}: {completed.stderr.strip()}"
            raise RuntimeError(message)
        return [line for line in completed.stdout.splitlines() if line]

    def drop_schema(self, schema: str) -> None:
        """Drop `schema` and everything in it, if it exists."""
        self.query(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def rows(self, schema: str, table: str = "tickets") -> list[dict]:
        """Return every row of a table as a dict, with PostgreSQL's JSON encoding."""
        rows = self.query(f'SELECT row_to_json(t) FROM "{schema}"."{table}" t')
        return [json.loads(row) for row in rows]

    def column_types(self, schema: str, table: str = "tickets") -> dict[str, str]:
        """Return each column's type name, such as `int8`, `jsonb` or `_text`."""
        rows = self.query(
            "SELECT column_name || '=' || udt_name FROM information_schema.columns "
            f"WHERE table_schema = '{schema}' AND table_name = '{table}'"
        )
        return dict(row.split("=", 1) for row in rows)


DUCKDB_DUMP = """
import json, sys
import duckdb

path, schema = sys.argv[1], sys.argv[2]
connection = duckdb.connect(path, read_only=True)
types = dict(connection.execute(
    "SELECT column_name, data_type FROM information_schema.columns "
    "WHERE table_schema = ? AND table_name = 'tickets'", [schema]
).fetchall())
cursor = connection.execute(f'SELECT * FROM "{schema}".tickets')
names = [column[0] for column in cursor.description]
rows = [dict(zip(names, row)) for row in cursor.fetchall()]
print(json.dumps({"types": types, "rows": rows}, default=str))
"""


def read_duckdb(path: Path, schema: str) -> tuple[dict[str, str], list[dict]]:
    """Return the column types and rows of `<schema>.tickets` in a DuckDB file.

    The query runs in target-duckdb's own interpreter so that the reader and the
    writer use one duckdb version.
    """
    completed = subprocess.run(
        [str(loader_python("target-duckdb")), "-c", DUCKDB_DUMP, str(path), schema],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if completed.returncode != 0:
        message = f"reading {path} failed:\n{completed.stderr[-2000:]}"
        raise RuntimeError(message)
    body = json.loads(completed.stdout)
    return body["types"], body["rows"]


def to_utc(value: str | None) -> datetime | None:
    """Parse an ISO 8601 timestamp, taking one without an offset as UTC."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


#: Ticket fields with `format: date-time`; loaders store them as timestamps.
TIMESTAMP_FIELDS = frozenset({"created_at", "updated_at", "updated_stamp", "due_at"})


def normalize(name: str, value: object) -> object:
    """Turn a timestamp, read from a table or from the fake server, into a datetime."""
    if name in TIMESTAMP_FIELDS and isinstance(value, str):
        return to_utc(value)
    return value


def row_differences(
    row: dict, ticket: dict, json_columns: frozenset[str] = frozenset()
) -> list[str]:
    """List each field where a table row differs from the ticket it was loaded from.

    A column that the ticket lacks must be NULL, and a ticket field without a
    column is a difference too. Loader metadata columns (`_sdc_*`) are ignored.
    Text in `json_columns` is decoded as JSON unless the ticket has a string there.
    """
    differences = []
    for name in sorted(set(row) | set(ticket)):
        if name.startswith("_sdc_"):
            continue
        if name not in row:
            differences.append(f"{name}: no such column")
            continue
        expected = normalize(name, ticket.get(name))
        actual = normalize(name, row[name])
        is_json_text = name in json_columns and isinstance(actual, str)
        if is_json_text and not isinstance(expected, str):
            actual = json.loads(actual)
        if actual != expected:
            differences.append(f"{name}: expected {expected!r}, got {actual!r}")
    return differences


def table_differences(
    rows: list[dict],
    tickets: dict[int, dict],
    json_columns: frozenset[str] = frozenset(),
) -> list[str]:
    """Compare a whole table with the fake account, field by field.

    Returns:
        One line per missing, extra or duplicate id and per differing field.
    """
    differences = []
    by_id: dict[int, dict] = {}
    for row in rows:
        ticket_id = int(row["id"])
        if ticket_id in by_id:
            differences.append(f"ticket {ticket_id}: more than one row")
        by_id[ticket_id] = row
    differences.extend(
        f"ticket {ticket_id}: no row" for ticket_id in sorted(set(tickets) - set(by_id))
    )
    differences.extend(
        f"ticket {ticket_id}: row for an unknown ticket"
        for ticket_id in sorted(set(by_id) - set(tickets))
    )
    for ticket_id in sorted(set(tickets) & set(by_id)):
        row_diffs = row_differences(by_id[ticket_id], tickets[ticket_id], json_columns)
        differences.extend(f"ticket {ticket_id}: {diff}" for diff in row_diffs)
    return differences


def flatten(ticket: dict, separator: str = "__") -> dict:
    """Flatten a ticket one level deep, as the SDK does with `flattening_max_depth: 1`.

    Nested objects become `parent__child` keys. Their own nested objects and lists
    stay whole. Null fields are left out, because a null object has no columns of
    its own, and a missing field is expected to be NULL wherever it has a column.
    """
    flat = {}
    for name, value in ticket.items():
        if value is None:
            continue
        if isinstance(value, dict) and value:
            for child, child_value in value.items():
                flat[f"{name}{separator}{child}"] = child_value
        else:
            flat[name] = value
    return flat
