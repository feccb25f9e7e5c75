"""The benchmark command runs end to end at a small size and prints its table.

These tests check that the benchmark completes and reports, not how fast the tap is.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def run_benchmark(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUN), "--tickets", "2000", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def throughput() -> subprocess.CompletedProcess[str]:
    return run_benchmark("--repeat", "1")


def test_throughput_mode_prints_table(throughput):
    assert throughput.returncode == 0, throughput.stderr
    lines = throughput.stdout.splitlines()
    assert lines[0].startswith("Machine: ")
    assert any(line.startswith("tap ") for line in lines)
    assert any(line.startswith("plain json loop ") for line in lines)
    assert any(line.startswith("tap / plain loop ") for line in lines)
    assert any(line.startswith("Requests: tap ") for line in lines)
    assert any(line.startswith("Peak RSS of the tap: ") for line in lines)
    assert any(line.startswith("First RECORD ") for line in lines)


def test_throughput_mode_exports_every_ticket(throughput):
    rows = {
        line[:18].strip(): line[18:].split() for line in throughput.stdout.splitlines()
    }
    assert rows["tap"][-2] == "2000"
    assert rows["tap"][-3] == rows["plain json loop"][-3]


def test_ratelimit_mode_prints_figures():
    completed = run_benchmark("--mode", "ratelimit", "--page-size", "100")

    assert completed.returncode == 0, completed.stderr
    figures = {}
    for line in completed.stdout.splitlines()[3:]:
        name, _, value = line.rpartition(" ")
        figures[name.strip()] = value
    assert figures["export requests"] == "21"
    assert figures["records"] == "2000"
    assert figures["HTTP 429 responses"] == "0"
    assert "lower bound s" in figures
