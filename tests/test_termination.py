"""Stopping the tap's process: signals and a closed output pipe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from fake_zendesk import Account, FakeZendesk, RealClock
from tests.helpers import API_TOKEN, EMAIL, run_in_process


@pytest.fixture
def real_server():
    clock = RealClock()
    account = Account.generate(count=200, seed=5, now=clock.time())
    fake = FakeZendesk(account, clock=clock, email=EMAIL, api_token=API_TOKEN)
    fake.start()
    yield fake, account
    fake.stop()


def start_tap(config: dict, folder: str) -> subprocess.Popen:
    path = Path(folder, "config.json")
    path.write_text(json.dumps(config))
    return subprocess.Popen(
        [sys.executable, "-m", "tap_zendesk_incremental", "--config", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TAP_ZENDESK_INCREMENTAL_LOGLEVEL": "INFO"},
    )


def tap_config(server: FakeZendesk, **changes: object) -> dict:
    return {
        "api_url": server.url,
        "email": EMAIL,
        "api_token": API_TOKEN,
        "support_type_scope": "all",
        "page_size": 20,
        **changes,
    }


def test_sigterm_during_rate_limit_wait(real_server):
    """SIGTERM while the tap waits for the rate limit stops it at once, cleanly."""
    server, account = real_server
    config = tap_config(server, max_requests_per_minute=2)
    with tempfile.TemporaryDirectory() as folder:
        process = start_tap(config, folder)
        lines = []
        states = 0
        for raw in process.stdout:
            lines.append(raw)
            if json.loads(raw)["type"] == "STATE":
                states += 1
            if states == 2:
                break
        time.sleep(0.5)
        sent_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        rest, stderr = process.communicate(timeout=30)
        elapsed = time.monotonic() - sent_at

    lines += rest.splitlines(keepends=True)
    messages = [json.loads(line) for line in lines]
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    assert process.returncode == 128 + signal.SIGTERM
    assert elapsed < 10
    assert "Stopped by SIGTERM" in stderr.decode()
    assert "Traceback" not in stderr.decode()

    rerun = run_in_process(config | {"max_requests_per_minute": 1000}, states[-1])
    delivered = {
        (m["record"]["id"], m["record"]["generated_timestamp"])
        for m in messages
        if m["type"] == "RECORD"
    }
    delivered |= set(rerun.versions())
    assert delivered == set(account.versions())


def test_closed_output_pipe(real_server):
    server, _ = real_server
    config = tap_config(server, max_requests_per_minute=1000, page_size=5)
    with tempfile.TemporaryDirectory() as folder:
        process = start_tap(config, folder)
        process.stdout.readline()
        process.stdout.close()
        stderr = process.stderr.read().decode()
        process.wait(timeout=30)

    assert process.returncode == 1
    assert "closed the pipe" in stderr
    assert "Traceback" not in stderr
